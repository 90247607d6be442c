"""The admin's Emails page: what went out, what is waiting, what failed; the scheduled jobs' last runs.

In development (no MAIL_SERVER) emails go to the log, and this page shows them in full with
their links. With a mail server it shows no bodies: they hold other people's sign-in links.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from marketplace.core.extensions import db
from marketplace.notifications import queries, services
from marketplace.notifications.models import OutboxEmail
from marketplace.tasks import scheduled_runs
from marketplace.web.access import role_required
from marketplace.web.args import page_arg
from marketplace.web.transaction import transaction

bp = Blueprint("notifications", __name__, url_prefix="/admin/emails")


def bodies_shown() -> bool:
    return not current_app.config.get("MAIL_SERVER")


@bp.route("")
@role_required("admin")
def emails():
    status = request.args.get("status", "all")
    if status not in queries.FILTERS:
        status = "all"
    return render_template("notifications/emails.html", page=queries.emails(status, page_arg()), status=status,
                           counts=queries.counts(), runs=scheduled_runs(), bodies_shown=bodies_shown(),
                           form=FlaskForm())


@bp.route("/<int:email_id>")
@role_required("admin")
def email(email_id: int):
    if not bodies_shown():
        abort(404)
    return render_template("notifications/email.html", email=db.get_or_404(OutboxEmail, email_id))


@bp.route("/<int:email_id>/retry", methods=["POST"])
@role_required("admin")
def retry(email_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    with transaction():
        retried = services.retry_failed(email_id)
    if retried:
        flash(_("The email will be sent again."), "success")
    return redirect(url_for("notifications.emails", status="failed"))
