"""Real concurrent checkouts and expiry runs (threads, each with its own app context and
connection) on whichever database the suite runs on: SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.markets.models import PickupSlot
from marketplace.orders import services
from marketplace.orders.errors import OutOfStock, SlotUnavailable
from marketplace.orders.models import (
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)
from marketplace.orders.signals import order_cancelled
from marketplace.producers.models import Offer, Product
from tests.concurrency import run_together
from tests.factories import UserFactory
from tests.orders.helpers import World, place


def checkout_job(customer_id, day_id, items, slot_id):
    def job():
        customer = db.session.get(User, customer_id)
        order = services.place_order(customer, day_id, items, slot_id=slot_id, payment_method=PaymentMethod.CASH,
                                     phone="+7 700 000 00 00", idempotency_key=uuid.uuid4().hex)
        return order.id
    return job


def assert_every_reserved_unit_has_one_line():
    """Each offer's and product's reserved quantity equals the sum of the live lines reserving it."""
    db.session.expire_all()
    live = [LineStatus.RESERVED, LineStatus.PACKED, LineStatus.MISSING]
    for offer in db.session.scalars(select(Offer)):
        lines = db.session.scalar(select(func.coalesce(func.sum(OrderLine.quantity_milli), 0))
                                  .where(OrderLine.offer_id == offer.id, OrderLine.status.in_(live)))
        assert offer.reserved_milli == lines, offer.product.name
    for product in db.session.scalars(select(Product).where(Product.inventory_milli > 0)):
        lines = db.session.scalar(select(func.coalesce(func.sum(OrderLine.quantity_milli), 0)).where(
            OrderLine.product_id == product.id, OrderLine.offer_id.is_(None), OrderLine.status.in_(live)))
        assert product.inventory_reserved_milli == lines, product.name
    for slot in db.session.scalars(select(PickupSlot)):
        holding = db.session.scalar(select(func.count(Order.id)).where(
            Order.pickup_slot_id == slot.id, Order.stock_released_at.is_(None)))
        assert slot.reserved == holding


def test_forty_checkouts_for_the_last_ten_units_sell_exactly_ten(ctx, app):
    w = World(slot_capacity=50, stock_milli=10_000)
    customers = [UserFactory().id for _ in range(40)]
    results = run_together(app, [checkout_job(c, w.day.id, {w.potatoes.id: 1000}, w.slot.id) for c in customers])

    placed = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if not isinstance(r, int)]
    assert len(placed) == 10 and len(refused) == 30
    assert all(isinstance(r, OutOfStock) for r in refused), refused
    assert all(r.details["available_milli"] == 0 and "sold out" in r.message for r in refused)
    db.session.expire_all()
    assert db.session.get(Offer, w.potato_offer.id).reserved_milli == 10_000
    assert_every_reserved_unit_has_one_line()


def test_customers_short_of_stock_are_told_how_much_is_left(ctx, app):
    w = World(slot_capacity=50, stock_milli=10_000)
    customers = [UserFactory().id for _ in range(6)]
    results = run_together(app, [checkout_job(c, w.day.id, {w.potatoes.id: 3000}, w.slot.id) for c in customers])
    assert sum(isinstance(r, int) for r in results) == 3
    refused = [r for r in results if not isinstance(r, int)]
    assert all(isinstance(r, OutOfStock) and r.details["available_milli"] == 1000 for r in refused)
    assert all("Only 1" in r.message for r in refused)
    assert_every_reserved_unit_has_one_line()


def test_fifteen_checkouts_for_a_ten_place_slot_place_ten(ctx, app):
    w = World(slot_capacity=10, stock_milli=100_000)
    customers = [UserFactory().id for _ in range(15)]
    results = run_together(app, [checkout_job(c, w.day.id, {w.potatoes.id: 1000}, w.slot.id) for c in customers])
    assert sum(isinstance(r, int) for r in results) == 10
    assert all(isinstance(r, SlotUnavailable) for r in results if not isinstance(r, int))
    db.session.expire_all()
    assert db.session.get(PickupSlot, w.slot.id).reserved == 10
    # Nothing of a refused checkout stays reserved.
    assert db.session.get(Offer, w.potato_offer.id).reserved_milli == 10_000
    assert_every_reserved_unit_has_one_line()


def test_baskets_taking_two_products_in_opposite_order_neither_deadlock_nor_oversell(ctx, app):
    w = World(slot_capacity=50, stock_milli=7_000)
    jobs = []
    for i in range(20):
        first, second = (w.potatoes.id, w.honey.id) if i % 2 else (w.honey.id, w.potatoes.id)
        jobs.append(checkout_job(UserFactory().id, w.day.id, {first: 1000, second: 1000}, w.slot.id))
    results = run_together(app, jobs)
    assert sum(isinstance(r, int) for r in results) == 7
    assert all(isinstance(r, OutOfStock) for r in results if not isinstance(r, int)), results
    db.session.expire_all()
    assert db.session.get(Offer, w.potato_offer.id).reserved_milli == 7_000
    assert db.session.get(Offer, w.honey_offer.id).reserved_milli == 7_000
    assert_every_reserved_unit_has_one_line()


def test_two_expiry_runs_at_once_release_each_hold_once(ctx, app, card):
    w = World(slot_capacity=50, stock_milli=20_000)
    long_ago = utcnow() - timedelta(hours=1)
    orders = [place(w, {w.potatoes: 1000, w.slippers: 500}, customer=UserFactory(), method=PaymentMethod.CARD,
                    now=long_ago).id for _ in range(8)]
    released, lock = [], threading.Lock()

    def receiver(order, **_):
        with lock:
            released.append(order.id)

    order_cancelled.connect(receiver)
    try:
        results = run_together(app, [services.expire_due_holds, services.expire_due_holds])
    finally:
        order_cancelled.disconnect(receiver)
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(results) == 8 and sorted(released) == sorted(orders)
    db.session.expire_all()
    assert db.session.get(Offer, w.potato_offer.id).reserved_milli == 0
    assert db.session.get(Product, w.slippers.id).inventory_reserved_milli == 0
    assert db.session.get(PickupSlot, w.slot.id).reserved == 0
    assert {o.status for o in db.session.scalars(select(Order))} == {OrderStatus.EXPIRED}
    assert_every_reserved_unit_has_one_line()


def test_cancel_and_expire_racing_release_once(ctx, app, card):
    w = World(slot_capacity=50)
    order = place(w, {w.potatoes: 2000}, method=PaymentMethod.CARD, now=utcnow() - timedelta(hours=1))
    customer_id = w.customer.id

    def cancel():
        from marketplace.accounts.models import User

        return services.cancel_by_customer(db.session.get(Order, order.id), db.session.get(User, customer_id)).status

    results = run_together(app, [cancel, services.expire_due_holds, services.expire_due_holds])
    assert not any(isinstance(r, Exception) and not isinstance(r, DomainError) for r in results), results
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.EXPIRED
    assert db.session.get(Offer, w.potato_offer.id).reserved_milli == 0
    assert db.session.get(PickupSlot, w.slot.id).reserved == 0


def test_the_same_checkout_form_sent_twice_at_once_places_one_order(ctx, app):
    w = World(slot_capacity=50)
    customer_id = w.customer.id

    def submit():
        order = services.place_order(db.session.get(User, customer_id), w.day.id, {w.potatoes.id: 2000},
                                     slot_id=w.slot.id, payment_method=PaymentMethod.CASH, phone="+7 700 000 00 00",
                                     idempotency_key="same-form-" + "x" * 22)
        return order.id

    results = run_together(app, [submit, submit, submit])
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert db.session.get(Offer, w.potato_offer.id).reserved_milli == 2000
    assert_every_reserved_unit_has_one_line()
