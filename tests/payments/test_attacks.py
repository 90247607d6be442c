"""From the attacker's side (issue 17): other users' ids on every card and money route, a refund key reused on another order, nonsense amounts, two organizers cancelling a day with card orders at once."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.markets.models import MarketDay
from marketplace.notifications.models import OutboxEmail
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from marketplace.payments import services as payments
from marketplace.payments.models import PaymentAttempt, PaymentStatus
from marketplace.pickup import services as pickup
from tests.conftest import PASSWORD
from tests.factories import MarketDayFactory, UserFactory, add_organizer
from tests.payments.helpers import assert_money_invariants, authorised_order, card_order


def logged_in(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def test_another_customers_order_ids_are_404_on_every_card_route(app, ctx, stripe_on):
    victim = card_order(by_weight=False)
    attacker = UserFactory()
    client = logged_in(app, attacker.email)
    for url in (f"/orders/{victim.id}/pay", f"/orders/{victim.id}/pay/cash", f"/orders/{victim.id}/pay/check"):
        assert client.post(url, data={"token": stripe_on.card_token()}).status_code == 404, url
    assert client.get(f"/orders/{victim.id}/pay").status_code == 404
    order = db.session.get(Order, victim.id)
    assert order.status == OrderStatus.PENDING_PAYMENT and order.payment_method == PaymentMethod.CARD


def test_an_organizer_of_another_market_cannot_touch_this_markets_money(app, ctx, stripe_on):
    order = authorised_order(stripe_on, by_weight=False)
    other_day = MarketDayFactory()
    outsider = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(other_day.market, outsider)
    client = logged_in(app, outsider.email)
    day = order.market_day_id
    assert client.post(f"/organize/days/{day}/pickup/orders/{order.id}/cash").status_code == 404
    # Their own day's URL with this order's id is not a way in either.
    assert client.post(f"/organize/days/{other_day.id}/pickup/orders/{order.id}/cash").status_code == 404
    assert client.post(f"/organize/days/{other_day.id}/pickup/orders/{order.id}/hand-over",
                       data={"confirm": ["early", "unweighed"]}).status_code == 404
    assert client.post(f"/organize/orders/{order.id}/refund",
                       data={"reason": "x", "producer_id": "0", "key": "k" * 20}).status_code == 404
    assert client.post(f"/organize/days/{day}/cancel", data={"reason": "mine"}).status_code == 404
    assert client.post(f"/organize/days/{day}/cancel/again").status_code == 404
    assert payments.current_payment(order).status == PaymentStatus.AUTHORIZED
    assert db.session.get(MarketDay, day).status.value == "scheduled"


def test_a_refund_key_of_one_order_refunds_nothing_on_another(app, ctx, stripe_on):
    first = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=10_000)
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(first.market_day.market, organizer)
    second = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=10_000,
                              market_day=first.market_day)
    for order in (first, second):
        pickup.hand_over(db.session.get(Order, order.id), organizer, confirm=pickup.ANYWAY)
    db.session.commit()
    client = logged_in(app, organizer.email)
    form = {"amount": "50", "reason": "x", "producer_id": "0", "key": "reused-key-0123456789"}
    assert client.post(f"/organize/orders/{first.id}/refund", data=form).status_code == 302
    page = client.post(f"/organize/orders/{second.id}/refund", data=form)
    assert "This form was already used" in page.text
    assert payments.current_payment(second).amount_refunded_minor == 0
    assert payments.current_payment(first).amount_refunded_minor == 5_000
    for bad in ("-1", "0", "1e3", "0.001", "99999999999", "１００"):
        form["key"] = f"bad-key-{len(bad)}-0123456789"
        response = client.post(f"/organize/orders/{second.id}/refund", data={**form, "amount": bad})
        assert response.status_code == 200, bad
    assert payments.current_payment(second).amount_refunded_minor == 0
    assert_money_invariants(stripe_on)


def test_two_organizers_cancelling_a_day_with_card_orders_at_once(app, ctx, stripe_on):
    day = MarketDayFactory()
    orders = [authorised_order(stripe_on, by_weight=False, market_day=day) for _ in range(3)]
    a, b = UserFactory(roles=[Role.ORGANIZER]), UserFactory(roles=[Role.ORGANIZER])
    add_organizer(day.market, a)
    add_organizer(day.market, b)
    clients = [logged_in(app, a.email), logged_in(app, b.email)]
    day_id = day.id
    barrier, codes = threading.Barrier(2), [None, None]

    def press(i):
        barrier.wait()
        codes[i] = clients[i].post(f"/organize/days/{day_id}/cancel", data={"reason": "Hail"}).status_code

    threads = [threading.Thread(target=press, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    db.session.rollback()
    assert all(code in (200, 302) for code in codes), codes
    for order in orders:
        payment = payments.current_payment(order)
        assert payment.status == PaymentStatus.CANCELED
        ok = db.session.scalar(select(func.count(PaymentAttempt.id)).where(
            PaymentAttempt.payment_id == payment.id, PaymentAttempt.ok.is_(True)))
        assert ok == 1  # released once
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.template == "order_cancelled")) == 3
    assert_money_invariants(stripe_on)
