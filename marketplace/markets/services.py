"""Markets, schedules, market days, slots and vendors (organizer side).

Every function takes the acting user and checks access itself; `actor=None` means the
system (a CLI command or a job), which may do anything.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import is_currency
from dateutil.rrule import rrulestr
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, event, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from marketplace.accounts.models import Role, User, normalize_email
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidState, NotAllowed, NotFound
from marketplace.core.extensions import db
from marketplace.core.locale import DayText
from marketplace.core.text import unique_slug
from marketplace.markets.models import (
    Market,
    MarketDay,
    MarketDayStatus,
    MarketOrganizer,
    MarketSchedule,
    PickupSlot,
    Vendor,
    VendorStatus,
)
from marketplace.markets.signals import market_day_cancel_committed, market_day_cancelled, market_day_deleting
from marketplace.media.services import InvalidUpload, save_image
from marketplace.notifications.services import queue_email

#: Generation limits: a mistyped rule must not create thousands of rows.
MAX_WEEKS_AHEAD = 52
MAX_DAYS_PER_GENERATION = 120
MAX_SLOTS_PER_DAY = 96
MAX_SLOT_CAPACITY = 10_000


class MarketError(DomainError):
    """A market rule refused the input; `field` names the form field it belongs to, if any."""

    def __init__(self, message: str = "", field: str | None = None, **details):
        super().__init__(message, **details)
        self.field = field


class CapacityBelowReserved(MarketError):
    pass


# --- Access ---------------------------------------------------------------------

def markets_of(user: User) -> list[Market]:
    """Markets the user organises (all markets for an admin)."""
    query = select(Market).order_by(Market.name)
    if not user.has_role(Role.ADMIN):
        query = query.join(MarketOrganizer, MarketOrganizer.market_id == Market.id).where(
            MarketOrganizer.user_id == user.id)
    return list(db.session.scalars(query))


#: session.info key: the organizer checks answered in the current transaction.
_MANAGERS_KEY = "markets_managers_checked"


def can_manage(user: User | None, market: Market) -> bool:
    """Whether the user is one of the market's organizers, or an admin.

    Asked of the database once per transaction and user and market: one request (the view
    loading the order, the pickup point, the order transition) checks the same actor
    several times, and the answer cannot differ within the transaction. Any write forgets
    the answers (an organizer added or removed is seen at once)."""
    if user is None:
        return False
    if user.has_role(Role.ADMIN):
        return True
    if user.id is None or market.id is None:
        return False
    if db.session.new or db.session.deleted or db.session.dirty:
        _forget_managers(db.session)  # a change not flushed yet may be an organizer's
    checked = db.session.info.setdefault(_MANAGERS_KEY, {})
    key = (user.id, market.id)
    if key not in checked:
        checked[key] = db.session.scalar(select(MarketOrganizer.user_id).where(
            MarketOrganizer.market_id == market.id, MarketOrganizer.user_id == user.id)) is not None
    return checked[key]


def _forget_managers(session, *_args) -> None:
    session.info.pop(_MANAGERS_KEY, None)


def _forget_managers_on_write(orm_execute_state) -> None:
    if not orm_execute_state.is_select:
        _forget_managers(orm_execute_state.session)


def connect_receivers() -> None:
    """The organizer checks are forgotten at every write and at the end of each transaction.

    Connected once however many apps a process makes."""
    for name in ("after_flush", "after_commit", "after_rollback", "after_soft_rollback"):
        if not event.contains(db.session, name, _forget_managers):
            event.listen(db.session, name, _forget_managers)
    if not event.contains(db.session, "do_orm_execute", _forget_managers_on_write):
        event.listen(db.session, "do_orm_execute", _forget_managers_on_write)


def can_create_market(user: User) -> bool:
    return user.has_role(Role.ORGANIZER) or user.has_role(Role.ADMIN)


def _require_manager(actor: User | None, market: Market) -> None:
    if actor is not None and not can_manage(actor, market):
        raise NotAllowed(str(_l("You do not organise this market.")))


# --- Validation of market settings ------------------------------------------------

def validate_timezone(name: str) -> str:
    """An IANA zone name that zoneinfo knows, e.g. 'Asia/Almaty'."""
    name = (name or "").strip()
    # ZoneInfo also accepts relative paths; only plain "Area/City" style names are zones.
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*", name) or len(name) > 64:
        raise MarketError(str(_l("Enter a time zone such as Asia/Almaty.")), field="timezone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise MarketError(str(_l("Unknown time zone. Enter one such as Asia/Almaty or Asia/Bishkek.")),
                          field="timezone") from None
    return name


def validate_currency(code: str) -> str:
    """An ISO 4217 currency code (upper-cased), e.g. 'KZT'."""
    code = (code or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code) or not is_currency(code):
        raise MarketError(str(_l("Enter a currency code such as KZT, KGS or EUR.")), field="currency")
    return code


def percent_to_bp(percent: Decimal) -> int:
    """A commission percent (at most two decimals, 0–100) in basis points."""
    if percent < 0 or percent > 100:
        raise MarketError(str(_l("The commission is a percent between 0 and 100.")), field="commission")
    if -percent.as_tuple().exponent > 2:
        raise MarketError(str(_l("Use at most two digits after the decimal point.")), field="commission")
    return int(percent * 100)


def bp_to_percent(bp: int) -> str:
    """Basis points shown as a plain percent for a form field: 750 -> '7.5'."""
    value = (Decimal(bp) / 100).normalize()
    return format(value, "f")


@dataclass
class MarketData:
    """What the market form carries, already parsed."""

    name: str
    description: str
    address: str
    lat: float | None
    lon: float | None
    timezone: str
    currency: str
    commission_bp: int
    accepts_cash: bool
    ordering_opens_days_before: int
    cutoff_days_before: int
    cutoff_local_time: time


def _check_market_data(data: MarketData) -> None:
    data.timezone = validate_timezone(data.timezone)
    data.currency = validate_currency(data.currency)
    if not (data.name or "").strip():
        raise MarketError(str(_l("Enter the market's name.")), field="name")
    if (data.lat is None) != (data.lon is None):
        raise MarketError(str(_l("Enter both latitude and longitude, or neither.")), field="lat")
    if data.lat is not None and not (-90 <= data.lat <= 90 and -180 <= data.lon <= 180):
        raise MarketError(str(_l("That point is not on the map.")), field="lat")
    if not 0 <= data.commission_bp <= 10_000:
        raise MarketError(str(_l("The commission is a percent between 0 and 100.")), field="commission")
    if data.cutoff_days_before > data.ordering_opens_days_before:
        raise MarketError(str(_l("Ordering must open before the cutoff.")), field="ordering_opens_days_before")
    if data.cutoff_days_before == data.ordering_opens_days_before and data.cutoff_local_time <= ORDERING_OPENS_LOCAL:
        raise MarketError(str(_l("Ordering must open before the cutoff.")), field="ordering_opens_days_before")


def _apply_market_data(market: Market, data: MarketData) -> None:
    market.name = data.name.strip()
    market.description = (data.description or "").strip()
    market.address = (data.address or "").strip()
    market.lat, market.lon = data.lat, data.lon
    market.timezone = data.timezone
    market.currency = data.currency
    market.commission_bp = data.commission_bp
    market.accepts_cash = data.accepts_cash
    market.ordering_opens_days_before = data.ordering_opens_days_before
    market.cutoff_days_before = data.cutoff_days_before
    market.cutoff_local_time = data.cutoff_local_time


def create_market(actor: User, data: MarketData, photo=None) -> Market:
    """A new market; the organizer who creates it becomes its first organizer."""
    if not can_create_market(actor):
        raise NotAllowed(str(_l("Only organizers can create markets.")))
    _check_market_data(data)
    market = Market(slug=unique_slug(Market, data.name))
    _apply_market_data(market, data)
    db.session.add(market)
    db.session.flush()
    db.session.add(MarketOrganizer(market_id=market.id, user_id=actor.id))
    if photo is not None:
        _set_photo(market, photo, actor)
    db.session.flush()
    return market


def update_market(actor: User, market: Market, data: MarketData, photo=None) -> Market:
    """Change a market's settings; its zone and currency are fixed once it has orders."""
    _require_manager(actor, market)
    _check_market_data(data)
    if (data.timezone != market.timezone or data.currency != market.currency) and market_has_orders(market):
        field_name = "timezone" if data.timezone != market.timezone else "currency"
        raise MarketError(str(_l("The time zone and currency cannot change once the market has orders.")),
                          field=field_name)
    _apply_market_data(market, data)
    if photo is not None:
        _set_photo(market, photo, actor)
    db.session.flush()
    return market


