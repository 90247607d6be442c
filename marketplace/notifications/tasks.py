"""The worker's email tasks: deliver what a request committed, and retry what is due."""
from __future__ import annotations

from marketplace.notifications.services import deliver
from marketplace.tasks import every, periodic, task


@task("deliver-emails")
def deliver_emails(ids: list[int]) -> int:
    """Send these committed emails (a failure is retried by send-outbox after its back-off)."""
    return deliver(ids)


@periodic(every(minutes=1))
def send_outbox() -> str:
    """Send every email that is due: new ones a queue missed, and retries after their back-off."""
    return f"{deliver(limit=500)} email(s) sent"
