"""A market day at the pickup point: an organizer, two producers, orders placed through the services."""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta, timezone

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.orders import services
from marketplace.orders.models import Order, PaymentMethod
from marketplace.producers.models import StockMode
from tests.factories import (
    MarketDayFactory,
    OfferFactory,
    ProducerFactory,
    ProductFactory,
    UserFactory,
    VendorFactory,
    add_organizer,
)


class Day:
    """A market day (by default 3 days ahead; `days_ago` puts it in the past, its orders placed
    back then) with its organizer, a farm (potatoes, honey by weight) and a felt workshop
    (standing stock)."""

    def __init__(self, days_ago: int | None = None, market=None):
        if days_ago is None:
            self.day = MarketDayFactory(**({"market": market} if market else {}))
            self.placed_at = None
        else:
            date = (datetime.now(timezone.utc) - timedelta(days=days_ago)).date()
            opens = datetime.combine(date, time(3, 0), tzinfo=timezone.utc)
            self.day = MarketDayFactory(date=date, **({"market": market} if market else {}))
            self.placed_at = opens - timedelta(days=1)
        self.market = self.day.market
        self.organizer = UserFactory(name="Nurlan Organizer", roles=[Role.ORGANIZER])
        add_organizer(self.market, self.organizer)
        self.farm = ProducerFactory(name="Green Farm")
        self.crafts = ProducerFactory(name="Felt Workshop")
        VendorFactory(market=self.market, producer=self.farm)
        VendorFactory(market=self.market, producer=self.crafts)
        self.potatoes = ProductFactory(producer=self.farm, name="Potatoes", price_minor=20000)
        self.honey = ProductFactory(producer=self.farm, name="Honey", price_minor=300000, sold_by_weight=True)
        self.slippers = ProductFactory(producer=self.crafts, name="Slippers", unit="piece", price_minor=500000,
                                       stock_mode=StockMode.INVENTORY, inventory_milli=5000)
        self.potato_offer = OfferFactory(product=self.potatoes, market_day=self.day, quantity_milli=100_000)
        self.honey_offer = OfferFactory(product=self.honey, market_day=self.day, quantity_milli=100_000)
        self.slots = sorted(self.day.slots, key=lambda s: s.starts_at)
        db.session.commit()

    def order(self, items: dict | None = None, *, customer=None, slot=None, name="Aigul Customer") -> Order:
        """A cash order (2 kg potatoes and 1 pair of slippers unless told)."""
        items = items if items is not None else {self.potatoes: 2000, self.slippers: 1000}
        order = services.place_order(customer or UserFactory(name=name), self.day.id,
                                     {p.id: q for p, q in items.items()}, slot_id=(slot or self.slots[0]).id,
                                     payment_method=PaymentMethod.CASH, phone="+7 701 000 00 00",
                                     idempotency_key=uuid.uuid4().hex, now=self.placed_at)
        db.session.commit()
        return order

    def after_pickup(self, order: Order, minutes: int = 31) -> datetime:
        """An instant past the order's slot end plus the grace period."""
        return order.pickup_slot.ends_at + timedelta(minutes=minutes)
