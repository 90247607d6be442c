"""Set-ups shared by the order tests (they commit, like the factories)."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.markets.models import PickupSlot
from marketplace.orders import queue_committed_confirmations, services
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from marketplace.producers.models import Offer, Product, StockMode
from tests.factories import (
    MarketDayFactory,
    OfferFactory,
    ProducerFactory,
    ProductFactory,
    UserFactory,
    VendorFactory,
)


class World:
    """A market day open for orders with two producers: per-day potatoes (by kg, whole),
    per-day honey by weight with a day price, and one producer's standing-stock felt slippers."""

    def __init__(self, slot_capacity: int = 20, stock_milli: int = 10_000):
        self.day = MarketDayFactory(slots__capacity=slot_capacity)
        self.market = self.day.market
        self.farm = ProducerFactory(name="Green Farm")
        self.crafts = ProducerFactory(name="Felt Workshop")
        VendorFactory(market=self.market, producer=self.farm)
        VendorFactory(market=self.market, producer=self.crafts)
        self.potatoes = ProductFactory(producer=self.farm, name="Potatoes", price_minor=20000)
        self.honey = ProductFactory(producer=self.farm, name="Honey", price_minor=300000, sold_by_weight=True)
        self.slippers = ProductFactory(producer=self.crafts, name="Slippers", unit="piece", price_minor=500000,
                                       stock_mode=StockMode.INVENTORY, inventory_milli=5000)
        self.potato_offer = OfferFactory(product=self.potatoes, market_day=self.day, quantity_milli=stock_milli)
        self.honey_offer = OfferFactory(product=self.honey, market_day=self.day, quantity_milli=stock_milli,
                                        price_minor=250000)
        self.slots = sorted(self.day.slots, key=lambda s: s.starts_at)
        self.slot = self.slots[0]
        self.customer = UserFactory()
        db.session.commit()


def place(world: World, items: dict, *, customer=None, slot=None, method=PaymentMethod.CASH, key=None,
          now=None) -> Order:
    order = services.place_order(customer or world.customer, world.day.id,
                                 {p.id if hasattr(p, "id") else p: q for p, q in items.items()},
                                 slot_id=(slot or world.slot).id, payment_method=method, phone="+7 701 000 00 00",
                                 idempotency_key=key or uuid.uuid4().hex, now=now)
    db.session.commit()
    order_id = order.id
    queue_committed_confirmations()  # as the request's end does: the confirmation (the queue runs it at once)
    return db.session.get(Order, order_id)


def reserved(offer_or_product) -> int:
    db.session.expire_all()
    if isinstance(offer_or_product, Offer):
        return db.session.get(Offer, offer_or_product.id).reserved_milli
    return db.session.get(Product, offer_or_product.id).inventory_reserved_milli


def slot_reserved(slot) -> int:
    db.session.expire_all()
    return db.session.get(PickupSlot, slot.id).reserved


def set_status(order: Order, status: OrderStatus, **values) -> Order:
    order.status = status
    for key, value in values.items():
        setattr(order, key, value)
    db.session.commit()
    return order


def enable_card(app):
    """Offer the card the way the payments feature will: a receiver of the seam signal."""
    from marketplace.orders.signals import payment_methods_requested

    def _card(market_day, customer=None, **_):
        return services.PaymentChoice(PaymentMethod.CARD, "Card")

    payment_methods_requested.connect(_card)
    return _card


def orders_of_day(day) -> list[Order]:
    db.session.expire_all()
    return list(db.session.scalars(select(Order).where(Order.market_day_id == day.id).order_by(Order.id)))


def past(minutes: int = 1):
    return utcnow() - timedelta(minutes=minutes)
