"""Read-only queries for the organizer's pages."""
from __future__ import annotations

from datetime import date, datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.accounts.models import User
from marketplace.markets.models import (
    Market,
    MarketDay,
    MarketDayStatus,
    MarketOrganizer,
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


def days_between(market_id: int, first: date, last: date) -> list[MarketDay]:
    """The market's days (any status) with local dates from `first` to `last`, for the calendar."""
    return list(db.session.scalars(
        select(MarketDay).where(MarketDay.market_id == market_id, MarketDay.date >= first, MarketDay.date <= last)
        .order_by(MarketDay.date, MarketDay.id)))


def latest_held_day(market_id: int, today: date) -> MarketDay | None:
    """The market's latest day on or before today that was not cancelled (settlement starts from it)."""
    return db.session.scalar(
        select(MarketDay).where(MarketDay.market_id == market_id, MarketDay.date <= today,
                                MarketDay.status != MarketDayStatus.CANCELLED)
        .order_by(MarketDay.date.desc(), MarketDay.id.desc()).limit(1))


def days_of_markets_on(market_ids: list[int], day: date) -> list[MarketDay]:
    """Market days of these markets on a local date (cancelled ones too: the organizer sees why)."""
    if not market_ids:
        return []
    return list(db.session.scalars(
        select(MarketDay).where(MarketDay.market_id.in_(market_ids), MarketDay.date == day)
        .options(joinedload(MarketDay.market)).order_by(MarketDay.opens_at, MarketDay.id)))


def vendor_with_producer(vendor_id: int) -> Vendor | None:
    return db.session.scalar(select(Vendor).where(Vendor.id == vendor_id)
                             .options(joinedload(Vendor.producer), joinedload(Vendor.market),
                                      joinedload(Vendor.owner)))


def vendor_emails(market_id: int) -> list[tuple[str, str | None]]:
    """(email, locale) of the owners of the market's approved vendors."""
    rows = db.session.execute(
        # Through the vendor's owner relationship: markets does not import producers.
        select(User.email, func.coalesce(User.locale, User.last_locale)).select_from(Vendor).join(Vendor.owner)
        .where(Vendor.market_id == market_id, Vendor.status == VendorStatus.APPROVED, User.active.is_(True))
        .distinct().order_by(User.email))
    return [(email, locale) for email, locale in rows]


def latest_held_dates(market_ids: list[int], today: date) -> dict[int, date]:
    """Per market, the date of its latest day on or before `today` that was not cancelled (one query)."""
    if not market_ids:
        return {}
    rows = db.session.execute(
        select(MarketDay.market_id, func.max(MarketDay.date))
        .where(MarketDay.market_id.in_(market_ids), MarketDay.date <= today,
               MarketDay.status != MarketDayStatus.CANCELLED)
        .group_by(MarketDay.market_id))
    return dict(rows.all())


def organized_markets(user_id: int) -> list[Market]:
    """The markets this person is an organizer of, by name (an admin's are theirs only, not all)."""
    return list(db.session.scalars(
        select(Market).join(MarketOrganizer, MarketOrganizer.market_id == Market.id)
        .where(MarketOrganizer.user_id == user_id).order_by(Market.name, Market.id)))