def _set_photo(market: Market, photo, actor: User) -> None:
    try:
        market.photo = save_image(photo, actor.id, alt=market.name)
    except InvalidUpload as exc:
        raise MarketError(exc.message, field="photo") from None


def market_has_orders(market: Market) -> bool:
    """Whether any order was ever placed for a day of this market (its slots say so)."""
    return db.session.scalar(select(exists().where(
        PickupSlot.used, PickupSlot.market_day_id == MarketDay.id, MarketDay.market_id == market.id))) is True


# --- Organizers -----------------------------------------------------------------

def add_organizer(actor: User, market: Market, email: str) -> User:
    """Make an existing user an organizer of this market (and give them the organizer role)."""
    _require_manager(actor, market)
    user = db.session.scalar(select(User).where(User.email == normalize_email(email or "")))
    if user is None or not user.active:
        raise MarketError(str(_l("No account uses that email. Ask them to register first.")), field="email")
    if db.session.get(MarketOrganizer, (market.id, user.id)) is not None:
        raise MarketError(str(_l("%(name)s already organises this market.", name=user.name)), field="email")
    user.add_role(Role.ORGANIZER)
    db.session.add(MarketOrganizer(market_id=market.id, user_id=user.id))
    db.session.flush()
    return user


def remove_organizer(actor: User, market: Market, user: User) -> None:
    """Take a user off the market's organizers; the last one stays."""
    _require_manager(actor, market)
    link = db.session.get(MarketOrganizer, (market.id, user.id))
    if link is None:
        raise MarketError(str(_l("That person does not organise this market.")))
    count = db.session.scalar(select(func.count()).select_from(MarketOrganizer)
                              .where(MarketOrganizer.market_id == market.id))
    if count <= 1:
        raise MarketError(str(_l("A market needs at least one organizer.")))
    db.session.delete(link)
    db.session.flush()
    db.session.expire(market, ["organizers"])


