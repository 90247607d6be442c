"""Payments' jobs: the hourly reconciliation with Stripe, and the money of a cancelled market day."""
from __future__ import annotations

from marketplace.markets.models import MarketDay
from marketplace.payments.cancellation import (
    DayCancellationReport,
    settle_cancelled_day,
)
from marketplace.payments.services import reconcile
from marketplace.tasks import every, periodic, task


@periodic(every(hours=1), lease_seconds=50 * 60)
def reconcile_payments() -> str:
    """Reconcile open payments with Stripe (each change commits as it goes)."""
    return ("checked {checked}, changed {changed}, released {released}, refunded {refunded}, "
            "unreachable {unreachable}, waiting events applied {events}").format(**reconcile())


@task("settle-cancelled-day", retries=3, retry_delay=120)
def settle_cancelled_day_task(market_day_id: int) -> str:
    """Release every card hold and refund every capture of a cancelled day (safe to run again)."""
    report = settle_cancelled_day(market_day_id)
    return "not cancelled" if report is None else "; ".join(report.lines())


def finish_cancelled_day(market_day: MarketDay, market_day_id: int, actor=None, wait: bool = False, **_extra
                         ) -> DayCancellationReport | None:
    """Receiver of markets' `market_day_cancel_committed`: the day's card money is settled by a
    queued job, or here and now when the caller waits for the report (the command) or the
    queue cannot be reached (then `reconcile` would be the only one left to do it)."""
    if wait or not settle_cancelled_day_task.delay(market_day_id):
        return settle_cancelled_day(market_day_id)
    return None
