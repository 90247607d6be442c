"""Card payments (Stripe PaymentIntents) and received webhook events."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, str_enum, utcnow
from marketplace.core.extensions import db


class PaymentStatus(str, enum.Enum):
    CREATED = "created"
    REQUIRES_ACTION = "requires_action"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    CANCELED = "canceled"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    #: Stripe answers it has no such PaymentIntent: no retry can settle it, an organizer must look.
    MISSING = "missing"


#: Payments only move forward: an event that arrives late or twice never moves one back.
PAYMENT_STATUS_RANK = {
    PaymentStatus.CREATED: 0,
    PaymentStatus.REQUIRES_ACTION: 1,
    PaymentStatus.AUTHORIZED: 2,
    PaymentStatus.FAILED: 3,
    PaymentStatus.CANCELED: 3,
    PaymentStatus.CAPTURED: 3,
    PaymentStatus.PARTIALLY_REFUNDED: 4,
    PaymentStatus.REFUNDED: 5,
    PaymentStatus.MISSING: 6,
}


class Payment(db.Model):
    """Our record of one PaymentIntent; it exists before Stripe is called."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount_authorized_minor >= 0", name="authorized_not_negative"),
        CheckConstraint("amount_captured_minor >= 0", name="captured_not_negative"),
        CheckConstraint("amount_refunded_minor >= 0", name="refunded_not_negative"),
        CheckConstraint("amount_captured_minor <= amount_authorized_minor", name="captured_le_authorized"),
        CheckConstraint("amount_refunded_minor <= amount_captured_minor", name="refunded_le_captured"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20), default="stripe")
    provider_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: What we ask Stripe to hold: the total plus the margin on by-weight lines.
    amount_authorized_minor: Mapped[int] = mapped_column(default=0)
    amount_captured_minor: Mapped[int] = mapped_column(default=0)
    amount_refunded_minor: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus), default=PaymentStatus.CREATED)
    failure_message: Mapped[str] = mapped_column(String(255), default="")
    #: When Stripe first held the money (the payment reached `authorized`).
    authorized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Stripe's deadline to capture: the hold lapses after it (from the charge, else
    #: `authorized_at` + CARD_HOLD_DAYS, Stripe's usual window for online card payments).
    capture_before: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    order = relationship("Order")


class WebhookEvent(db.Model):
    """A provider event, stored by its id so it is applied once."""

    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RefundStatus(str, enum.Enum):
    #: Claimed from the payment (counted in `amount_refunded_minor`); Stripe not asked yet, or
    #: its answer was lost: retried with the same key until Stripe answers.
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    #: Stripe refused it; the amount went back to the payment's refundable part.
    FAILED = "failed"


#: The key ending of the refund of what a card was charged above the amount due at its hand-over
#: (captured early, or by a capture whose answer was lost): it gives back an overcharge, not a
#: sale, so the settlement and a producer's refundable part do not count it.
EXCESS_REFUND_KEY_SUFFIX = "-refund-excess"


class PaymentRefund(db.Model):
    """Money given back after capture, attributed to a producer for the settlement.

    The row (and the amount it claims) is written before Stripe is asked, under an
    idempotency key that is Stripe's too: a double click, a retry after a lost answer or
    a rerun of a job sends the same key, so Stripe refunds once.
    """

    __tablename__ = "payment_refund"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    #: Whose sales this refund reduces; None splits nothing (a whole-order refund is per line).
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producer.id"), index=True)
    amount_minor: Mapped[int]
    reason: Mapped[str] = mapped_column(String(255), default="")
    provider_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: Ours and Stripe's: from the refund form (one per form shown) or from the operation
    #: (`aimak-payment-<id>-refund-ended`, `...-refund-undo`). None only on rows older than keys.
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[RefundStatus] = mapped_column(str_enum(RefundStatus), default=RefundStatus.PENDING,
                                                 server_default=RefundStatus.SUCCEEDED.value)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payment = relationship("Payment")
    producer = relationship("Producer")


class PaymentAttempt(db.Model):
    """One call to Stripe that moves money (capture, release, refund) and how it ended.

    A job's report (what failed, with Stripe's words; what needed more than one try) is
    read from these rows; what is still to do is read from the payments themselves.
    """

    __tablename__ = "payment_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    #: capture, release or refund
    operation: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    amount_minor: Mapped[int] = mapped_column(default=0)
    ok: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
