"""Emails: rendered from templates into the outbox, delivered after the commit.

The outbox row is written in the same transaction as the change it reports, so an
email goes out if and only if the change was committed. After the commit its id is queued
for the worker (`deliver-emails`); the worker's `send-outbox` job retries what is due every
minute. Delivery goes over SMTP when MAIL_SERVER is set (production refuses to start
without it) and to the log otherwise (development; the admin's Emails page shows them).
"""
from __future__ import annotations

import logging
import smtplib
import time
from contextlib import nullcontext
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import urlsplit

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
from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.exc import IntegrityError

from marketplace.core.db import utcnow
from marketplace.core.events import business_event
from marketplace.core.extensions import db
from marketplace.notifications.models import OutboxEmail, OutboxTelegram

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def queue_email(to: str, template: str, subject, *, locale: str | None = None,
                dedupe_key: str | None = None, unsubscribe_url: str = "", **context) -> OutboxEmail | None:
    """Render `templates/email/<template>.txt|.html` and store it for delivery.

    With a `dedupe_key`, a second email with the same key is not stored (returns None):
    this is how "emailed once" holds even when the work runs twice. With an
    `unsubscribe_url` (a message the person chose to get, see `channels.notify`) both bodies
    end with it and the email carries the one-click List-Unsubscribe headers.
    """
    if dedupe_key and db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.dedupe_key == dedupe_key)):
        return None
    with _url_building_context(), force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        context.setdefault("site_url", current_app.config["SITE_URL"].rstrip("/"))
        body_text = render_template(f"email/{template}.txt", unsubscribe_url=unsubscribe_url, **context)
        body_html = render_template(f"email/{template}.html", unsubscribe_url=unsubscribe_url, **context)
        if unsubscribe_url:
            body_text = body_text.rstrip() + "\n\n" + render_template(
                "email/_unsubscribe.txt", unsubscribe_url=unsubscribe_url, **context)
        # One line: a subject holds what people typed (a market's name, an organizer's message), and
        # a line break in a header is refused by the mail library, or worse, read as another header.
        subject_text = " ".join(str(subject).split())
    email = OutboxEmail(to=to, subject=subject_text, template=template, body_text=body_text,
                        body_html=body_html, dedupe_key=dedupe_key, list_unsubscribe=unsubscribe_url)
    if dedupe_key is None:
        db.session.add(email)  # nothing to collide with: no savepoint (checkout counts its statements)
        return email
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


#: How long a sender holds a claimed email; longer than MAIL_TIMEOUT_SECONDS allows a send to take
#: (OUTBOX_LEASE_SECONDS changes it).
LEASE = timedelta(minutes=5)
#: Permanent refusals (a 5xx reply: no such mailbox, message refused): trying again cannot help.
_PERMANENT = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)


