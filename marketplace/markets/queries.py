"""Read-only queries for the organizer's pages."""
from __future__ import annotations

from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.markets.models import (
    MarketDay,
    MarketSchedule,
    Vendor,
    VendorStatus,
)


def upcoming_days(market_id: int, now: datetime | None = None, page: int = 1, per_page: int = 20) -> Pagination:
    """The market's days that have not closed yet, soonest first."""
    query = (select(MarketDay).where(MarketDay.market_id == market_id, MarketDay.closes_at > (now or utcnow()))
             .order_by(MarketDay.date))
    return db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False)


def schedules(market_id: int) -> list[MarketSchedule]:
    return list(db.session.scalars(select(MarketSchedule).where(MarketSchedule.market_id == market_id)
                                   .order_by(MarketSchedule.id)))


def vendor_counts(market_id: int) -> dict[VendorStatus, int]:
    rows = db.session.execute(select(Vendor.status, func.count(Vendor.id)).where(Vendor.market_id == market_id)
                              .group_by(Vendor.status))
    return dict(rows.all())


def vendors_page(market_id: int, status: VendorStatus | None, page: int, per_page: int = 30) -> Pagination:
    """The market's vendors (optionally of one status), applications first, with their producers."""
    query = (select(Vendor).where(Vendor.market_id == market_id)
             .options(joinedload(Vendor.producer), joinedload(Vendor.owner))
             .order_by(Vendor.created_at.desc(), Vendor.id.desc()))
    if status is not None:
        query = query.where(Vendor.status == status)
    return db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False)


def market_day_with_market(day_id: int) -> MarketDay | None:
    return db.session.scalar(select(MarketDay).where(MarketDay.id == day_id)
                             .options(joinedload(MarketDay.market), selectinload(MarketDay.slots)))
