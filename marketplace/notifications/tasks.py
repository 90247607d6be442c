"""The worker's message tasks: deliver what a request committed (email, Telegram), and retry what is due."""
from __future__ import annotations

from datetime import timedelta

from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.notifications.channels import forget_told
from marketplace.notifications.services import deliver
from marketplace.notifications.telegram import deliver_due
from marketplace.tasks import daily, every, periodic, task

#: A notice is kept this long: longer than any ordering window, so no occasion is told twice.
NOTICES_KEPT_DAYS = 120


@task("deliver-emails")
def deliver_emails(ids: list[int]) -> int:
    """Send these committed emails (a failure is retried by send-outbox after its back-off)."""
    return deliver(ids)


@periodic(every(minutes=1))
def send_outbox() -> str:
    """Send every email that is due: new ones a queue missed, and retries after their back-off."""
    return f"{deliver(limit=500)} email(s) sent"


@task("deliver-telegram")
def deliver_telegram_messages(ids: list[int]) -> int:
    """Send these committed Telegram messages (a failure or a 429 is retried by send-telegram)."""
    return deliver_due(ids)


@periodic(every(minutes=1))
def send_telegram() -> str:
    """Send every Telegram message that is due: new ones a queue missed, retries, the end of a 429 pause."""
    return f"{deliver_due(limit=500)} Telegram message(s) sent"


@periodic(daily(hour=2, minute=30))
def forget_old_notices() -> str:
    """Notices ("told once") of occasions long past are not needed to hold the rule any more."""
    count = forget_told(utcnow() - timedelta(days=NOTICES_KEPT_DAYS))
    db.session.commit()
    return f"{count} old notice(s) forgotten"
