"""Emails: rendered from templates into the outbox, delivered after the commit.

The outbox row is written in the same transaction as the change it reports, so an
email goes out if and only if the change was committed. Delivery happens after the
request's commit (or from `flask send-outbox`), over SMTP when MAIL_SERVER is set and
to the log otherwise.
"""
from __future__ import annotations

import logging
import smtplib
from contextlib import nullcontext
from email.message import EmailMessage

from flask import (
    Flask,
    current_app,
    g,
    has_app_context,
    has_request_context,
    render_template,
    request,
)
from flask_babel import force_locale
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError

from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.notifications.models import OutboxEmail

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def queue_email(to: str, template: str, subject, *, locale: str | None = None,
                dedupe_key: str | None = None, **context) -> OutboxEmail | None:
    """Render `templates/email/<template>.txt|.html` and store it for delivery.

    With a `dedupe_key`, a second email with the same key is not stored (returns None):
    this is how "emailed once" holds even when the work runs twice.
    """
    if dedupe_key and db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.dedupe_key == dedupe_key)):
        return None
    with _url_building_context(), force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        context.setdefault("site_url", current_app.config["SITE_URL"].rstrip("/"))
        body_text = render_template(f"email/{template}.txt", **context)
        body_html = render_template(f"email/{template}.html", **context)
        subject_text = str(subject)
    email = OutboxEmail(to=to, subject=subject_text, template=template, body_text=body_text,
                        body_html=body_html, dedupe_key=dedupe_key)
    try:
        with db.session.begin_nested():
            db.session.add(email)
    except IntegrityError:
        return None  # the same dedupe key was stored by a concurrent transaction
    return email


#: Marks the temporary request pushed only to render an email: closing it must not deliver
#: (delivery commits, and the caller's transaction is still open).
RENDER_ONLY = "aimak.render_only"


def _url_building_context():
    """Emails are also rendered from CLI commands; url_for needs a request there."""
    if has_request_context():
        return nullcontext()
    return current_app.test_request_context("/", base_url=current_app.config["SITE_URL"],
                                            environ_overrides={RENDER_ONLY: True})


def deliver(email_ids: list[int] | None = None, limit: int = 100) -> int:
    """Send unsent emails (these ids, or the oldest pending); returns how many were sent."""
    query = select(OutboxEmail).where(OutboxEmail.sent_at.is_(None), OutboxEmail.attempts < MAX_ATTEMPTS)
    if email_ids is not None:
        if not email_ids:
            return 0
        query = query.where(OutboxEmail.id.in_(email_ids))
    emails = db.session.scalars(query.order_by(OutboxEmail.id).limit(limit)).all()
    sent = 0
    for email in emails:
        if not _claim(email):
            continue
        try:
            _send(email)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("Email %s to %s failed: %s", email.id, email.to, exc)
            db.session.execute(update(OutboxEmail).where(OutboxEmail.id == email.id)
                               .values(last_error=str(exc)[:500]))
        else:
            db.session.execute(update(OutboxEmail).where(OutboxEmail.id == email.id)
                               .values(sent_at=utcnow(), last_error=""))
            sent += 1
        db.session.commit()
    return sent


def _claim(email: OutboxEmail) -> bool:
    """Count the attempt with a conditional UPDATE so two senders never both send it."""
    result = db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == email.id, OutboxEmail.sent_at.is_(None),
               OutboxEmail.attempts == email.attempts)
        .values(attempts=OutboxEmail.attempts + 1)
    )
    db.session.commit()
    return result.rowcount == 1


def _send(email: OutboxEmail) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        log.info("Email to %s: %s\n%s", email.to, email.subject, email.body_text)
        return
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = email.to
    message["Subject"] = email.subject
    message.set_content(email.body_text)
    message.add_alternative(email.body_html, subtype="html")
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=15) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


def register_delivery(app: Flask) -> None:
    """Deliver the emails a request committed, once its response is ready."""

    @event.listens_for(db.session, "after_flush")
    def _remember_new_emails(session, _flush_context):
        new_ids = [obj.id for obj in session.new if isinstance(obj, OutboxEmail)]
        if new_ids:
            session.info.setdefault("outbox_new", []).extend(new_ids)

    @event.listens_for(db.session, "after_commit")
    def _committed(session):
        if session.in_nested_transaction():
            return  # a savepoint was released; the emails are committed only with the outer transaction
        ids = session.info.pop("outbox_new", [])
        if ids and has_app_context():
            g.setdefault("outbox_committed", []).extend(ids)

    @event.listens_for(db.session, "after_rollback")
    def _rolled_back(session):
        session.info.pop("outbox_new", None)

    @app.teardown_request
    def _deliver_after_request(_exc):
        if not request.environ.get(RENDER_ONLY):
            _deliver_committed()

    @app.teardown_appcontext
    def _deliver_after_command(_exc):
        # Commands (reminders, cancellations) run without a request: deliver what they committed.
        _deliver_committed()


def _deliver_committed() -> None:
    ids = g.pop("outbox_committed", None)
    if ids:
        try:
            deliver(ids)
        except Exception:  # delivery must never break a response; send-outbox retries
            log.exception("Delivering committed emails failed")
            db.session.rollback()
