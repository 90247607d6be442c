"""Payments' scheduled job: ask Stripe about open payments and repair what a lost webhook left."""
from __future__ import annotations

from marketplace.payments.services import reconcile
from marketplace.tasks import every, periodic


@periodic(every(hours=1), lease_seconds=50 * 60)
def reconcile_payments() -> str:
    """Reconcile open payments with Stripe (each change commits as it goes)."""
    return "checked {checked}, changed {changed}, released {released}, unreachable {unreachable}".format(
        **reconcile())
