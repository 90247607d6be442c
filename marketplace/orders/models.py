"""Orders and their lines."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, str_enum, utcnow
from marketplace.core.extensions import db


class OrderStatus(str, enum.Enum):
    PENDING_PAYMENT = "pending_payment"
    CONFIRMED = "confirmed"
    READY = "ready"
    PICKED_UP = "picked_up"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NO_SHOW = "no_show"


class PaymentMethod(str, enum.Enum):
    CARD = "card"
    CASH = "cash"


class LineStatus(str, enum.Enum):
    RESERVED = "reserved"
    PACKED = "packed"
    #: The producer did not bring it; the customer does not pay for it.
    MISSING = "missing"
    CANCELLED = "cancelled"


class Order(db.Model):
    """A customer's reservation for one market day, picked up in one slot."""

    __tablename__ = "order"
    __table_args__ = (
        UniqueConstraint("market_day_id", "pickup_code"),
        CheckConstraint("subtotal_minor >= 0", name="subtotal_not_negative"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint("cash_received_minor IS NULL OR cash_received_minor >= 0", name="cash_not_negative"),
        Index("ix_order_customer_created", "customer_id", "created_at"),
        Index("ix_order_status_hold", "status", "hold_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    market_day_id: Mapped[int] = mapped_column(ForeignKey("market_day.id"), index=True)
    pickup_slot_id: Mapped[int] = mapped_column(ForeignKey("pickup_slot.id"), index=True)
    #: Short code of unambiguous characters, unique within the market day.
    pickup_code: Mapped[str] = mapped_column(String(12))
    payment_method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod))
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus), index=True)
    subtotal_minor: Mapped[int] = mapped_column(default=0)
    #: What the customer pays (recomputed from weighed quantities and missing lines).
    total_minor: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3))
    phone: Mapped[str] = mapped_column(String(32), default="")
    #: A card order holds its stock until this instant; None for cash.
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: From the checkout form, so a double submit places one order.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Set by the one UPDATE that gives stock and slot back; guards "exactly once".
    stock_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cash_received_minor: Mapped[int | None]
    #: The card hold lapsed or was cancelled at Stripe before the hand-over: the order became
    #: a cash order, the customer was told, and the pickup point shows why.
    card_lapsed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(String(255), default="")
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    handed_over_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    customer = relationship("User", foreign_keys=[customer_id])
    market_day = relationship("MarketDay")
    pickup_slot = relationship("PickupSlot")
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )


class OrderLine(db.Model):
    """One product of one producer in an order, with its price snapshot."""

    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity_milli > 0", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price_not_negative"),
        CheckConstraint("line_total_minor >= 0", name="line_total_not_negative"),
        CheckConstraint(
            "actual_quantity_milli IS NULL OR actual_quantity_milli >= 0", name="actual_not_negative"
        ),
        Index("ix_order_line_producer_order", "producer_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    #: The offer reserved from (per-market-day stock); None for standing inventory.
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offer.id"), index=True)
    product_name: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(10))
    sold_by_weight: Mapped[bool] = mapped_column(default=False)
    #: Thousandths of the unit, as ordered.
    quantity_milli: Mapped[int]
    #: Weighed at packing for by-weight lines; the line is re-priced from it.
    actual_quantity_milli: Mapped[int | None]
    unit_price_minor: Mapped[int]
    line_total_minor: Mapped[int]
    status: Mapped[LineStatus] = mapped_column(str_enum(LineStatus), default=LineStatus.RESERVED)
    packed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="lines")
    producer = relationship("Producer")
    product = relationship("Product")
    offer = relationship("Offer")


class BasketLine(db.Model):
    """One product in a visitor's basket for one market day (orders.basket builds the baskets from them).

    The session holds only the basket's random key: each request changes the lines it changed,
    so two tabs adding at once both keep what they added (a cookie would keep one of them).
    """

    __tablename__ = "basket_line"
    __table_args__ = (CheckConstraint("quantity_milli > 0", name="quantity_positive"),)

    #: The random key in the visitor's session; whoever holds the session holds the basket.
    basket_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    market_day_id: Mapped[int] = mapped_column(ForeignKey("market_day.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    #: Thousandths of the unit.
    quantity_milli: Mapped[int]
    #: Each change of the line sets it; forget-old-baskets forgets baskets untouched for 30 days.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
