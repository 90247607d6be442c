"""Refunds (issue 17, case 4): the form carries its idempotency key, so a double click refunds
once; a refund on a card only authorised releases the hold; amounts in messages are money in
the market's currency; a refund whose answer was lost is asked again, and Stripe refunds once."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.notifications.models import OutboxEmail
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from marketplace.payments import services as payments
from marketplace.payments.models import (
    Payment,
    PaymentRefund,
    PaymentStatus,
    RefundStatus,
)
from marketplace.pickup import services as pickup
from tests.conftest import PASSWORD
from tests.factories import UserFactory, add_organizer
from tests.payments.helpers import assert_money_invariants, authorised_order

REFUNDS = r"/v1/refunds"


def handed_over(stripe, **kwargs) -> Order:
    order = authorised_order(stripe, by_weight=False, **kwargs)
    pickup.hand_over(order, organizer_of(order), confirm=pickup.ANYWAY)
    db.session.commit()
    return db.session.get(Order, order.id)


def organizer_of(order: Order):
    """The market's organizer (made on first use)."""
    from marketplace.accounts.models import User
    from marketplace.markets.models import MarketOrganizer

    user_id = db.session.scalar(select(MarketOrganizer.user_id).where(
        MarketOrganizer.market_id == order.market_day.market_id).order_by(MarketOrganizer.user_id))
    if user_id is not None:
        return db.session.get(User, user_id)
    user = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(order.market_day.market, user)
    return user


def refund_form_key(client, order_id: int) -> str:
    page = client.get(f"/organize/orders/{order_id}/refund").text
    return page.split('name="key" type="hidden" value="')[1].split('"')[0]


def refunded_at_stripe(stripe, payment: Payment) -> int:
    charge = stripe.intent(payment.provider_intent_id)["charges"]["data"][0]
    return charge["amount_refunded"]


def test_a_double_click_on_refund_refunds_once(client, login, ctx, stripe_on):
    order = handed_over(stripe_on, quantity_milli=2000, price_minor=50_000)  # 1000.00 charged
    login(organizer_of(order).email)
    key = refund_form_key(client, order.id)
    form = {"amount": "300", "producer_id": "0", "reason": "bruised", "key": key}
    first = client.post(f"/organize/orders/{order.id}/refund", data=form, follow_redirects=True)
    second = client.post(f"/organize/orders/{order.id}/refund", data=form, follow_redirects=True)
    assert "₸300 is refunded to the customer" in first.text
    assert "₸300 is refunded to the customer" in second.text  # the same refund, told again
    payment = payments.current_payment(order)
    assert payment.amount_refunded_minor == 30_000
    assert db.session.scalar(select(func.count(PaymentRefund.id))) == 1
    assert refunded_at_stripe(stripe_on, payment) == 30_000
    # A new form (a new key) is a new refund.
    form["key"] = refund_form_key(client, order.id)
    client.post(f"/organize/orders/{order.id}/refund", data=form)
    assert payments.current_payment(order).amount_refunded_minor == 60_000
    assert_money_invariants(stripe_on)


