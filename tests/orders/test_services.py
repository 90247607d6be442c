"""Placing, paying, packing, weighing, handing over, cancelling, expiring: the rules, without HTTP."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.markets.models import MarketDayStatus
from marketplace.markets.signals import market_day_cancelled
from marketplace.orders import services
from marketplace.orders.errors import (
    InvalidState,
    NotAllowed,
    OrderingClosed,
    OutOfStock,
    PaymentMethodUnavailable,
    ProductUnavailable,
    SlotUnavailable,
)
from marketplace.orders.models import LineStatus, Order, OrderStatus, PaymentMethod
from marketplace.orders.signals import order_cancelled, order_handing_over
from marketplace.orders.tasks import confirm_missed_orders
from marketplace.producers.models import Product
from tests.factories import (
    MarketDayFactory,
    OfferFactory,
    ProductFactory,
    UserFactory,
    add_organizer,
)
from tests.orders.helpers import (
    World,
    orders_of_day,
    place,
    reserved,
    set_status,
    slot_reserved,
)


def order_count() -> int:
    return db.session.scalar(select(func.count(Order.id)))


def test_cash_order_is_confirmed_reserves_stock_and_slot_and_emails_the_code(ctx, outbox):
    w = World()
    order = place(w, {w.potatoes: 2000, w.honey: 1500, w.slippers: 1000})

    assert order.status == OrderStatus.CONFIRMED and order.hold_until is None
    assert reserved(w.potato_offer) == 2000 and reserved(w.honey_offer) == 1500 and reserved(w.slippers) == 1000
    assert slot_reserved(w.slot) == 1
    # Day price for honey (2 500.00 a kg), product price otherwise; integers only.
    assert order.total_minor == 2 * 20000 + 375000 + 500000 == order.subtotal_minor
    assert order.currency == "KZT"
    assert len(order.pickup_code) == 6 and not set(order.pickup_code) & set("0O1IL")
    emails = outbox(w.customer.email)
    assert len(emails) == 1 and order.pickup_code in emails[0].body_text and order.pickup_code in emails[0].subject


def test_card_order_holds_stock_until_paid_then_confirms_and_emails(ctx, card, outbox, app):
    w = World()
    before = utcnow()
    order = place(w, {w.potatoes: 1000}, method=PaymentMethod.CARD)
    assert order.status == OrderStatus.PENDING_PAYMENT
    hold = timedelta(minutes=app.config["ORDER_HOLD_MINUTES"])
    assert before + hold <= order.hold_until <= utcnow() + hold
    assert reserved(w.potato_offer) == 1000 and outbox() == []

    services.confirm_payment(order)
    db.session.commit()
    assert order.status == OrderStatus.CONFIRMED and len(outbox()) == 1


def test_card_is_not_offered_without_payments(ctx):
    w = World()
    with pytest.raises(PaymentMethodUnavailable):
        place(w, {w.potatoes: 1000}, method=PaymentMethod.CARD)
    assert order_count() == 0 and reserved(w.potato_offer) == 0


def test_customer_with_repeated_no_shows_cannot_choose_cash(ctx, app):
    w = World()
    for _ in range(app.config["NO_SHOW_LIMIT"]):
        order = place(w, {w.potatoes: 1000})
        set_status(order, OrderStatus.NO_SHOW, no_show_at=utcnow())
    choices = services.available_payment_methods(w.day, w.customer)
    cash = next(c for c in choices if c.method == PaymentMethod.CASH)
    assert not cash.offered and "not picked up" in cash.reason
    with pytest.raises(PaymentMethodUnavailable):
        place(w, {w.potatoes: 1000})


def test_one_short_line_reserves_nothing_and_says_how_much_is_left(ctx):
    w = World()
    place(w, {w.potatoes: 8000}, customer=UserFactory())
    with pytest.raises(OutOfStock) as refused:
        place(w, {w.honey: 1000, w.slippers: 1000, w.potatoes: 5000})
    db.session.rollback()
    assert refused.value.details["available_milli"] == 2000
    assert refused.value.details["product_id"] == w.potatoes.id
    assert "Only 2" in refused.value.message and "Potatoes" in refused.value.message
    assert reserved(w.honey_offer) == 0 and reserved(w.slippers) == 0 and reserved(w.potato_offer) == 8000
    assert slot_reserved(w.slot) == 1 and order_count() == 1


def test_standing_inventory_is_reserved_and_can_run_out(ctx):
    w = World()
    place(w, {w.slippers: 5000})
    with pytest.raises(OutOfStock) as refused:
        place(w, {w.slippers: 1000})
    assert refused.value.details["available_milli"] == 0 and "sold out" in refused.value.message


def test_price_comes_from_the_database_at_placement(ctx):
    w = World()
    w.potato_offer.price_minor = 15000
    db.session.commit()
    order = place(w, {w.potatoes: 3000})
    assert order.lines[0].unit_price_minor == 15000 and order.total_minor == 45000


def test_product_priced_in_another_currency_cannot_be_ordered(ctx):
    w = World()
    som = ProductFactory(producer=w.farm, currency="KGS")
    OfferFactory(product=som, market_day=w.day)
    with pytest.raises(ProductUnavailable):
        place(w, {som: 1000})
    assert order_count() == 0


def test_product_of_another_market_day_cannot_be_ordered(ctx):
    w = World()
    other_day_product = OfferFactory(market_day=MarketDayFactory(market=w.market,
                                                                 date=w.day.date + timedelta(days=7))).product
    with pytest.raises(ProductUnavailable):
        place(w, {w.potatoes: 1000, other_day_product: 1000})
    assert order_count() == 0 and reserved(w.potato_offer) == 0


def test_slot_of_another_market_day_is_refused(ctx):
    w = World()
    other = MarketDayFactory(market=w.market, date=w.day.date + timedelta(days=7))
    with pytest.raises(SlotUnavailable):
        place(w, {w.potatoes: 1000}, slot=other.slots[0])
    assert order_count() == 0


def test_full_slot_is_refused_and_nothing_reserved(ctx):
    w = World(slot_capacity=1)
    place(w, {w.potatoes: 1000}, customer=UserFactory())
    with pytest.raises(SlotUnavailable):
        place(w, {w.potatoes: 1000})
    db.session.rollback()
    assert reserved(w.potato_offer) == 1000 and slot_reserved(w.slot) == 1 and order_count() == 1
    assert place(w, {w.potatoes: 1000}, slot=w.slots[1]).status == OrderStatus.CONFIRMED


@pytest.mark.parametrize("method", [PaymentMethod.CASH, PaymentMethod.CARD])
def test_a_reservation_that_fails_last_takes_the_order_its_email_and_payment_back_with_it(ctx, card, outbox,
                                                                                        method):
    """The stock and slot UPDATEs are the last statements of a checkout (so their row locks
    are short); when the slot's fails after the offer's succeeded, the service's own
    savepoint undoes everything before it, even for a caller that commits anyway."""
    from marketplace.orders.models import OrderLine
    from marketplace.payments.models import Payment

    w = World(slot_capacity=1)
    place(w, {w.potatoes: 1000}, customer=UserFactory())
    emails_before = len(outbox())
    with pytest.raises(SlotUnavailable):
        services.place_order(w.customer, w.day.id, {w.potatoes.id: 2000, w.slippers.id: 1000}, slot_id=w.slot.id,
                             payment_method=method, phone="+7 701 000 00 00", idempotency_key="late-slot")
    db.session.commit()
    assert order_count() == 1 and db.session.scalar(select(func.count(OrderLine.id))) == 1
    assert reserved(w.potato_offer) == 1000 and reserved(w.slippers) == 0 and slot_reserved(w.slot) == 1
    assert len(outbox()) == emails_before
    assert db.session.scalar(select(func.count(Payment.id))) == 0


@pytest.mark.parametrize("moment", ["cutoff", "before_opening", "cancelled"])
def test_orders_are_refused_outside_the_ordering_window(ctx, moment):
    w = World()
    now = utcnow()
    if moment == "cutoff":
        now = w.day.cutoff_at
    elif moment == "before_opening":
        now = w.day.ordering_opens_at - timedelta(seconds=1)
    else:
        w.day.status = MarketDayStatus.CANCELLED
        db.session.commit()
    with pytest.raises(OrderingClosed):
        place(w, {w.potatoes: 1000}, now=now)
    assert order_count() == 0


def test_the_same_checkout_form_twice_places_one_order(ctx):
    w = World()
    first = place(w, {w.potatoes: 1000}, key="k" * 32)
    second = place(w, {w.potatoes: 1000}, key="k" * 32)
    assert first.id == second.id and order_count() == 1 and reserved(w.potato_offer) == 1000
    with pytest.raises(NotAllowed):
        place(w, {w.potatoes: 1000}, key="k" * 32, customer=UserFactory())


def test_a_confirmation_the_queue_lost_is_sent_by_the_minute_job_once(ctx, outbox):
    w = World()
    lost = services.place_order(w.customer, w.day.id, {w.potatoes.id: 1000}, slot_id=w.slot.id,
                                payment_method=PaymentMethod.CASH, phone="+7 701 000 00 00", idempotency_key="lost-1")
    db.session.commit()
    g.pop(services.TO_CONFIRM)  # the queue was away when the request ended
    cancelled = place(w, {w.potatoes: 1000}, customer=UserFactory())
    services.cancel_by_customer(cancelled, cancelled.customer)
    db.session.commit()
    assert outbox(w.customer.email) == []

    assert services.unconfirmed_order_ids() == [lost.id]
    confirm_missed_orders()
    confirm_missed_orders()
    emails = outbox(w.customer.email)
    assert len(emails) == 1 and lost.pickup_code in emails[0].body_text
    assert services.unconfirmed_order_ids() == []


def test_cancelling_twice_gives_stock_and_slot_back_once(ctx, outbox):
    w = World()
    other = place(w, {w.potatoes: 3000, w.slippers: 1000}, customer=UserFactory())
    order = place(w, {w.potatoes: 2000, w.slippers: 2000, w.honey: 500})
    services.cancel_by_customer(order, w.customer)
    db.session.commit()
    with pytest.raises(InvalidState):
        services.cancel_by_customer(order, w.customer)
    db.session.rollback()
    assert order.status == OrderStatus.CANCELLED and order.stock_released_at is not None
    assert all(line.status == LineStatus.CANCELLED for line in order.lines)
    assert reserved(w.potato_offer) == 3000 and reserved(w.slippers) == 1000 and reserved(w.honey_offer) == 0
    assert slot_reserved(w.slot) == 1 and other.status == OrderStatus.CONFIRMED
    assert [e.template for e in outbox(w.customer.email)] == ["order_confirmed", "order_cancelled"]


def test_customer_cannot_cancel_after_the_cutoff_or_someone_elses_order(ctx):
    w = World()
    order = place(w, {w.potatoes: 1000})
    with pytest.raises(OrderingClosed):
        services.cancel_by_customer(order, w.customer, now=w.day.cutoff_at)
    with pytest.raises(NotAllowed):
        services.cancel_by_customer(order, UserFactory())
    db.session.rollback()
    assert order.status == OrderStatus.CONFIRMED and reserved(w.potato_offer) == 1000


def test_cancelled_market_day_cancels_open_orders_once_even_when_signalled_twice(ctx, card, outbox):
    w = World()
    organizer = UserFactory(roles=[Role.ORGANIZER])
    cash = place(w, {w.potatoes: 2000, w.slippers: 1000})
    paying = place(w, {w.honey: 1000}, customer=UserFactory(), method=PaymentMethod.CARD)
    done = place(w, {w.potatoes: 1000}, customer=UserFactory())
    set_status(done, OrderStatus.PICKED_UP)
    cancelled_signals = []
    receiver = lambda order, **_: cancelled_signals.append(order.id)  # noqa: E731
    order_cancelled.connect(receiver)
    try:
        w.day.status = MarketDayStatus.CANCELLED
        w.day.cancel_reason = "Storm warning"
        market_day_cancelled.send(w.day, actor=organizer)
        db.session.commit()
        market_day_cancelled.send(w.day, actor=organizer)
        db.session.commit()
    finally:
        order_cancelled.disconnect(receiver)
    statuses = {o.id: o.status for o in orders_of_day(w.day)}
    assert statuses == {cash.id: OrderStatus.CANCELLED, paying.id: OrderStatus.CANCELLED,
                        done.id: OrderStatus.PICKED_UP}
    assert sorted(cancelled_signals) == sorted([cash.id, paying.id])
    assert reserved(w.potato_offer) == 1000 and reserved(w.slippers) == 0 and reserved(w.honey_offer) == 0
    assert slot_reserved(w.slot) == 1
    cancel_emails = [e for e in outbox() if e.template == "order_cancelled"]
    assert len(cancel_emails) == 2 and all("Storm warning" in e.body_text for e in cancel_emails)


def test_expiry_releases_due_holds_only(ctx, card):
    w = World()
    due = place(w, {w.potatoes: 1000}, method=PaymentMethod.CARD, now=utcnow() - timedelta(minutes=20))
    fresh = place(w, {w.potatoes: 2000}, method=PaymentMethod.CARD, customer=UserFactory())
    assert services.expire_due_holds() == 1
    db.session.commit()
    assert services.expire_due_holds() == 0
    db.session.expire_all()
    assert due.status == OrderStatus.EXPIRED and fresh.status == OrderStatus.PENDING_PAYMENT
    assert reserved(w.potato_offer) == 2000 and slot_reserved(w.slot) == 1
    with pytest.raises(InvalidState):
        services.expire(fresh)


def test_a_passed_hold_is_released_when_the_order_is_touched(ctx, card):
    w = World()
    order = place(w, {w.potatoes: 1000}, method=PaymentMethod.CARD, now=utcnow() - timedelta(minutes=20))
    with pytest.raises(InvalidState):
        services.confirm_payment(order)
    db.session.commit()
    assert order.status == OrderStatus.EXPIRED and reserved(w.potato_offer) == 0 and slot_reserved(w.slot) == 0


def test_weighed_quantity_reprices_the_line_and_the_total(ctx):
    w = World()
    order = place(w, {w.honey: 1000, w.potatoes: 2000})
    honey = next(line for line in order.lines if line.product_id == w.honey.id)
    services.record_weight(honey, w.farm, w.farm.user, 1234)
    db.session.commit()
    assert honey.actual_quantity_milli == 1234 and honey.line_total_minor == 308500  # 2 500.00 × 1.234
    assert order.subtotal_minor == 250000 + 40000 and order.total_minor == 308500 + 40000
    potatoes = next(line for line in order.lines if line.product_id == w.potatoes.id)
    with pytest.raises(InvalidState):
        services.record_weight(potatoes, w.farm, w.farm.user, 2500)  # not sold by weight
    with pytest.raises(NotAllowed):
        services.record_weight(honey, w.crafts, w.crafts.user, 900)


def test_packing_every_line_makes_the_order_ready(ctx):
    w = World()
    order = place(w, {w.potatoes: 1000, w.slippers: 1000})
    services.mark_packed(order, w.farm, w.farm.user)
    db.session.commit()
    assert order.status == OrderStatus.CONFIRMED
    services.mark_packed(order, w.crafts, w.crafts.user)
    db.session.commit()
    assert order.status == OrderStatus.READY and all(line.status == LineStatus.PACKED for line in order.lines)


def test_missing_line_is_not_paid_for(ctx):
    w = World()
    order = place(w, {w.potatoes: 1000, w.slippers: 1000})
    slippers = next(line for line in order.lines if line.product_id == w.slippers.id)
    with pytest.raises(NotAllowed):
        services.mark_line_missing(slippers, w.farm.user)
    services.mark_line_missing(slippers, w.crafts.user)
    db.session.commit()
    assert order.total_minor == 20000 and order.subtotal_minor == 520000


def test_hand_over_sends_the_amount_and_takes_inventory_off_the_shelf(ctx):
    w = World()
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(w.market, organizer)
    order = place(w, {w.potatoes: 1000, w.slippers: 2000})
    amounts = []
    receiver = lambda sender, amount_minor, **_: amounts.append(amount_minor)  # noqa: E731
    order_handing_over.connect(receiver)
    try:
        with pytest.raises(NotAllowed):
            services.hand_over(order, w.customer)
        services.hand_over(order, organizer)
        db.session.commit()
        with pytest.raises(InvalidState):
            services.hand_over(order, organizer)
    finally:
        order_handing_over.disconnect(receiver)
    db.session.rollback()
    assert amounts == [1020000] and order.status == OrderStatus.PICKED_UP
    assert order.cash_received_minor == 1020000 and order.handed_over_by_id == organizer.id
    slippers = db.session.get(Product, w.slippers.id)
    assert slippers.inventory_milli == 3000 and slippers.inventory_reserved_milli == 0
    assert reserved(w.potato_offer) == 1000  # sold, not returned


def test_no_show_keeps_the_days_harvest_but_returns_inventory_and_emails_once(ctx, app, outbox):
    w = World()
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(w.market, organizer)
    order = place(w, {w.potatoes: 1000, w.slippers: 2000})
    grace = timedelta(minutes=app.config["NO_SHOW_GRACE_MINUTES"])
    with pytest.raises(InvalidState):
        services.mark_no_show(order, organizer, now=w.slot.ends_at)
    services.mark_no_show(order, organizer, now=w.slot.ends_at + grace)
    db.session.commit()
    with pytest.raises(InvalidState):
        services.mark_no_show(order, organizer, now=w.slot.ends_at + grace)
    db.session.rollback()
    assert order.status == OrderStatus.NO_SHOW
    assert reserved(w.potato_offer) == 1000 and reserved(w.slippers) == 0 and slot_reserved(w.slot) == 1
    assert [e.template for e in outbox()].count("order_no_show") == 1
    with pytest.raises(NotAllowed):
        services.mark_no_show(place(w, {w.potatoes: 1000}), w.customer, now=w.slot.ends_at + grace)
    db.session.rollback()
    late = place(w, {w.potatoes: 1000}, customer=UserFactory())
    services.mark_no_show(late, None, now=w.slot.ends_at + grace)  # a command closing the day
    assert late.status == OrderStatus.NO_SHOW


def test_producer_cancels_only_their_lines_and_the_order_when_nothing_is_left(ctx, outbox):
    w = World()
    mixed = place(w, {w.potatoes: 1000, w.slippers: 1000})
    services.cancel_lines_by_producer(mixed, w.farm, w.farm.user, "Hail")
    db.session.commit()
    assert mixed.status == OrderStatus.CONFIRMED and mixed.total_minor == 500000
    assert reserved(w.potato_offer) == 0 and reserved(w.slippers) == 1000 and slot_reserved(w.slot) == 1
    services.cancel_lines_by_producer(mixed, w.crafts, w.crafts.user, "Ill")
    db.session.commit()
    assert mixed.status == OrderStatus.CANCELLED and reserved(w.slippers) == 0 and slot_reserved(w.slot) == 0
    with pytest.raises(NotAllowed):
        services.cancel_lines_by_producer(place(w, {w.potatoes: 1000}), w.crafts, w.crafts.user, "")
    assert [e.template for e in outbox(w.customer.email)].count("order_changed") == 1


def test_reminders_go_out_the_day_before_and_once(ctx, outbox):
    w = World()
    order = place(w, {w.potatoes: 1000})
    day_before = w.day.opens_at - timedelta(hours=20)  # local date: the day before
    assert services.send_reminders(now=w.day.opens_at - timedelta(days=2, hours=1)) == 0
    assert services.send_reminders(now=day_before) == 1
    db.session.commit()
    assert services.send_reminders(now=day_before + timedelta(hours=1)) == 0
    db.session.commit()
    reminders = [e for e in outbox() if e.template == "order_reminder"]
    assert len(reminders) == 1 and order.pickup_code in reminders[0].body_text


def test_cancelling_the_day_through_the_markets_service_cancels_orders_once(ctx, outbox):
    from marketplace.markets.services import cancel_market_day

    w = World()
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(w.market, organizer)
    order = place(w, {w.potatoes: 2000})
    cancel_market_day(organizer, w.day, "Flood")
    db.session.commit()
    cancel_market_day(organizer, w.day, "Flood")  # a second run finishes nothing twice
    db.session.commit()
    db.session.expire_all()
    assert order.status == OrderStatus.CANCELLED and order.cancel_reason == "Flood"
    assert reserved(w.potato_offer) == 0 and slot_reserved(w.slot) == 0
    assert [e.template for e in outbox(w.customer.email)].count("order_cancelled") == 1


def test_commands_expire_holds_and_send_reminders(ctx, app, card, outbox):
    w = World()
    place(w, {w.potatoes: 1000}, method=PaymentMethod.CARD, now=utcnow() - timedelta(hours=1))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["expire-reservations"])
    assert result.exit_code == 0 and "1 reservation(s) expired" in result.output
    db.session.rollback()
    assert reserved(w.potato_offer) == 0
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0 and "0 reminder(s)" in result.output


def test_a_pickup_code_taken_on_the_day_is_drawn_again(ctx, monkeypatch):
    w = World()
    # The random draw gives the same code twice in a row, then another one.
    letters = iter("AAAAAA" + "AAAAAA" + "BBBBBB")
    monkeypatch.setattr(services.secrets, "choice", lambda alphabet: next(letters))
    first = place(w, {w.potatoes: 1000})
    second = place(w, {w.potatoes: 1000}, customer=UserFactory())
    assert (first.pickup_code, second.pickup_code) == ("AAAAAA", "BBBBBB")
    assert reserved(w.potato_offer) == 2000 and slot_reserved(w.slot) == 2