# --- Local time -----------------------------------------------------------------

#: Ordering opens at this local time on the day the market's default says.
ORDERING_OPENS_LOCAL = time(8, 0)


def local_instant(day, local_time, tz_name: str):
    """A wall-clock time on a local date in the market's zone, as an aware UTC instant."""
    return datetime.combine(day, local_time, tzinfo=ZoneInfo(tz_name)).astimezone(timezone.utc)


def local_today(market: Market, now: datetime | None = None) -> date:
    """The calendar date at the market right now."""
    return (now or utcnow()).astimezone(ZoneInfo(market.timezone)).date()


def ordering_window(market: Market, day):
    """(ordering opens, cutoff) for a market day on local date `day`, from the market's defaults."""
    opens = local_instant(day - timedelta(days=market.ordering_opens_days_before), ORDERING_OPENS_LOCAL,
                          market.timezone)
    cutoff = local_instant(day - timedelta(days=market.cutoff_days_before), market.cutoff_local_time,
                           market.timezone)
    return opens, cutoff


class OrderingState(str, enum.Enum):
    NOT_YET_OPEN = "not_yet_open"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


def ordering_state(market_day: MarketDay, now: datetime | None = None) -> OrderingState:
    """Whether customers may order for this market day at `now` (server-side cutoff)."""
    now = now or utcnow()
    if market_day.status == MarketDayStatus.CANCELLED:
        return OrderingState.CANCELLED
    if market_day.status != MarketDayStatus.SCHEDULED or now >= market_day.cutoff_at:
        return OrderingState.CLOSED
    if now < market_day.ordering_opens_at:
        return OrderingState.NOT_YET_OPEN
    return OrderingState.OPEN


def is_ordering_open(market_day: MarketDay, now: datetime | None = None) -> bool:
    """True when opens_at <= now < cutoff_at and the day is scheduled."""
    return ordering_state(market_day, now) == OrderingState.OPEN


def ordering_open_condition(now: datetime):
    """The same rule as `is_ordering_open`, as SQL over MarketDay (the cutoff is exclusive)."""
    return and_(MarketDay.status == MarketDayStatus.SCHEDULED, MarketDay.ordering_opens_at <= now,
                MarketDay.cutoff_at > now)


# --- Recurring rules --------------------------------------------------------------

WEEKDAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_ALLOWED_FREQS = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


def rule_from_choice(kind: str, weekday: str = "", position: int | None = None, raw: str = "") -> str:
    """An RRULE from the simple form: every <weekday>, <n>th/last <weekday> of the month, or raw."""
    if kind == "weekly":
        if weekday not in WEEKDAY_CODES:
            raise MarketError(str(_l("Choose a weekday.")), field="weekday")
        return f"FREQ=WEEKLY;BYDAY={weekday}"
    if kind == "monthly":
        if weekday not in WEEKDAY_CODES:
            raise MarketError(str(_l("Choose a weekday.")), field="weekday")
        if position not in (1, 2, 3, 4, -1):
            raise MarketError(str(_l("Choose which week of the month.")), field="position")
        return f"FREQ=MONTHLY;BYDAY={position:+d}{weekday}"
    if kind == "rrule":
        return validate_rrule(raw)
    raise MarketError(str(_l("Choose how often the market opens.")), field="kind")


def choice_from_rule(rule: str) -> dict:
    """The simple form's fields for a stored rule (kind 'rrule' when it is not a simple one)."""
    weekly = re.fullmatch(r"FREQ=WEEKLY;BYDAY=(MO|TU|WE|TH|FR|SA|SU)", rule)
    if weekly:
        return {"kind": "weekly", "weekday": weekly.group(1), "position": 1, "raw": rule}
    monthly = re.fullmatch(r"FREQ=MONTHLY;BYDAY=([+-]\d)(MO|TU|WE|TH|FR|SA|SU)", rule)
    if monthly and int(monthly.group(1)) in (1, 2, 3, 4, -1):
        return {"kind": "monthly", "weekday": monthly.group(2), "position": int(monthly.group(1)), "raw": rule}
    return {"kind": "rrule", "weekday": "SA", "position": 1, "raw": rule}


def validate_rrule(raw: str) -> str:
    """A single RRULE line (no DTSTART), recurring daily or less often."""
    rule = (raw or "").strip()
    if rule.upper().startswith("RRULE:"):
        rule = rule[6:].strip()
    rule = rule.upper()
    message = str(_l("Enter a rule such as FREQ=WEEKLY;BYDAY=SA (RFC 5545 RRULE)."))
    if not rule or len(rule) > 255 or not re.fullmatch(r"[A-Z0-9=;,+\-]+", rule):
        raise MarketError(message, field="raw")
    parts = dict(part.split("=", 1) for part in rule.split(";") if "=" in part)
    if parts.get("FREQ") not in _ALLOWED_FREQS:
        raise MarketError(str(_l("The rule must repeat daily, weekly, monthly or yearly.")), field="raw")
    if any(key in parts for key in ("BYHOUR", "BYMINUTE", "BYSECOND")):
        raise MarketError(str(_l("Give the hours in the opening and closing fields, not in the rule.")), field="raw")
    try:
        rrulestr(rule, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError, KeyError):
        raise MarketError(message, field="raw") from None
    return rule


