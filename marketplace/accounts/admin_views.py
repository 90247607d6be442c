"""Admin: users and roles."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts import queries, services
from marketplace.accounts.forms import EmptyForm
from marketplace.accounts.models import Role, User, role_label
from marketplace.accounts.sessions import start_session
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.core.periods import week_starts
from marketplace.web.access import role_required
from marketplace.web.args import page_arg
from marketplace.web.transaction import transaction

bp = Blueprint("admin", __name__, url_prefix="/admin")


#: Weeks shown on the admin's overview.
OVERVIEW_WEEKS = 8


@bp.route("/")
@role_required(Role.ADMIN)
def overview():
    """Orders and sales per week, new users and producers, certificates and reports waiting.

    Accounts is low in the layers: the other features' figures come from their template globals.
    """
    starts = week_starts(OVERVIEW_WEEKS, utcnow())
    return render_template("admin/overview.html", starts=starts, new_users=queries.new_users_per_week(starts))


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
        action = "grant" if request.form.get("action") == "grant" else "revoke"
        if request.form.get("confirmed") != "yes":
            # One tap on a role button never changes it: the confirmation page says what it means.
            return redirect(url_for("admin.confirm_role", user_id=user.id, role=role.value, action=action))
        acting = current_user._get_current_object()
        with transaction() as tx:
            if action == "grant":
                services.grant_role(acting, user, role)
            else:
                services.revoke_role(acting, user, role)
        if tx.ok:
            if user.id == acting.id:
                start_session(user)  # the admin's own privileges changed: a fresh session here
            flash(_("Roles of %(name)s are saved.", name=user.name), "success")
        return redirect(url_for("admin.user_roles", user_id=user.id))
    return render_template("admin/user.html", user=user, form=form, all_roles=list(Role),
                           history=queries.role_history(user.id))


@bp.route("/users/<int:user_id>/roles/<any(customer, producer, organizer, admin):role>/<any(grant, revoke):action>")
@role_required(Role.ADMIN)
def confirm_role(user_id: int, role: str, action: str):
    """Granting or taking away a role is confirmed on its own page (the POST goes to user_roles)."""
    user = db.get_or_404(User, user_id)
    return render_template("admin/confirm_role.html", user=user, role=Role(role), action=action, form=EmptyForm())


@bp.route("/users/<int:user_id>/status", methods=["POST"])
@role_required(Role.ADMIN)
def user_status(user_id: int):
    """Deactivate (every session of the user ends at once) or reactivate an account."""
    user = db.get_or_404(User, user_id)
    action = request.form.get("action")
    if EmptyForm().validate_on_submit() and action in ("deactivate", "reactivate"):
        with transaction() as tx:
            if action == "deactivate":
                services.deactivate_user(current_user, user)
            else:
                services.reactivate_user(current_user, user)
        if tx.ok:
            flash(_("%(name)s is deactivated and logged out everywhere.", name=user.name) if action == "deactivate"
                  else _("%(name)s can log in again.", name=user.name), "success")
    return redirect(url_for("admin.user_roles", user_id=user.id))


@bp.context_processor
def _role_labels():
    return {"role_label": role_label}
