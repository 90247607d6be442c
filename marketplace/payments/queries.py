"""Read-only questions about payments, for pages of lower features (composition at the edge)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.payments.models import Payment, PaymentRefund, RefundStatus


@dataclass(frozen=True)
class PaymentFacts:
    """Where an order's card money stands: what is held, charged and given back."""

    status: str
    authorized_minor: int
    captured_minor: int
    refunded_minor: int
    #: Part of `refunded_minor` Stripe has not made yet (claimed on our side, its answer awaited
    #: or the call to be retried): the customer's card still carries it.
    refund_pending_minor: int = 0

    @property
    def refunded_done_minor(self) -> int:
        return self.refunded_minor - self.refund_pending_minor


def payment_facts_of_orders(order_ids) -> dict[int, PaymentFacts]:
    """order id -> the facts of its latest card payment (orders without one are left out); two queries.

    The customer's order pages say in words what happened to their money (held, charged,
    refunded, nothing to pay); orders may not import payments, so this is a template global.
    """
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        return {}
    latest = (select(func.max(Payment.id)).where(Payment.order_id.in_(ids)).group_by(Payment.order_id))
    rows = db.session.execute(
        select(Payment.id, Payment.order_id, Payment.status, Payment.amount_authorized_minor,
               Payment.amount_captured_minor, Payment.amount_refunded_minor).where(Payment.id.in_(latest))).all()
    pending = dict(db.session.execute(
        select(PaymentRefund.payment_id, func.sum(PaymentRefund.amount_minor))
        .where(PaymentRefund.payment_id.in_(latest), PaymentRefund.status == RefundStatus.PENDING)
        .group_by(PaymentRefund.payment_id)).all())
    return {order_id: PaymentFacts(status.value if hasattr(status, "value") else str(status), held, captured,
                                   refunded, pending.get(payment_id) or 0)
            for payment_id, order_id, status, held, captured, refunded in rows}
