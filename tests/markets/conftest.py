"""Helpers for the markets tests: a market with its organizer, orders placed directly as rows."""
from __future__ import annotations

from datetime import datetime, time, timezone

import pytest
from sqlalchemy import update

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.markets.models import PickupSlot
from tests.factories import MarketFactory, UserFactory, add_organizer
from tests.query_counter import count_queries  # noqa: F401 (the markets tests import it from here)


@pytest.fixture
def organized(ctx):
    """(market, its organizer) — a Berlin market, so daylight saving time is in play."""
    organizer = UserFactory(roles=[Role.ORGANIZER])
    market = MarketFactory(timezone="Europe/Berlin", currency="EUR", ordering_opens_days_before=6,
                           cutoff_days_before=1, cutoff_local_time=time(20, 0))
    add_organizer(market, organizer)
    return market, organizer


def place_order(market_day, slot: PickupSlot | None = None, customer=None, status="confirmed"):
    """An order row on a day, holding a place in a slot (as checkout would leave it)."""
    from marketplace.orders.models import Order, OrderStatus, PaymentMethod

    slot = slot or market_day.slots[0]
    customer = customer or UserFactory()
    db.session.execute(update(PickupSlot).where(PickupSlot.id == slot.id).values(reserved=PickupSlot.reserved + 1, used=True))
    order = Order(customer_id=customer.id, market_day_id=market_day.id, pickup_slot_id=slot.id,
                  pickup_code=f"C{slot.id}X{customer.id}", payment_method=PaymentMethod.CASH,
                  status=OrderStatus(status), currency=market_day.market.currency)
    db.session.add(order)
    db.session.commit()
    db.session.refresh(slot)
    return order


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)