def occurrences(rule: str, start_day, end_day, *, anchor=None) -> list:
    """Local dates from an RRULE between two dates (inclusive).

    `anchor` is the rule's first date; it fixes the phase of rules such as "every other
    Saturday", which would otherwise shift with the start of the window.
    """
    start = datetime.combine(start_day, time(0, 0))
    end = datetime.combine(end_day, time(23, 59))
    dtstart = datetime.combine(anchor, time(0, 0)) if anchor is not None else start
    return [moment.date() for moment in rrulestr(rule, dtstart=dtstart).between(start, end, inc=True)]


def _slot_bounds(opens_at: datetime, closes_at: datetime, slot_minutes: int) -> list[tuple[datetime, datetime]]:
    bounds = []
    start = opens_at
    while start < closes_at:
        end = min(start + timedelta(minutes=slot_minutes), closes_at)
        bounds.append((start, end))
        start = end
    return bounds


def _check_hours(opens_local: time, closes_local: time) -> None:
    if closes_local <= opens_local:
        raise MarketError(str(_l("The market must close after it opens.")), field="closes_local")


def _check_slot_template(slot_minutes: int, slot_capacity: int, opens_local: time, closes_local: time) -> None:
    if not 5 <= slot_minutes <= 24 * 60:
        raise MarketError(str(_l("A slot lasts between 5 minutes and a day.")), field="slot_minutes")
    if not 0 <= slot_capacity <= MAX_SLOT_CAPACITY:
        raise MarketError(str(_l("Enter a capacity between 0 and %(n)s.", n=MAX_SLOT_CAPACITY)),
                          field="slot_capacity")
    minutes_open = (closes_local.hour * 60 + closes_local.minute) - (opens_local.hour * 60 + opens_local.minute)
    if -(-minutes_open // slot_minutes) > MAX_SLOTS_PER_DAY:
        raise MarketError(str(_l("That makes more than %(n)s slots a day; choose longer slots.",
                                 n=MAX_SLOTS_PER_DAY)), field="slot_minutes")


def create_market_day(market: Market, day, opens_local, closes_local, *, schedule_id=None,
                      slot_minutes: int = 30, slot_capacity: int = 20, title: str = ""):
    """A market day with its ordering window and evenly spaced pickup slots."""
    opens_at = local_instant(day, opens_local, market.timezone)
    closes_at = local_instant(day, closes_local, market.timezone)
    ordering_opens_at, cutoff_at = ordering_window(market, day)
    market_day = MarketDay(market=market, date=day, opens_at=opens_at, closes_at=closes_at,
                           ordering_opens_at=ordering_opens_at, cutoff_at=cutoff_at,
                           schedule_id=schedule_id, title=title)
    db.session.add(market_day)
    for start, end in _slot_bounds(opens_at, closes_at, slot_minutes):
        db.session.add(PickupSlot(market_day=market_day, starts_at=start, ends_at=end, capacity=slot_capacity))
    db.session.flush()
    return market_day


@dataclass
class ScheduleResult:
    """What generating or regenerating a schedule did to the market's days."""

    schedule: MarketSchedule
    created: list[date] = field(default_factory=list)
    updated: list[date] = field(default_factory=list)
    removed: list[date] = field(default_factory=list)
    #: Days that no longer fit the rule (or would change) but have orders: left as they were.
    kept_with_orders: list[date] = field(default_factory=list)


def _schedule_anchor(schedule: MarketSchedule) -> date:
    created = schedule.created_at or utcnow()
    return created.astimezone(ZoneInfo(schedule.market.timezone)).date()


def _wanted_dates(schedule: MarketSchedule, today: date) -> list[date]:
    dates = occurrences(schedule.rrule, today + timedelta(days=1), today + timedelta(weeks=schedule.weeks_ahead),
                        anchor=_schedule_anchor(schedule))
    return dates[:MAX_DAYS_PER_GENERATION]


def _check_schedule(rrule: str, opens_local: time, closes_local: time, weeks_ahead: int,
                    slot_minutes: int, slot_capacity: int) -> None:
    validate_rrule(rrule)
    _check_hours(opens_local, closes_local)
    if not 1 <= weeks_ahead <= MAX_WEEKS_AHEAD:
        raise MarketError(str(_l("Plan between 1 and %(n)s weeks ahead.", n=MAX_WEEKS_AHEAD)), field="weeks_ahead")
    _check_slot_template(slot_minutes, slot_capacity, opens_local, closes_local)


def create_schedule(actor: User | None, market: Market, rrule: str, opens_local: time, closes_local: time, *,
                    weeks_ahead: int = 4, slot_minutes: int = 30, slot_capacity: int = 20,
                    now: datetime | None = None) -> ScheduleResult:
    """A recurring rule and its market days for the coming weeks (dates that exist are skipped)."""
    _require_manager(actor, market)
    _check_schedule(rrule, opens_local, closes_local, weeks_ahead, slot_minutes, slot_capacity)
    schedule = MarketSchedule(market=market, rrule=validate_rrule(rrule), opens_local=opens_local,
                              closes_local=closes_local, weeks_ahead=weeks_ahead, slot_minutes=slot_minutes,
                              slot_capacity=slot_capacity, created_at=now or utcnow())
    db.session.add(schedule)
    db.session.flush()
    result = ScheduleResult(schedule)
    _create_missing_days(schedule, local_today(market, now), result)
    if not result.created and not _wanted_dates(schedule, local_today(market, now)):
        raise MarketError(str(_l("This rule gives no market days in the next %(n)s weeks.", n=weeks_ahead)),
                          field="kind")
    return result


def _create_missing_days(schedule: MarketSchedule, today: date, result: ScheduleResult) -> None:
    wanted = _wanted_dates(schedule, today)
    if not wanted:
        return
    existing = set(db.session.scalars(select(MarketDay.date).where(
        MarketDay.market_id == schedule.market_id, MarketDay.date.in_(wanted))))
    for day in wanted:
        if day not in existing:
            create_market_day(schedule.market, day, schedule.opens_local, schedule.closes_local,
                              schedule_id=schedule.id, slot_minutes=schedule.slot_minutes,
                              slot_capacity=schedule.slot_capacity)
            result.created.append(day)


def extend_schedule(actor: User | None, schedule: MarketSchedule, now: datetime | None = None) -> ScheduleResult:
    """Add the days the rule gives up to `weeks_ahead` from today (run weekly to keep the horizon)."""
    _require_manager(actor, schedule.market)
    result = ScheduleResult(schedule)
    _create_missing_days(schedule, local_today(schedule.market, now), result)
    return result


def update_schedule(actor: User | None, schedule: MarketSchedule, rrule: str, opens_local: time,
                    closes_local: time, *, weeks_ahead: int, slot_minutes: int, slot_capacity: int,
                    now: datetime | None = None) -> ScheduleResult:
    """Change a rule and regenerate its future days; a day with orders is never deleted or changed."""
    market = schedule.market
    _require_manager(actor, market)
    _check_schedule(rrule, opens_local, closes_local, weeks_ahead, slot_minutes, slot_capacity)
    schedule.rrule = validate_rrule(rrule)
    schedule.opens_local, schedule.closes_local = opens_local, closes_local
    schedule.weeks_ahead, schedule.slot_minutes, schedule.slot_capacity = weeks_ahead, slot_minutes, slot_capacity
    today = local_today(market, now)
    wanted = set(_wanted_dates(schedule, today))
    result = ScheduleResult(schedule)
    future = list(db.session.scalars(select(MarketDay).where(
        MarketDay.schedule_id == schedule.id, MarketDay.date > today,
        MarketDay.status == MarketDayStatus.SCHEDULED).order_by(MarketDay.date)))
    with_orders = _days_with_orders([d.id for d in future])
    for market_day in future:
        if market_day.id in with_orders:
            if market_day.date not in wanted or not _has_hours(market_day, opens_local, closes_local):
                result.kept_with_orders.append(market_day.date)
        elif market_day.date in wanted:
            _regenerate_day(market_day, schedule)
            result.updated.append(market_day.date)
        elif _delete_day_without_orders(market_day):
            result.removed.append(market_day.date)
        else:
            result.kept_with_orders.append(market_day.date)
    db.session.flush()
    _create_missing_days(schedule, today, result)
    return result


def _has_hours(market_day: MarketDay, opens_local: time, closes_local: time) -> bool:
    tz = market_day.market.timezone
    return (market_day.opens_at == local_instant(market_day.date, opens_local, tz)
            and market_day.closes_at == local_instant(market_day.date, closes_local, tz))


def _days_with_orders(day_ids: list[int]) -> set[int]:
    """Ids of these days that any order (in any state) holds a slot of."""
    if not day_ids:
        return set()
    return set(db.session.scalars(select(PickupSlot.market_day_id).where(
        PickupSlot.market_day_id.in_(day_ids), PickupSlot.used).distinct()))


def _regenerate_day(market_day: MarketDay, schedule: MarketSchedule) -> None:
    """New hours, ordering window and slots for a day without orders."""
    market = schedule.market
    market_day.opens_at = local_instant(market_day.date, schedule.opens_local, market.timezone)
    market_day.closes_at = local_instant(market_day.date, schedule.closes_local, market.timezone)
    market_day.ordering_opens_at, market_day.cutoff_at = ordering_window(market, market_day.date)
    db.session.execute(delete(PickupSlot).where(PickupSlot.market_day_id == market_day.id)
                       .execution_options(synchronize_session=False))
    db.session.expire(market_day, ["slots"])
    for start, end in _slot_bounds(market_day.opens_at, market_day.closes_at, schedule.slot_minutes):
        db.session.add(PickupSlot(market_day_id=market_day.id, starts_at=start, ends_at=end,
                                  capacity=schedule.slot_capacity))


def _delete_day_without_orders(market_day: MarketDay) -> bool:
    """Remove a day nobody ordered for; False (and nothing removed) if an order arrived meanwhile.

    Producers remove what they planned to bring (`market_day_deleting`); the slots go with the
    day (ON DELETE CASCADE). Stock still reserved, or a checkout committing an order for this
    day in the meantime, holds the day by a foreign key: the DELETE fails in its savepoint
    and the day simply stays.
    """
    day_id = market_day.id
    if _days_with_orders([day_id]):
        return False
    try:
        with db.session.begin_nested():
            market_day_deleting.send(market_day)
            db.session.execute(delete(MarketDay).where(MarketDay.id == day_id)
                               .execution_options(synchronize_session=False))
    except IntegrityError:
        return False
    db.session.expunge(market_day)
    return True


# --- Single market days -------------------------------------------------------------

def create_one_off_day(actor: User | None, market: Market, day: date, opens_local: time, closes_local: time, *,
                       title: str = "", slot_minutes: int = 30, slot_capacity: int = 20,
                       now: datetime | None = None) -> MarketDay:
    """A market day outside any rule, e.g. a trade fair with a title of its own."""
    _require_manager(actor, market)
    _check_hours(opens_local, closes_local)
    _check_slot_template(slot_minutes, slot_capacity, opens_local, closes_local)
    if day <= local_today(market, now):
        raise MarketError(str(_l("Choose a date after today.")), field="date")
    if db.session.scalar(select(MarketDay.id).where(MarketDay.market_id == market.id, MarketDay.date == day)):
        raise MarketError(str(_l("This market already has a day on that date.")), field="date")
    try:
        # The last day of the calendar west of UTC ends after the last UTC date there is.
        local_instant(day, closes_local, market.timezone)
    except OverflowError:
        raise MarketError(str(_l("Enter a date.")), field="date") from None
    return create_market_day(market, day, opens_local, closes_local, slot_minutes=slot_minutes,
                             slot_capacity=slot_capacity, title=(title or "").strip())


def _utc_of_local(value: datetime, tz: ZoneInfo, field: str) -> datetime:
    # A wall-clock time at the very ends of the calendar (year 1, year 9999) has no UTC date.
    try:
        return value.replace(tzinfo=tz).astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise MarketError(str(_l("Enter a date.")), field=field) from None


def update_market_day(actor: User | None, market_day: MarketDay, *, opens_local: time, closes_local: time,
                      ordering_opens_local: datetime, cutoff_local: datetime, title: str = "") -> MarketDay:
    """New hours and ordering window (local wall-clock times, stored as UTC) for one day."""
    market = market_day.market
    _require_manager(actor, market)
    if market_day.status != MarketDayStatus.SCHEDULED:
        raise InvalidState(str(_l("Only a scheduled market day can be changed.")))
    _check_hours(opens_local, closes_local)
    tz = ZoneInfo(market.timezone)
    opens_at = local_instant(market_day.date, opens_local, market.timezone)
    closes_at = local_instant(market_day.date, closes_local, market.timezone)
    ordering_opens_at = _utc_of_local(ordering_opens_local, tz, "ordering_opens_local")
    cutoff_at = _utc_of_local(cutoff_local, tz, "cutoff_local")
    if cutoff_at <= ordering_opens_at:
        raise MarketError(str(_l("The cutoff must come after ordering opens.")), field="cutoff_local")
    if cutoff_at > opens_at:
        raise MarketError(str(_l("The cutoff must be no later than the market opens.")), field="cutoff_local")
    market_day.opens_at, market_day.closes_at = opens_at, closes_at
    market_day.ordering_opens_at, market_day.cutoff_at = ordering_opens_at, cutoff_at
    market_day.title = (title or "").strip()
    db.session.flush()
    return market_day


def close_day(market_day: MarketDay) -> bool:
    """scheduled -> closed, once its orders are settled (the pickup point's close-market-day);
    False when it was closed already or is not scheduled."""
    closed = db.session.execute(
        update(MarketDay).where(MarketDay.id == market_day.id, MarketDay.status == MarketDayStatus.SCHEDULED)
        .values(status=MarketDayStatus.CLOSED).execution_options(synchronize_session=False))
    db.session.refresh(market_day)
    return closed.rowcount == 1


def cancel_market_day(actor: User | None, market_day: MarketDay, reason: str,
                      now: datetime | None = None) -> MarketDay:
    """Cancel a day, tell its approved vendors, and signal orders and payments to finish the job.

    Safe to run again: the status changes once (conditional UPDATE), each vendor email has
    a dedupe key, and the signal is sent on every run so that receivers (idempotent
    themselves) complete whatever a crashed earlier run left undone.
    """
    market = market_day.market
    _require_manager(actor, market)
    reason = (reason or "").strip()
    now = now or utcnow()
    if market_day.status == MarketDayStatus.SCHEDULED:
        if not reason:
            raise MarketError(str(_l("Tell people why the market day is cancelled.")), field="reason")
        if market_day.closes_at <= now:
            raise InvalidState(str(_l("This market day is over; it cannot be cancelled.")))
    db.session.execute(
        update(MarketDay)
        .where(MarketDay.id == market_day.id, MarketDay.status == MarketDayStatus.SCHEDULED)
        .values(status=MarketDayStatus.CANCELLED, cancel_reason=reason[:255], cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(market_day)
    if market_day.status != MarketDayStatus.CANCELLED:
        raise InvalidState(str(_l("This market day is closed; it cannot be cancelled.")))
    _email_vendors_day_cancelled(market_day)
    market_day_cancelled.send(market_day, actor=actor)
    db.session.flush()
    return market_day


def finish_cancellation(actor: User | None, market_day: MarketDay, *, wait: bool = False) -> list:
    """After the cancelling commit (and on every rerun): the features above finish what cannot
    be part of that transaction, the card money above all (see `market_day_cancel_committed`).
    With `wait` the work is done here and its reports are returned; else it is queued."""
    _require_manager(actor, market_day.market)
    if market_day.status != MarketDayStatus.CANCELLED:
        raise InvalidState(str(_l("This market day is not cancelled.")))
    # The cancellation is committed; end the caller's transaction so that a job running here
    # (a queue in immediate mode) never waits on a lock the caller still holds.
    market_day_id = market_day.id
    if not wait:
        db.session.rollback()
    results = market_day_cancel_committed.send(market_day, market_day_id=market_day_id, actor=actor, wait=wait)
    return [report for _receiver, report in results if report is not None]


def _email_vendors_day_cancelled(market_day: MarketDay) -> None:
    vendors = db.session.scalars(
        select(Vendor).where(Vendor.market_id == market_day.market_id, Vendor.status == VendorStatus.APPROVED)
        .options(joinedload(Vendor.producer), joinedload(Vendor.owner))
    ).all()
    for vendor in vendors:
        user = vendor.owner
        queue_email(user.email, "market_day_cancelled_producer",
                    _l("%(market)s on %(date)s is cancelled", market=market_day.market.name,
                       date=DayText(market_day.date)),
                    locale=user.locale, dedupe_key=f"day-cancelled-{market_day.id}-producer-{vendor.producer_id}",
                    user=user, producer=vendor.producer, market=market_day.market, market_day=market_day)


# --- Pickup slots -----------------------------------------------------------------

def generate_slots(actor: User | None, market_day: MarketDay, start_local: time, end_local: time,
                   slot_minutes: int, capacity: int) -> list[PickupSlot]:
    """Replace the day's slots by evenly spaced ones; slots holding orders stay and are not overlapped."""
    market = market_day.market
    _require_manager(actor, market)
    if market_day.status != MarketDayStatus.SCHEDULED:
        raise InvalidState(str(_l("Only a scheduled market day can be changed.")))
    if end_local <= start_local:
        raise MarketError(str(_l("The last slot must end after the first starts.")), field="end_local")
    _check_slot_template(slot_minutes, capacity, start_local, end_local)
    start_at = local_instant(market_day.date, start_local, market.timezone)
    end_at = local_instant(market_day.date, end_local, market.timezone)
    db.session.execute(
        delete(PickupSlot)
        .where(PickupSlot.market_day_id == market_day.id, PickupSlot.reserved == 0, ~PickupSlot.used)
        .execution_options(synchronize_session=False)
    )
    kept = list(db.session.scalars(select(PickupSlot).where(PickupSlot.market_day_id == market_day.id)))
    created = []
    for start, end in _slot_bounds(start_at, end_at, slot_minutes):
        if any(start < slot.ends_at and slot.starts_at < end for slot in kept):
            continue
        slot = PickupSlot(market_day_id=market_day.id, starts_at=start, ends_at=end, capacity=capacity)
        db.session.add(slot)
        created.append(slot)
    db.session.flush()
    db.session.expire(market_day, ["slots"])
    return created


def set_slot_capacity(actor: User | None, slot: PickupSlot, capacity: int) -> PickupSlot:
    """Change a slot's capacity; refused below the orders it already holds (one conditional UPDATE)."""
    _require_manager(actor, slot.market_day.market)
    if not 0 <= capacity <= MAX_SLOT_CAPACITY:
        raise MarketError(str(_l("Enter a capacity between 0 and %(n)s.", n=MAX_SLOT_CAPACITY)), field="capacity")
    result = db.session.execute(
        update(PickupSlot).where(PickupSlot.id == slot.id, PickupSlot.reserved <= capacity)
        .values(capacity=capacity).execution_options(synchronize_session=False)
    )
    db.session.refresh(slot)
    if result.rowcount != 1:
        raise CapacityBelowReserved(
            str(_l("This slot already holds %(n)s orders; its capacity cannot be lower.", n=slot.reserved)),
            field="capacity", reserved=slot.reserved)
    return slot


def delete_slot(actor: User | None, slot: PickupSlot) -> None:
    """Remove a slot that no order has ever used."""
    _require_manager(actor, slot.market_day.market)
    result = db.session.execute(
        delete(PickupSlot).where(PickupSlot.id == slot.id, PickupSlot.reserved == 0, ~PickupSlot.used)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise MarketError(str(_l("This slot has orders; it cannot be removed.")))
    db.session.expunge(slot)


class SlotErrors(MarketError):
    """Messages per slot id for the one slot form; nothing was saved."""

    def __init__(self, errors: dict[int, str]):
        super().__init__(str(_l("Nothing was saved: correct the slots marked below.")))
        self.errors = errors


def save_slots(actor: User | None, market_day: MarketDay, capacities: dict[int, int | None],
               remove: set[int]) -> int:
    """Every slot of the day in one go: new capacities, and slots to remove; all or nothing.

    A capacity below the orders a slot holds, or removing a slot that was ever used, is refused
    for that slot (each by its own conditional statement, so a checkout a moment ago counts).
    The caller rolls back on SlotErrors. Returns how many slots changed.
    """
    _require_manager(actor, market_day.market)
    slots = {slot.id: slot for slot in market_day.slots}
    if not set(capacities) | remove <= set(slots):
        raise NotFound()
    errors: dict[int, str] = {}
    changed = 0
    for slot_id in sorted(set(capacities) | remove):
        slot = slots[slot_id]
        if slot_id in remove:
            result = db.session.execute(
                delete(PickupSlot).where(PickupSlot.id == slot_id, PickupSlot.reserved == 0, ~PickupSlot.used)
                .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                errors[slot_id] = str(_l("This slot has orders; it cannot be removed."))
            else:
                changed += 1
            continue
        capacity = capacities[slot_id]
        if capacity is None or not 0 <= capacity <= MAX_SLOT_CAPACITY:
            errors[slot_id] = str(_l("Enter a capacity between 0 and %(n)s.", n=MAX_SLOT_CAPACITY))
            continue
        if capacity == slot.capacity:
            continue
        result = db.session.execute(
            update(PickupSlot).where(PickupSlot.id == slot_id, PickupSlot.reserved <= capacity)
            .values(capacity=capacity).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            errors[slot_id] = str(_l("This slot already holds %(n)s orders; its capacity cannot be lower.",
                                     n=slot.reserved))
        else:
            changed += 1
    if errors:
        raise SlotErrors(errors)
    db.session.flush()
    db.session.expire(market_day, ["slots"])
    return changed


# --- Vendors ----------------------------------------------------------------------

class VendorAction(str, enum.Enum):
    APPROVE = "approve"
    REJECT = "reject"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"


#: action -> (states it may start from, resulting state, reason required)
VENDOR_TRANSITIONS = {
    VendorAction.APPROVE: ({VendorStatus.APPLIED, VendorStatus.REJECTED}, VendorStatus.APPROVED, False),
    VendorAction.REJECT: ({VendorStatus.APPLIED}, VendorStatus.REJECTED, True),
    VendorAction.SUSPEND: ({VendorStatus.APPROVED}, VendorStatus.SUSPENDED, True),
    VendorAction.REINSTATE: ({VendorStatus.SUSPENDED}, VendorStatus.APPROVED, False),
}


def decide_vendor(actor: User | None, vendor: Vendor, action: VendorAction | str, *, reason: str = "",
                  stall: str | None = None, now: datetime | None = None) -> Vendor:
    """Approve, reject, suspend or reinstate a vendor and email the producer once."""
    _require_manager(actor, vendor.market)
    try:
        action = VendorAction(action)
    except ValueError:
        raise MarketError(str(_l("Unknown action."))) from None
    allowed_from, new_status, reason_required = VENDOR_TRANSITIONS[action]
    reason = (reason or "").strip()[:255]
    if reason_required and not reason:
        raise MarketError(str(_l("Tell the producer why.")), field="reason")
    values = dict(status=new_status, decision_reason=reason, decided_at=now or utcnow(),
                  decided_by_id=actor.id if actor is not None else None)
    if stall is not None:
        values["stall"] = stall.strip()[:60]
    # The state check is in the UPDATE itself: two organizers clicking at once change it once.
    result = db.session.execute(
        update(Vendor).where(Vendor.id == vendor.id, Vendor.status.in_(allowed_from))
        .values(**values).execution_options(synchronize_session=False)
    )
    db.session.refresh(vendor)
    if result.rowcount != 1:
        raise InvalidState(str(_l("This application is %(status)s; that is not possible now.",
                                  status=vendor_status_label(vendor.status))))
    _email_vendor_decision(vendor, action)
    return vendor


def set_stall(actor: User | None, vendor: Vendor, stall: str) -> Vendor:
    """The stall number or place of a vendor at the market."""
    _require_manager(actor, vendor.market)
    vendor.stall = (stall or "").strip()[:60]
    db.session.flush()
    return vendor


VENDOR_STATUS_LABELS = {
    VendorStatus.APPLIED: _l("applied"),
    VendorStatus.APPROVED: _l("approved"),
    VendorStatus.REJECTED: _l("rejected"),
    VendorStatus.SUSPENDED: _l("suspended"),
}


def vendor_status_label(status: VendorStatus) -> str:
    return str(VENDOR_STATUS_LABELS.get(status, status.value))


def _vendor_subject(action: VendorAction, market_name: str):
    # Lazy, so the subject is rendered in the producer's language by queue_email.
    if action == VendorAction.APPROVE:
        return _l("You can sell at %(market)s", market=market_name)
    if action == VendorAction.REJECT:
        return _l("Your application to %(market)s", market=market_name)
    if action == VendorAction.SUSPEND:
        return _l("Your stall at %(market)s is suspended", market=market_name)
    return _l("You can sell at %(market)s again", market=market_name)


def _email_vendor_decision(vendor: Vendor, action: VendorAction) -> None:
    user = vendor.producer.user
    # The decision time makes the key unique per decision, and the same on a retried send.
    key = f"vendor-{vendor.id}-{action.value}-{vendor.decided_at.isoformat()}"
    queue_email(user.email, "vendor_decision", _vendor_subject(action, vendor.market.name),
                locale=user.locale, dedupe_key=key, user=user, vendor=vendor, market=vendor.market,
                action=action.value)


