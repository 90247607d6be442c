"""Markets, schedules, market days, slots and vendors (organizer side)."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.accounts.models import Role, User
from marketplace.extensions import db
from marketplace.markets.models import Market, MarketOrganizer


def markets_of(user: User) -> list[Market]:
    """Markets the user organises (all markets for an admin)."""
    query = select(Market).order_by(Market.name)
    if not user.has_role(Role.ADMIN):
        query = query.join(MarketOrganizer, MarketOrganizer.market_id == Market.id).where(
            MarketOrganizer.user_id == user.id)
    return list(db.session.scalars(query))


def can_manage(user: User, market: Market) -> bool:
    if user.has_role(Role.ADMIN):
        return True
    return db.session.scalar(select(MarketOrganizer.user_id).where(
        MarketOrganizer.market_id == market.id, MarketOrganizer.user_id == user.id)) is not None


# --- Market days from a recurring rule ---------------------------------------------

def local_instant(day, local_time, tz_name: str):
    """A wall-clock time on a local date in the market's zone, as an aware UTC instant."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    return datetime.combine(day, local_time, tzinfo=ZoneInfo(tz_name)).astimezone(timezone.utc)


def ordering_window(market: Market, day):
    """(ordering opens, cutoff) for a market day on local date `day`, from the market's defaults."""
    from datetime import time, timedelta

    opens = local_instant(day - timedelta(days=market.ordering_opens_days_before), time(8, 0), market.timezone)
    cutoff = local_instant(day - timedelta(days=market.cutoff_days_before), market.cutoff_local_time,
                           market.timezone)
    return opens, cutoff


def occurrences(rule: str, start_day, end_day) -> list:
    """Local dates from an RRULE between two dates (inclusive)."""
    from datetime import datetime, time

    from dateutil.rrule import rrulestr

    start = datetime.combine(start_day, time(0, 0))
    end = datetime.combine(end_day, time(23, 59))
    return [moment.date() for moment in rrulestr(rule, dtstart=start).between(start, end, inc=True)]


def create_market_day(market: Market, day, opens_local, closes_local, *, schedule_id=None,
                      slot_minutes: int = 30, slot_capacity: int = 20, title: str = ""):
    """A market day with its ordering window and evenly spaced pickup slots."""
    from datetime import timedelta

    from marketplace.markets.models import MarketDay, PickupSlot

    opens_at = local_instant(day, opens_local, market.timezone)
    closes_at = local_instant(day, closes_local, market.timezone)
    ordering_opens_at, cutoff_at = ordering_window(market, day)
    market_day = MarketDay(market=market, date=day, opens_at=opens_at, closes_at=closes_at,
                           ordering_opens_at=ordering_opens_at, cutoff_at=cutoff_at,
                           schedule_id=schedule_id, title=title)
    db.session.add(market_day)
    start = opens_at
    while start < closes_at:
        end = min(start + timedelta(minutes=slot_minutes), closes_at)
        db.session.add(PickupSlot(market_day=market_day, starts_at=start, ends_at=end, capacity=slot_capacity))
        start = end
    db.session.flush()
    return market_day