def lease() -> timedelta:
    seconds = current_app.config.get("OUTBOX_LEASE_SECONDS")
    return timedelta(seconds=seconds) if seconds else LEASE


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the n-th failed attempt: 30 s, 2 min, 8 min, 32 min, ~2 h, then 6 h."""
    return min(timedelta(seconds=30 * 4 ** (attempts - 1)), timedelta(hours=6))


def message_id(email: OutboxEmail) -> str:
    """The email's Message-ID, the same on every attempt: a resend after a timeout (the server
    may have accepted the first) is recognisable as the same message."""
    domain = urlsplit(current_app.config["SITE_URL"]).hostname or "aimak.local"
    return f"<outbox-{email.id}.{email.created_at:%Y%m%d%H%M%S}@{domain}>"


def deliver(email_ids: list[int] | None = None, limit: int = 100) -> int:
    """Send due emails (these ids, or the oldest due); returns how many were sent.

    Each email is first claimed (a lease) so two workers, on one host or several, never send
    one message: one UPDATE takes the due rows, selected FOR UPDATE SKIP LOCKED on PostgreSQL
    (a second worker takes the next ones instead of waiting; SQLite's writers take turns).
    """
    if email_ids is not None and not email_ids:
        return 0
    stop_at = sending_deadline()
    claimed = _claim(email_ids, limit)
    sent = 0
    for position, email in enumerate(claimed):
        if time.monotonic() > stop_at:
            let_go(OutboxEmail, [later.id for later in claimed[position:]])
            break
        sent += _attempt(email)
    return sent


def sending_deadline() -> float:
    """When a batch claimed now stops starting sends (time.monotonic()): half its lease. A slow or
    hanging server can make a batch outlast its lease; the next run then claims what this one has
    not reached, and both would send it. Stopping at half the lease leaves the other half for the
    send under way (each is bounded by its time-out)."""
    return time.monotonic() + lease().total_seconds() / 2


def let_go(outbox, ids: list[int]) -> None:
    """Claimed messages this run did not try go back to the outbox at once, no attempt counted."""
    if ids:
        db.session.execute(update(outbox).where(outbox.id.in_(ids), outbox.sent_at.is_(None))
                           .values(claimed_until=None, attempts=outbox.attempts - 1))
        db.session.commit()


def _due(now, outbox=OutboxEmail):
    return and_(outbox.sent_at.is_(None), outbox.failed_at.is_(None),
                or_(outbox.next_attempt_at.is_(None), outbox.next_attempt_at <= now),
                or_(outbox.claimed_until.is_(None), outbox.claimed_until < now))


def _claim(email_ids: list[int] | None, limit: int) -> list[OutboxEmail]:
    return claim_due(OutboxEmail, email_ids, limit)


def claim_due(outbox, ids: list[int] | None, limit: int) -> list:
    """Claim due messages of an outbox (emails, Telegram messages) in one statement; returns them
    detached (read without a query)."""
    now = utcnow()
    due = select(outbox.id).where(_due(now, outbox)).order_by(outbox.id).limit(limit)
    if ids is not None:
        due = due.where(outbox.id.in_(ids))
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # Conditional again: whatever the database, only rows still due are taken. populate_existing:
    # a row this session already holds gets the claimed values (still_claimed compares attempts).
    claimed = list(db.session.scalars(
        update(outbox).where(outbox.id.in_(due.scalar_subquery()), _due(now, outbox))
        .values(claimed_until=now + lease(), attempts=outbox.attempts + 1)
        .returning(outbox), execution_options={"synchronize_session": False, "populate_existing": True}))
    for message in claimed:
        db.session.expunge(message)  # kept as claimed: the commits below must not reload them
    db.session.commit()
    return sorted(claimed, key=lambda message: message.id)


def still_claimed(outbox, message) -> bool:
    """Renew this worker's claim on a message just before sending it; False when it is no longer
    ours: behind a slow server a batch outlives its LEASE, another worker claims the rest (one
    more attempt counted) and sends them, and this one must not send them again."""
    renewed = db.session.execute(
        update(outbox).where(outbox.id == message.id, outbox.attempts == message.attempts,
                             outbox.sent_at.is_(None), outbox.failed_at.is_(None))
        .values(claimed_until=utcnow() + lease()))
    db.session.commit()
    return renewed.rowcount == 1


def _attempt(email: OutboxEmail) -> int:
    email_id, template, attempts = email.id, email.template, email.attempts
    if not still_claimed(OutboxEmail, email):
        return 0
    try:
        _send(email)
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        # ValueError: the message cannot even be built (a header the mail library refuses); sending it
        # again cannot help, and raising would stop every email claimed after it in this batch.
        error = f"{type(exc).__name__}: {exc}"[:500]
        now = utcnow()
        give_up = isinstance(exc, (*_PERMANENT, ValueError)) or attempts >= MAX_ATTEMPTS
        values = {"last_error": error, "claimed_until": None}
        if give_up:
            values["failed_at"] = now
        else:
            values["next_attempt_at"] = now + retry_delay(attempts)
        db.session.execute(update(OutboxEmail).where(OutboxEmail.id == email_id).values(**values))
        db.session.commit()
        business_event("email_failed" if give_up else "email_retry", email_id=email_id, template=template,
                       attempts=attempts, error=error[:200],
                       **({} if give_up else {"next_attempt_at": values["next_attempt_at"].isoformat()}))
        if give_up:
            log.error("Email %s given up after %s attempt(s): %s", email_id, attempts, error)
        return 0
    db.session.execute(update(OutboxEmail).where(OutboxEmail.id == email_id)
                       .values(sent_at=utcnow(), claimed_until=None, last_error=""))
    db.session.commit()
    business_event("email_sent", email_id=email_id, template=template, attempts=attempts)
    return 1


def retry_failed(email_id: int) -> bool:
    """An admin sends a given-up email again (after fixing the address or the mail server)."""
    result = db.session.execute(
        update(OutboxEmail).where(OutboxEmail.id == email_id, OutboxEmail.sent_at.is_(None),
                                  OutboxEmail.failed_at.is_not(None))
        .values(failed_at=None, next_attempt_at=None, attempts=0, claimed_until=None))
    return result.rowcount == 1


def _send(email: OutboxEmail) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        # Development: the email is shown in the log (and on the admin's Emails page).
        log.info("Email to %s: %s\n%s", email.to, email.subject, email.body_text)
        return
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = message_id(email)
    message["Date"] = formatdate(email.created_at.timestamp(), usegmt=True)
    if email.list_unsubscribe:
        # RFC 8058: the mail client unsubscribes with one POST to the link (no page, no login).
        message["List-Unsubscribe"] = f"<{email.list_unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(email.body_text)
    message.add_alternative(email.body_html, subtype="html")
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"],
                      timeout=config.get("MAIL_TIMEOUT_SECONDS", 30)) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


def register_delivery(app: Flask, queue_delivery, queue_telegram=None) -> None:
    """Queue the messages a request or command committed, once it ends: `queue_delivery(ids)`
    for emails, `queue_telegram(ids)` for Telegram messages."""
    outboxes = {OutboxEmail: ("outbox", queue_delivery)}
    if queue_telegram is not None:
        outboxes[OutboxTelegram] = ("telegram", queue_telegram)

    @event.listens_for(db.session, "after_flush")
    def _remember_new_messages(session, _flush_context):
        for obj in session.new:
            if type(obj) in outboxes:
                session.info.setdefault(f"{outboxes[type(obj)][0]}_new", []).append(obj.id)

    @event.listens_for(db.session, "after_commit")
    def _committed(session):
        if session.in_nested_transaction():
            return  # a savepoint was released; the emails are committed only with the outer transaction
        for key, _queue in outboxes.values():
            ids = session.info.pop(f"{key}_new", [])
            if ids and has_app_context():
                g.setdefault(f"{key}_committed", []).extend(ids)

    @event.listens_for(db.session, "after_rollback")
    def _rolled_back(session):
        for key, _queue in outboxes.values():
            session.info.pop(f"{key}_new", None)

    @app.teardown_request
    def _deliver_after_request(_exc):
        if not request.environ.get(RENDER_ONLY):
            _deliver_committed(outboxes.values())

    @app.teardown_appcontext
    def _deliver_after_command(_exc):
        # Commands and tasks (reminders, cancellations) run without a request.
        _deliver_committed(outboxes.values())


def _deliver_committed(outboxes) -> None:
    """Hand the committed messages to the worker; if the queue is unreachable, the worker's
    send-outbox and send-telegram jobs (every minute) find them in their outbox all the same."""
    for key, queue in outboxes:
        ids = g.pop(f"{key}_committed", None)
        if not ids:
            continue
        # The request or command is over: what it did not commit is discarded anyway, and ending
        # its transaction now frees SQLite's write lock for a task that runs here (immediate mode).
        db.session.rollback()
        try:
            queue(ids)
        except Exception:  # queuing must never break a response
            log.exception("Queuing committed %s messages failed", key)
