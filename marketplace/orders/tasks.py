"""Orders' jobs: confirmations of placed orders, unpaid card holds given back, pickup reminders,
baskets nobody came back to forgotten."""
from __future__ import annotations

from marketplace.core.extensions import db
from marketplace.orders.services import confirm_orders as tell_confirmed
from marketplace.orders.services import expire_due_holds, unconfirmed_order_ids
from marketplace.orders.services import forget_old_baskets as forget_baskets
from marketplace.orders.services import send_reminders as queue_reminders
from marketplace.tasks import daily, every, periodic, task


@task("confirm-orders", retries=3, retry_delay=30)
def confirm_orders(ids: list[int]) -> int:
    """Tell the customers of these committed orders that they are confirmed (each once)."""
    count = tell_confirmed(ids)
    db.session.commit()
    return count


@periodic(every(minutes=1))
def confirm_missed_orders() -> str:
    """Confirm the orders a lost queue left untold (the checkout queues confirm-orders after its commit)."""
    count = tell_confirmed(unconfirmed_order_ids())
    db.session.commit()
    return f"{count} confirmation(s) queued"


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


@periodic(daily(hour=3, minute=30))
def forget_old_baskets() -> str:
    """Forget the baskets nobody changed for 30 days: anonymous visitors' baskets would otherwise
    stay for ever (their session cookie is gone, their lines are not)."""
    count = forget_baskets()
    db.session.commit()
    return f"{count} basket line(s) forgotten"
