"""Orders' scheduled jobs: unpaid card holds given back, pickup reminders."""
from __future__ import annotations

from marketplace.core.extensions import db
from marketplace.orders.services import expire_due_holds, send_reminders as queue_reminders
from marketplace.tasks import daily, every, periodic


@periodic(every(minutes=1))
def expire_reservations() -> str:
    """Release the stock and slot of card orders whose payment hold has passed."""
    count = expire_due_holds()
    db.session.commit()
    return f"{count} reservation(s) expired"


@periodic(daily(hour=4))
def send_reminders() -> str:
    """Email customers whose pickup is tomorrow (each order once); 04:00 UTC is morning in Central Asia."""
    count = queue_reminders()
    db.session.commit()
    return f"{count} reminder(s) queued"
