"""Markets, their schedules, market days, pickup slots and vendors."""
from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import User
from marketplace.core.db import UTCDateTime, str_enum, utcnow
from marketplace.core.extensions import db

if TYPE_CHECKING:  # producers sit above markets: the relationship is named, never imported at run time
    from marketplace.producers.models import Producer


class Market(db.Model):
    """A farmers' market or fair, with its place, timezone, currency and commission."""

    __tablename__ = "market"
    __table_args__ = (
        CheckConstraint("commission_bp >= 0 AND commission_bp <= 10000", name="commission_range"),
        CheckConstraint("ordering_opens_days_before >= 0", name="opens_days_not_negative"),
        CheckConstraint("cutoff_days_before >= 0", name="cutoff_days_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    #: IANA zone, e.g. Asia/Almaty; every local time of this market is in it.
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    #: Commission in basis points (1% = 100), kept integer like money.
    commission_bp: Mapped[int] = mapped_column(default=0)
    accepts_cash: Mapped[bool] = mapped_column(default=True)
    #: Ordering window defaults for new market days.
    ordering_opens_days_before: Mapped[int] = mapped_column(default=6)
    cutoff_days_before: Mapped[int] = mapped_column(default=1)
    cutoff_local_time: Mapped[time] = mapped_column(default=time(20, 0))
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("image.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    photo = relationship("Image")
    organizers = relationship("User", secondary="market_organizer", lazy="selectin")
    days: Mapped[list[MarketDay]] = relationship(back_populates="market", order_by="MarketDay.date")


class MarketOrganizer(db.Model):
    __tablename__ = "market_organizer"

    market_id: Mapped[int] = mapped_column(ForeignKey("market.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)


class MarketSchedule(db.Model):
    """A recurring rule (RFC 5545 RRULE) that generates market days."""

    __tablename__ = "market_schedule"
    __table_args__ = (
        CheckConstraint("slot_minutes > 0", name="slot_minutes_positive"),
        CheckConstraint("slot_capacity >= 0", name="slot_capacity_not_negative"),
        CheckConstraint("weeks_ahead > 0", name="weeks_ahead_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    market_id: Mapped[int] = mapped_column(ForeignKey("market.id", ondelete="CASCADE"), index=True)
    #: e.g. "FREQ=WEEKLY;BYDAY=SA" or "FREQ=MONTHLY;BYDAY=+1SU"
    rrule: Mapped[str] = mapped_column(String(255))
    opens_local: Mapped[time]
    closes_local: Mapped[time]
    weeks_ahead: Mapped[int] = mapped_column(default=4)
    slot_minutes: Mapped[int] = mapped_column(default=30)
    slot_capacity: Mapped[int] = mapped_column(default=20)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    market: Mapped[Market] = relationship()


class MarketDayStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class MarketDay(db.Model):
    """One day a market opens; all instants in UTC, `date` in the market's zone."""

    __tablename__ = "market_day"
    __table_args__ = (
        UniqueConstraint("market_id", "date"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opens"),
        CheckConstraint("cutoff_at > ordering_opens_at", name="cutoff_after_ordering_opens"),
        Index("ix_market_day_status_date", "status", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    market_id: Mapped[int] = mapped_column(ForeignKey("market.id"), index=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("market_schedule.id", ondelete="SET NULL"))
    #: Local calendar date in the market's timezone.
    date: Mapped[date]
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ordering_opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Orders are refused (on the server) from this instant on.
    cutoff_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[MarketDayStatus] = mapped_column(
        str_enum(MarketDayStatus), default=MarketDayStatus.SCHEDULED
    )
    #: A trade fair or special day may have a title of its own.
    title: Mapped[str] = mapped_column(String(120), default="")
    cancel_reason: Mapped[str] = mapped_column(String(255), default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    market: Mapped[Market] = relationship(back_populates="days")
    slots: Mapped[list[PickupSlot]] = relationship(
        back_populates="market_day", order_by="PickupSlot.starts_at"
    )


class PickupSlot(db.Model):
    """A pickup time window of a market day with a capacity in orders."""

    __tablename__ = "pickup_slot"
    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= capacity", name="reserved_le_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    market_day_id: Mapped[int] = mapped_column(ForeignKey("market_day.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(default=20)
    #: Orders holding a place in this slot (reserved with a conditional UPDATE).
    reserved: Mapped[int] = mapped_column(default=0)
    #: An order has held a place here (set by checkout with `reserved`, never cleared): markets
    #: keep a used slot, and a day with a used slot, without asking orders, which sit above them.
    used: Mapped[bool] = mapped_column(default=False, server_default=sa_false())

    market_day: Mapped[MarketDay] = relationship(back_populates="slots")

    @property
    def places_left(self) -> int:
        return self.capacity - self.reserved


class VendorStatus(str, enum.Enum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Vendor(db.Model):
    """A producer's standing at a market: applied, approved, rejected or suspended."""

    __tablename__ = "vendor"
    __table_args__ = (UniqueConstraint("market_id", "producer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    market_id: Mapped[int] = mapped_column(ForeignKey("market.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    status: Mapped[VendorStatus] = mapped_column(str_enum(VendorStatus), default=VendorStatus.APPLIED)
    stall: Mapped[str] = mapped_column(String(60), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    decision_reason: Mapped[str] = mapped_column(String(255), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    market: Mapped[Market] = relationship()
    producer: Mapped[Producer] = relationship("Producer")
    #: The producer's account (through the producer row): who markets write to about this vendor.
    owner: Mapped[User] = relationship(User, secondary="producer", viewonly=True,
                                       primaryjoin="Vendor.producer_id == Producer.id",
                                       secondaryjoin="Producer.user_id == User.id")
