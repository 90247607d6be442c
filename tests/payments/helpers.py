"""Setting up card orders through the real services."""
from __future__ import annotations

import time
import uuid

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, PaymentMethod
from marketplace.payments import services as payments
from marketplace.producers.models import StockMode, Unit
from tests.factories import (
    MarketDayFactory,
    OfferFactory,
    ProducerFactory,
    ProductFactory,
    UserFactory,
    VendorFactory,
)


def card_order(*, by_weight: bool = True, quantity_milli: int = 2000, price_minor: int = 100_000,
               customer=None, market_day=None) -> Order:
    """A placed card order (pending payment) with one line, its Payment row and PaymentIntent."""
    market_day = market_day or MarketDayFactory()
    producer = ProducerFactory()
    VendorFactory(market=market_day.market, producer=producer)
    product = ProductFactory(producer=producer, unit=Unit.KG if by_weight else Unit.PIECE, sold_by_weight=by_weight,
                             price_minor=price_minor, stock_mode=StockMode.PER_MARKET_DAY)
    OfferFactory(product=product, market_day=market_day, quantity_milli=50_000)
    customer = customer or UserFactory(roles=[Role.CUSTOMER])
    order = orders.place_order(customer, market_day.id, {product.id: quantity_milli},
                               slot_id=market_day.slots[0].id, payment_method=PaymentMethod.CARD,
                               phone="+7 700 000 00 00", idempotency_key=uuid.uuid4().hex)
    payment = payments.open_payment_for(order)
    db.session.commit()
    payments.start_intent(payment)
    db.session.commit()
    return order


def wait_for(predicate, seconds: float = 8.0):
    """Poll until predicate() is truthy (webhooks arrive about a second after the event)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()
