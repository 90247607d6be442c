"""The groups' scheduled job: a farm visit falling due comes back as a reminder."""
from __future__ import annotations

from marketplace.core.extensions import db
from marketplace.groups.services import send_visit_reminders
from marketplace.tasks import daily, periodic


@periodic(daily(hour=5))
def send_group_visit_reminders() -> str:
    sent = send_visit_reminders()
    db.session.commit()
    return f"{sent} visit reminder(s) queued"
