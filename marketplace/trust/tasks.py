"""Trust's scheduled job: certificate expiry reminders, expired certificates marked, and the
scores of group members refreshed (a group's standing or a PGS certificate can lapse by date)."""
from __future__ import annotations

from marketplace.core.extensions import db
from marketplace.tasks import daily, periodic
from marketplace.trust.services import (
    mark_expired,
    recompute_group_members,
    send_expiry_reminders,
)


@periodic(daily(hour=3))
def send_certificate_reminders() -> str:
    sent = send_expiry_reminders()
    expired = mark_expired()
    members = recompute_group_members()
    db.session.commit()
    return f"{sent} reminder(s) queued, {expired} certificate(s) marked expired, {members} group member(s) rescored"