def test_two_submits_of_one_form_at_the_same_instant_refund_once(app, ctx, stripe_on):
    order = handed_over(stripe_on, quantity_milli=2000, price_minor=50_000)
    second = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(order.market_day.market, second)
    clients = []
    # Two organizers of the market, one form key (the form was sent twice from one page).
    for user in (organizer_of(order), second):
        client = app.test_client()
        assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
        clients.append(client)
    form = {"amount": "250", "producer_id": "0", "reason": "late", "key": "same-form-key-0123456789"}
    order_id = order.id
    db.session.commit()
    barrier, answers = threading.Barrier(2), [None, None]

    def press(index):
        barrier.wait()
        answers[index] = clients[index].post(f"/organize/orders/{order_id}/refund", data=form).status_code

    threads = [threading.Thread(target=press, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.rollback()
    assert answers == [302, 302]
    payment = payments.current_payment(db.session.get(Order, order_id))
    assert payment.amount_refunded_minor == 25_000
    assert refunded_at_stripe(stripe_on, payment) == 25_000
    assert_money_invariants(stripe_on)


def test_more_than_is_left_is_refused_with_money_in_the_markets_currency(ctx, stripe_on):
    order = handed_over(stripe_on, quantity_milli=1000, price_minor=610)  # 6.10 charged
    try:
        payments.refund(organizer_of(order), order, 700, "too much", key="k" * 20)
    except payments.PaymentError as exc:
        message = exc.message
    db.session.rollback()
    assert message == "At most ₸6.10 can still be refunded."  # not "At most 610"


def test_a_refund_of_a_card_only_authorised_releases_the_hold_and_the_order_is_paid_in_cash(
        client, login, ctx, stripe_on):
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=40_000)
    payment = payments.current_payment(order)
    login(organizer_of(order).email)
    page = client.get(f"/organize/orders/{order.id}/refund")
    assert "Release the card hold" in page.text and 'name="amount"' not in page.text
    form = {"reason": "the customer cannot come", "producer_id": "0", "key": refund_form_key(client, order.id)}
    done = client.post(f"/organize/orders/{order.id}/refund", data=form, follow_redirects=True)
    assert "the hold of ₸400 on the card is released" in done.text
    again = client.post(f"/organize/orders/{order.id}/refund", data=form, follow_redirects=True)
    assert "is released" in again.text  # a second click changes nothing
    payment = db.session.get(Payment, payment.id)
    assert payment.status == PaymentStatus.CANCELED
    assert stripe_on.intent(payment.provider_intent_id)["status"] == "canceled"
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.CONFIRMED and order.payment_method == PaymentMethod.CASH
    assert order.card_lapsed_at is not None
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.template == "order_pay_at_pickup")) == 1
    assert_money_invariants(stripe_on)


def test_a_refund_whose_answer_was_lost_is_asked_again_by_the_reconciliation(ctx, stripe_proxy, stripe_on,
                                                                             monkeypatch):
    order = handed_over(stripe_on, quantity_milli=1000, price_minor=80_000)
    stripe_proxy.drop_response("POST", REFUNDS)
    result = payments.refund(organizer_of(order), order, 30_000, "late", key="lost-answer-key-0000")
    db.session.commit()
    assert result.pending and result.refund.status == RefundStatus.PENDING
    payment = payments.current_payment(order)
    assert payment.amount_refunded_minor == 30_000  # claimed: nobody can refund it a second time
    monkeypatch.setattr(payments, "PENDING_REFUND_RETRY_AFTER", payments.timedelta(0))
    from marketplace.payments import gateway

    gateway.mark_available()
    payments.reconcile()
    refund = db.session.scalar(select(PaymentRefund))
    assert refund.status == RefundStatus.SUCCEEDED and refund.provider_refund_id
    assert [c.outcome for c in stripe_proxy.calls("POST", REFUNDS)] == ["response_dropped", "replayed"]
    assert refunded_at_stripe(stripe_on, payment) == 30_000
    assert_money_invariants(stripe_on)


def test_a_refund_stripe_refuses_gives_the_amount_back_and_says_so(client, login, ctx, stripe_proxy, stripe_on):
    order = handed_over(stripe_on, quantity_milli=1000, price_minor=80_000)
    stripe_proxy.fail("POST", REFUNDS, status=400, message="Charge ch_x has been disputed.")
    login(organizer_of(order).email)
    form = {"amount": "100", "producer_id": "0", "reason": "x", "key": refund_form_key(client, order.id)}
    page = client.post(f"/organize/orders/{order.id}/refund", data=form)
    assert page.status_code == 200 and "Stripe refused the refund" in page.text and "disputed" in page.text
    payment = payments.current_payment(order)
    assert payment.amount_refunded_minor == 0
    assert_money_invariants(stripe_on)


def test_another_markets_organizer_cannot_refund(client, login, ctx, stripe_on):
    order = handed_over(stripe_on)
    stranger = UserFactory(roles=[Role.ORGANIZER])
    login(stranger.email)
    assert client.get(f"/organize/orders/{order.id}/refund").status_code == 404
    assert client.post(f"/organize/orders/{order.id}/refund",
                       data={"amount": "1", "reason": "x", "producer_id": "0", "key": "k" * 20}).status_code == 404
    assert payments.current_payment(order).amount_refunded_minor == 0
