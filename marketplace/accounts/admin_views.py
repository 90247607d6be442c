"""Admin: users and roles."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts import queries, services
from marketplace.accounts.forms import EmptyForm
from marketplace.accounts.models import Role, User, role_label
from marketplace.core.extensions import db
from marketplace.web.access import role_required
from marketplace.web.args import page_arg
from marketplace.web.transaction import transaction

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@role_required(Role.ADMIN)
def users():
    page = queries.search_users(request.args.get("q", ""), page_arg())
    return render_template("admin/users.html", page=page, q=request.args.get("q", ""))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def user_roles(user_id: int):
    user = db.get_or_404(User, user_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            role = Role(request.form.get("role", ""))
        except ValueError:
            abort(400)
        with transaction() as tx:
            if request.form.get("action") == "grant":
                services.grant_role(current_user, user, role)
            else:
                services.revoke_role(current_user, user, role)
        if tx.ok:
            flash(_("Roles of %(name)s are saved.", name=user.name), "success")
        return redirect(url_for("admin.user_roles", user_id=user.id))
    return render_template("admin/user.html", user=user, form=form, all_roles=list(Role))


@bp.context_processor
def _role_labels():
    return {"role_label": role_label}
