"""Pickup slots: capacity never below what is reserved, removal only when unused."""
import threading
from datetime import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from marketplace.core.extensions import db
from marketplace.markets import services
from marketplace.markets.models import PickupSlot
from tests.factories import MarketDayFactory, UserFactory, add_organizer
from tests.markets.conftest import place_order


@pytest.fixture
def day(ctx):
    organizer = UserFactory(roles=["organizer"])
    day = MarketDayFactory(slots__capacity=5)
    add_organizer(day.market, organizer)
    return day, organizer


def test_capacity_below_reserved_is_refused(day):
    market_day, organizer = day
    slot = market_day.slots[0]
    for _ in range(3):
        place_order(market_day, slot)
    with pytest.raises(services.CapacityBelowReserved) as info:
        services.set_slot_capacity(organizer, slot, 2)
    assert "3" in info.value.message
    db.session.rollback()
    assert db.session.get(PickupSlot, slot.id).capacity == 5
    services.set_slot_capacity(organizer, slot, 3)
    db.session.commit()
    assert db.session.get(PickupSlot, slot.id).capacity == 3
    services.set_slot_capacity(organizer, slot, 40)
    db.session.commit()
    assert db.session.get(PickupSlot, slot.id).capacity == 40


def test_lowering_capacity_while_customers_reserve(app, day):
    """Checkout's conditional UPDATE racing the organizer's: never over capacity, never an IntegrityError."""
    market_day, organizer = day
    slot_id = market_day.slots[0].id
    organizer_id = organizer.id
    db.session.execute(update(PickupSlot).where(PickupSlot.id == slot_id).values(capacity=10))
    db.session.commit()
    outcome = {}
    barrier = threading.Barrier(7)

    def reserve():
        with app.app_context():
            barrier.wait()
            result = db.session.execute(update(PickupSlot).where(
                PickupSlot.id == slot_id, PickupSlot.reserved < PickupSlot.capacity)
                .values(reserved=PickupSlot.reserved + 1))
            db.session.commit()
            outcome.setdefault("reserved", []).append(result.rowcount)

    def lower():
        with app.app_context():
            slot = db.session.get(PickupSlot, slot_id)
            user = db.session.get(type(organizer), organizer_id)
            barrier.wait()
            try:
                services.set_slot_capacity(user, slot, 3)
                db.session.commit()
                outcome["lowered"] = True
            except services.CapacityBelowReserved:
                db.session.rollback()
                outcome["lowered"] = False

    threads = [threading.Thread(target=reserve) for _ in range(6)] + [threading.Thread(target=lower)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.rollback()  # a fresh read (SQLite keeps an open read transaction on its old snapshot)
    slot = db.session.get(PickupSlot, slot_id)
    assert slot.reserved <= slot.capacity
    assert slot.reserved == sum(outcome["reserved"])
    assert slot.capacity == (3 if outcome["lowered"] else 10)


def test_a_slot_with_orders_cannot_be_removed(day):
    market_day, organizer = day
    used, empty = market_day.slots
    place_order(market_day, used)
    with pytest.raises(services.MarketError):
        services.delete_slot(organizer, used)
    services.delete_slot(organizer, empty)
    db.session.commit()
    assert list(db.session.scalars(select(PickupSlot.id).where(PickupSlot.market_day_id == market_day.id))) == [used.id]


def test_a_slot_that_had_a_cancelled_order_stays(day):
    market_day, organizer = day
    slot = market_day.slots[1]
    place_order(market_day, slot, status="cancelled")
    db.session.execute(update(PickupSlot).where(PickupSlot.id == slot.id).values(reserved=0))
    db.session.commit()
    with pytest.raises(services.MarketError):
        services.delete_slot(organizer, slot)


def test_generate_slots_keeps_those_with_orders(day):
    market_day, organizer = day
    tz = ZoneInfo(market_day.market.timezone)
    first = market_day.slots[0]
    place_order(market_day, first)
    start = first.starts_at.astimezone(tz).time()
    created = services.generate_slots(organizer, market_day, start, time(start.hour + 2, start.minute), 20, 7)
    db.session.commit()
    slots = list(db.session.scalars(select(PickupSlot).where(PickupSlot.market_day_id == market_day.id)
                                    .order_by(PickupSlot.starts_at)))
    assert slots[0].id == first.id and slots[0].reserved == 1
    # The first new slot would overlap the kept 30-minute one and is skipped.
    assert len(created) == 4
    assert [s.capacity for s in slots[1:]] == [7] * 4
    assert all(a.ends_at <= b.starts_at for a, b in zip(slots, slots[1:]))


def test_generate_slots_refuses_nonsense(day):
    market_day, organizer = day
    with pytest.raises(services.MarketError):
        services.generate_slots(organizer, market_day, time(12, 0), time(9, 0), 30, 5)
    with pytest.raises(services.MarketError):
        services.generate_slots(organizer, market_day, time(0, 0), time(23, 0), 5, 5)


def test_other_users_cannot_touch_slots(day):
    from marketplace.core.errors import NotAllowed

    market_day, _ = day
    stranger = UserFactory(roles=["organizer"])
    with pytest.raises(NotAllowed):
        services.set_slot_capacity(stranger, market_day.slots[0], 1)
    with pytest.raises(NotAllowed):
        services.delete_slot(stranger, market_day.slots[0])
