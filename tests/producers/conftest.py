"""A small world for producer tests: our producer selling at one market, a rival, a customer."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from types import SimpleNamespace

import pytest

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.markets.models import MarketDay, VendorStatus
from marketplace.producers.models import StockMode, Unit
from tests.factories import (
    CategoryFactory,
    MarketDayFactory,
    MarketFactory,
    OfferFactory,
    ProducerFactory,
    ProductFactory,
    UserFactory,
    VendorFactory,
)


def day_on(market, days_ahead: int, **kwargs) -> MarketDay:
    day = (datetime.now(timezone.utc) + timedelta(days=days_ahead)).date()
    opens = datetime.combine(day, time(3, 0), tzinfo=timezone.utc)
    return MarketDayFactory(market=market, date=day, opens_at=opens, closes_at=opens + timedelta(hours=5),
                            ordering_opens_at=opens - timedelta(days=30), cutoff_at=opens - timedelta(hours=12),
                            **kwargs)


@pytest.fixture
def shop(app):
    """ids of: producer (owner email), rival producer, customer, market, days, products."""
    with app.app_context():
        vegetables = CategoryFactory(slug="vegetables", name="Vegetables")
        honey = CategoryFactory(slug="honey", name="Honey")
        producer = ProducerFactory(name="Gulnara Farm", user__email="gulnara@example.test")
        rival = ProducerFactory(name="Rival Farm", user__email="rival@example.test")
        customer = UserFactory(email="buyer@example.test")
        organizer = UserFactory(email="org@example.test", roles=[Role.ORGANIZER])
        market = MarketFactory(name="Bazaar")
        other_market = MarketFactory(name="Far Market")
        VendorFactory(market=market, producer=producer, status=VendorStatus.APPROVED)
        VendorFactory(market=market, producer=rival, status=VendorStatus.APPROVED)
        past = day_on(market, -4)
        day1 = day_on(market, 3)
        day2 = day_on(market, 10)
        other_day = day_on(other_market, 3)
        potatoes = ProductFactory(producer=producer, category=vegetables, name="Картофель", unit=Unit.KG,
                                  sold_by_weight=True, price_minor=45000)
        dill = ProductFactory(producer=producer, category=vegetables, name="Укроп", unit=Unit.BUNCH,
                              price_minor=20000)
        honey_jar = ProductFactory(producer=producer, category=honey, name="Мёд", unit=Unit.JAR,
                                   stock_mode=StockMode.INVENTORY, inventory_milli=10_000, price_minor=450000)
        rival_product = ProductFactory(producer=rival, category=vegetables, name="Rival carrots")
        OfferFactory(product=potatoes, market_day=past, quantity_milli=25_000, price_minor=40000)
        OfferFactory(product=dill, market_day=past, quantity_milli=12_000)
        rival_offer = OfferFactory(product=rival_product, market_day=day1, quantity_milli=5_000)
        ids = SimpleNamespace(
            producer=producer.id, rival=rival.id, customer=customer.id, organizer=organizer.id,
            market=market.id, other_market=other_market.id, past=past.id, day1=day1.id, day2=day2.id,
            other_day=other_day.id, potatoes=potatoes.id, dill=dill.id, honey=honey_jar.id,
            rival_product=rival_product.id, rival_offer=rival_offer.id,
            vegetables=vegetables.id, honey_category=honey.id,
            owner_email="gulnara@example.test", rival_email="rival@example.test", customer_email="buyer@example.test",
        )
        db.session.remove()
    return ids


def add_order(product_id: int, day_id: int, milli: int, customer_id: int, status="confirmed") -> int:
    """A customer's order line reserving `milli` of a per-day product (as checkout would)."""
    from sqlalchemy import select, update

    from marketplace.markets.models import PickupSlot
    from marketplace.orders.models import Order, OrderLine, OrderStatus, PaymentMethod
    from marketplace.producers.models import Offer, Product

    product = db.session.get(Product, product_id)
    offer = db.session.scalar(select(Offer).where(Offer.product_id == product_id, Offer.market_day_id == day_id))
    slot = db.session.scalar(select(PickupSlot).where(PickupSlot.market_day_id == day_id))
    if offer is not None:
        db.session.execute(update(Offer).where(Offer.id == offer.id)
                           .values(reserved_milli=Offer.reserved_milli + milli))
    slot.used = True  # as checkout leaves it
    order = Order(customer_id=customer_id, market_day_id=day_id, pickup_slot_id=slot.id,
                  pickup_code=f"C{milli}{product_id}"[:12], payment_method=PaymentMethod.CASH,
                  status=OrderStatus(status), currency=product.currency)
    order.lines.append(OrderLine(producer_id=product.producer_id, product_id=product_id,
                                 offer_id=offer.id if offer else None, product_name=product.name,
                                 unit=product.unit.value, quantity_milli=milli,
                                 unit_price_minor=product.price_minor, line_total_minor=product.price_minor))
    db.session.add(order)
    db.session.commit()
    return order.id
