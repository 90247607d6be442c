"""Recurring rules, market days and the ordering window, in a zone with daylight saving time."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from marketplace.core.errors import NotAllowed
from marketplace.core.extensions import db
from marketplace.markets import services
from marketplace.markets.models import MarketDay, MarketDayStatus, PickupSlot
from tests.factories import MarketFactory, UserFactory
from tests.markets.conftest import place_order, utc

BERLIN = ZoneInfo("Europe/Berlin")


def local(instant):
    return instant.astimezone(BERLIN)


def days_of(market):
    return list(db.session.scalars(select(MarketDay).where(MarketDay.market_id == market.id)
                                   .order_by(MarketDay.date)))


def test_weekly_rule_across_spring_dst_change_keeps_local_opening_time(organized):
    market, organizer = organized
    # Berlin moves from CET (UTC+1) to CEST (UTC+2) on Sunday 28 March 2027.
    result = services.create_schedule(organizer, market, "FREQ=WEEKLY;BYDAY=SA", time(8, 0), time(13, 0),
                                       weeks_ahead=5, slot_minutes=60, slot_capacity=10,
                                       now=utc(2027, 3, 10, 12, 0))
    db.session.commit()
    assert result.created == [date(2027, 3, 13), date(2027, 3, 20), date(2027, 3, 27), date(2027, 4, 3),
                              date(2027, 4, 10)]
    days = days_of(market)
    before, after = days[2], days[3]
    assert local(before.opens_at).time() == local(after.opens_at).time() == time(8, 0)
    assert local(before.closes_at).time() == local(after.closes_at).time() == time(13, 0)
    assert before.opens_at == utc(2027, 3, 27, 7, 0)
    assert after.opens_at == utc(2027, 4, 3, 6, 0)
    # The cutoff is the evening before, 20:00 local, on both sides of the change.
    assert before.cutoff_at == utc(2027, 3, 26, 19, 0)
    assert after.cutoff_at == utc(2027, 4, 2, 18, 0)
    # Ordering opens six days before at 08:00 local: for 3 April that is 28 March, the day of the change.
    assert after.ordering_opens_at == utc(2027, 3, 28, 6, 0)
    assert [local(s.starts_at).time() for s in after.slots] == [time(h, 0) for h in range(8, 13)]


def test_weekly_rule_across_autumn_dst_change(organized):
    market, organizer = organized
    # Back to CET on Sunday 31 October 2027; a Sunday market on that very day.
    services.create_schedule(organizer, market, "FREQ=WEEKLY;BYDAY=SU", time(9, 0), time(14, 0),
                             weeks_ahead=3, now=utc(2027, 10, 20, 12, 0))
    db.session.commit()
    days = {d.date: d for d in days_of(market)}
    change_day, before = days[date(2027, 10, 31)], days[date(2027, 10, 24)]
    assert before.opens_at == utc(2027, 10, 24, 7, 0)
    assert change_day.opens_at == utc(2027, 10, 31, 8, 0)
    assert local(change_day.opens_at).time() == time(9, 0)
    # Cutoff on Saturday 30 October 20:00 CEST = 18:00 UTC, the last evening of summer time.
    assert change_day.cutoff_at == utc(2027, 10, 30, 18, 0)
    assert days[date(2027, 11, 7)].cutoff_at == utc(2027, 11, 6, 19, 0)


def test_cutoff_is_enforced_to_the_second_across_the_change(organized):
    market, organizer = organized
    services.create_schedule(organizer, market, "FREQ=WEEKLY;BYDAY=SU", time(8, 0), time(12, 0),
                             weeks_ahead=2, now=utc(2027, 3, 20, 12, 0))
    db.session.commit()
    day = next(d for d in days_of(market) if d.date == date(2027, 3, 28))
    cutoff = utc(2027, 3, 27, 19, 0)  # Saturday 20:00 CET
    assert day.cutoff_at == cutoff
    assert services.ordering_state(day, day.ordering_opens_at - timedelta(seconds=1)) == services.OrderingState.NOT_YET_OPEN
    assert services.is_ordering_open(day, day.ordering_opens_at)
    assert services.is_ordering_open(day, cutoff - timedelta(seconds=1))
    assert not services.is_ordering_open(day, cutoff)
    assert services.ordering_state(day, cutoff) == services.OrderingState.CLOSED
    day.status = MarketDayStatus.CANCELLED
    assert services.ordering_state(day, cutoff - timedelta(hours=1)) == services.OrderingState.CANCELLED
    assert not services.is_ordering_open(day, cutoff - timedelta(hours=1))


@pytest.mark.parametrize("kind,weekday,position,expected", [
    ("monthly", "SU", 1, [date(2027, 2, 7), date(2027, 3, 7), date(2027, 4, 4)]),
    ("monthly", "SA", -1, [date(2027, 1, 30), date(2027, 2, 27), date(2027, 3, 27)]),
    ("monthly", "WE", 2, [date(2027, 1, 13), date(2027, 2, 10), date(2027, 3, 10)]),
])
def test_monthly_rules_from_the_simple_form(organized, kind, weekday, position, expected):
    market, organizer = organized
    rule = services.rule_from_choice(kind, weekday, position)
    result = services.create_schedule(organizer, market, rule, time(10, 0), time(16, 0), weeks_ahead=13,
                                      now=utc(2027, 1, 5, 12, 0))
    assert result.created == expected
    assert services.choice_from_rule(rule) == {"kind": kind, "weekday": weekday, "position": position, "raw": rule}


@pytest.mark.parametrize("raw", ["", "FREQ=HOURLY;BYDAY=SA", "FREQ=WEEKLY;BYDAY=XX", "DTSTART:20200101T000000",
                                 "FREQ=WEEKLY;BYHOUR=8", "FREQ=WEEKLY;UNTIL=20270101T000000Z", "rm -rf /",
                                 "FREQ=WEEKLY;" + "BYDAY=SA;" * 40])
def test_bad_raw_rules_are_refused(raw):
    with pytest.raises(services.MarketError) as info:
        services.validate_rrule(raw)
    assert info.value.field == "raw"


def test_raw_rule_every_other_saturday_keeps_its_phase_when_extended(organized):
    market, organizer = organized
    result = services.create_schedule(organizer, market, "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", time(8, 0),
                                      time(12, 0), weeks_ahead=4, now=utc(2027, 5, 3, 9, 0))
    db.session.commit()
    assert result.created == [date(2027, 5, 8), date(2027, 5, 22)]
    # A week later the window starts on another Saturday; the fortnightly rhythm must not shift.
    later = services.extend_schedule(organizer, result.schedule, now=utc(2027, 5, 10, 9, 0))
    assert later.created == [date(2027, 6, 5)]


def test_generation_skips_dates_that_already_have_a_day(organized):
    market, organizer = organized
    fair = services.create_one_off_day(organizer, market, date(2027, 6, 12), time(10, 0), time(18, 0),
                                       title="Organic fair", now=utc(2027, 6, 1, 8, 0))
    result = services.create_schedule(organizer, market, "FREQ=WEEKLY;BYDAY=SA", time(8, 0), time(13, 0),
                                      weeks_ahead=3, now=utc(2027, 6, 1, 8, 0))
    db.session.commit()
    assert result.created == [date(2027, 6, 5), date(2027, 6, 19)]
    db.session.refresh(fair)
    assert fair.title == "Organic fair" and fair.schedule_id is None
    assert local(fair.opens_at).time() == time(10, 0)


def test_one_off_day_refuses_past_dates_and_duplicates(organized):
    market, organizer = organized
    now = utc(2027, 6, 1, 8, 0)
    with pytest.raises(services.MarketError) as info:
        services.create_one_off_day(organizer, market, date(2027, 6, 1), time(10, 0), time(18, 0), now=now)
    assert info.value.field == "date"
    services.create_one_off_day(organizer, market, date(2027, 6, 12), time(10, 0), time(18, 0), now=now)
    with pytest.raises(services.MarketError):
        services.create_one_off_day(organizer, market, date(2027, 6, 12), time(9, 0), time(11, 0), now=now)
    with pytest.raises(services.MarketError) as info:
        services.create_one_off_day(organizer, market, date(2027, 6, 13), time(18, 0), time(10, 0), now=now)
    assert info.value.field == "closes_local"


def test_editing_a_rule_never_deletes_a_day_with_orders(organized):
    market, organizer = organized
    now = utc(2027, 6, 1, 8, 0)
    result = services.create_schedule(organizer, market, "FREQ=WEEKLY;BYDAY=SA", time(8, 0), time(13, 0),
                                      weeks_ahead=3, slot_minutes=60, now=now)
    db.session.commit()
    with_order, without_order = days_of(market)[0], days_of(market)[1]
    order = place_order(with_order)

    changed = services.update_schedule(organizer, result.schedule, "FREQ=WEEKLY;BYDAY=SU", time(9, 0),
                                       time(12, 0), weeks_ahead=3, slot_minutes=30, slot_capacity=5, now=now)
    db.session.commit()
    assert changed.kept_with_orders == [with_order.date]
    assert sorted(changed.removed) == [without_order.date, date(2027, 6, 19)]
    assert changed.created == [date(2027, 6, 6), date(2027, 6, 13), date(2027, 6, 20)]
    remaining = {d.date: d for d in days_of(market)}
    kept = remaining[with_order.date]
    assert kept.id == order.market_day_id
    assert local(kept.opens_at).time() == time(8, 0)  # untouched: customers were told 08:00
    assert len(kept.slots) == 5 and kept.slots[0].reserved == 1
    sunday = remaining[date(2027, 6, 6)]
    assert local(sunday.opens_at).time() == time(9, 0)
    assert [s.capacity for s in sunday.slots] == [5] * 6


def test_editing_hours_updates_days_without_orders_in_place(organized):
    market, organizer = organized
    now = utc(2027, 6, 1, 8, 0)
    result = services.create_schedule(organizer, market, "FREQ=WEEKLY;BYDAY=SA", time(8, 0), time(13, 0),
                                      weeks_ahead=2, now=now)
    db.session.commit()
    first_ids = [d.id for d in days_of(market)]
    place_order(days_of(market)[0])
    changed = services.update_schedule(organizer, result.schedule, "FREQ=WEEKLY;BYDAY=SA", time(7, 0),
                                       time(11, 0), weeks_ahead=2, slot_minutes=60, slot_capacity=8, now=now)
    db.session.commit()
    assert changed.kept_with_orders == [date(2027, 6, 5)]
    assert changed.updated == [date(2027, 6, 12)] and changed.created == [] and changed.removed == []
    days = days_of(market)
    assert [d.id for d in days] == first_ids
    assert local(days[1].opens_at).time() == time(7, 0)
    assert [local(s.starts_at).time() for s in days[1].slots] == [time(7), time(8), time(9), time(10)]


def test_rule_that_gives_no_day_is_refused(organized):
    market, organizer = organized
    with pytest.raises(services.MarketError):
        services.create_schedule(organizer, market, "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", time(8, 0),
                                 time(9, 0), weeks_ahead=4, now=utc(2027, 6, 1, 8, 0))


def test_too_many_slots_are_refused(organized):
    market, organizer = organized
    with pytest.raises(services.MarketError) as info:
        services.create_schedule(organizer, market, "FREQ=DAILY", time(0, 0), time(23, 59), weeks_ahead=4,
                                 slot_minutes=5, now=utc(2027, 6, 1, 8, 0))
    assert info.value.field == "slot_minutes"


def test_another_organizer_cannot_schedule(organized):
    market, _ = organized
    stranger = UserFactory(roles=["organizer"])
    with pytest.raises(NotAllowed):
        services.create_schedule(stranger, market, "FREQ=WEEKLY;BYDAY=SA", time(8, 0), time(13, 0))


def test_edit_one_day_in_local_time_stores_utc(organized):
    market, organizer = organized
    day = services.create_one_off_day(organizer, market, date(2027, 3, 28), time(10, 0), time(16, 0),
                                      now=utc(2027, 3, 1, 8, 0))
    services.update_market_day(organizer, day, opens_local=time(9, 0), closes_local=time(15, 0),
                               ordering_opens_local=datetime(2027, 3, 20, 8, 0),
                               cutoff_local=datetime(2027, 3, 27, 18, 0), title="Spring fair")
    db.session.commit()
    assert day.opens_at == utc(2027, 3, 28, 7, 0)  # CEST
    assert day.ordering_opens_at == utc(2027, 3, 20, 7, 0)  # CET
    assert day.cutoff_at == utc(2027, 3, 27, 17, 0)
    with pytest.raises(services.MarketError) as info:
        services.update_market_day(organizer, day, opens_local=time(9, 0), closes_local=time(15, 0),
                                   ordering_opens_local=datetime(2027, 3, 20, 8, 0),
                                   cutoff_local=datetime(2027, 3, 28, 10, 0))
    assert info.value.field == "cutoff_local"
    with pytest.raises(services.MarketError):
        services.update_market_day(organizer, day, opens_local=time(9, 0), closes_local=time(15, 0),
                                   ordering_opens_local=datetime(2027, 3, 27, 8, 0),
                                   cutoff_local=datetime(2027, 3, 26, 10, 0))


def test_demo_style_generation_still_works(ctx):
    market = MarketFactory(timezone="Asia/Bishkek")
    days = services.occurrences("FREQ=WEEKLY;BYDAY=SA", date(2027, 1, 1), date(2027, 1, 31))
    assert days == [date(2027, 1, 2), date(2027, 1, 9), date(2027, 1, 16), date(2027, 1, 23), date(2027, 1, 30)]
    day = services.create_market_day(market, days[0], time(9, 0), time(15, 0), slot_minutes=90)
    db.session.commit()
    assert day.opens_at == datetime(2027, 1, 2, 3, 0, tzinfo=timezone.utc)
    assert db.session.scalar(select(PickupSlot.id).where(PickupSlot.market_day_id == day.id)) is not None
    assert len(day.slots) == 4


def test_a_day_whose_stock_is_being_reserved_is_kept(organized):
    """A checkout holding stock on a day (its order not yet visible) keeps the day from removal."""
    from tests.factories import OfferFactory

    market, organizer = organized
    now = utc(2027, 6, 1, 8, 0)
    result = services.create_schedule(organizer, market, "FREQ=WEEKLY;BYDAY=SA", time(8, 0), time(13, 0),
                                      weeks_ahead=2, now=now)
    db.session.commit()
    busy = days_of(market)[0]
    OfferFactory(market_day=busy, reserved_milli=1000)
    changed = services.update_schedule(organizer, result.schedule, "FREQ=WEEKLY;BYDAY=SU", time(8, 0),
                                       time(13, 0), weeks_ahead=2, slot_minutes=30, slot_capacity=20, now=now)
    db.session.commit()
    assert changed.kept_with_orders == [busy.date] and changed.removed == [date(2027, 6, 12)]
    assert db.session.get(MarketDay, busy.id) is not None
