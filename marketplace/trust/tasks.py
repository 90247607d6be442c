"""Trust's scheduled job: certificate expiry reminders, and expired certificates marked."""
from __future__ import annotations

from marketplace.core.extensions import db
from marketplace.tasks import daily, periodic
from marketplace.trust.services import mark_expired, send_expiry_reminders


@periodic(daily(hour=3))
def send_certificate_reminders() -> str:
    sent = send_expiry_reminders()
    expired = mark_expired()
    db.session.commit()
    return f"{sent} reminder(s) queued, {expired} certificate(s) marked expired"
