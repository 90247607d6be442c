"""Card confirmation under races (issue 17, case 3), with real threads released by a barrier, on
whichever database the suite runs on (PostgreSQL: row locks; SQLite: writers take turns), each
race repeated. A confirmation that loses (to a second confirmation, to the "I have confirmed
with my bank" check, to the webhook, to the expiry sweep) never releases the hold of a
confirmed order and never answers 500; only an order that really expired gives its hold back."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.notifications.models import Notice
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.payments import gateway
from marketplace.payments import services as payments
from marketplace.payments.models import Payment, PaymentAttempt, PaymentStatus
from tests.conftest import PASSWORD
from tests.concurrency import run_together
from tests.payments.helpers import assert_money_invariants, card_order, invoke
from tests.payments.test_webhooks import intent_event

ROUNDS = 5


def crashes(results) -> list:
    """What no caller is prepared for: anything but a domain refusal or a card decline is a 500."""
    return [r for r in results if isinstance(r, Exception) and not isinstance(r, (DomainError, gateway.CardDeclined))]


def confirmations_sent(order_id: int) -> int:
    """The customer told of the confirmation (orders tells once per order and occasion)."""
    return db.session.scalar(select(func.count(Notice.id)).where(Notice.occasion == f"order-{order_id}-confirmed"))


def releases_tried(payment_id: int) -> int:
    return db.session.scalar(select(func.count(PaymentAttempt.id)).where(
        PaymentAttempt.payment_id == payment_id, PaymentAttempt.operation == "release"))


def assert_confirmed_and_held(stripe, order_id: int, payment_id: int) -> None:
    order, payment = db.session.get(Order, order_id), db.session.get(Payment, payment_id)
    assert order.status == OrderStatus.CONFIRMED
    assert payment.status == PaymentStatus.AUTHORIZED and payment.capture_before is not None
    assert stripe.intent(payment.provider_intent_id)["status"] == "requires_capture"
    assert releases_tried(payment_id) == 0
    assert confirmations_sent(order_id) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
@pytest.mark.parametrize("behind_proxy", [False, True], ids=["localstripe", "stripe-idempotency"])
def test_a_double_submitted_card_form_confirms_once_and_keeps_the_hold(ctx, app, stripe_on, request, round_,
                                                                      behind_proxy):
    if behind_proxy:  # Stripe's own idempotency: the second call with the key waits (409) or is replayed
        request.getfixturevalue("stripe_proxy")
    order = card_order(by_weight=False)
    payment_id = payments.current_payment(order).id
    token, email = stripe_on.card_token(), order.customer.email

    def submit():
        return payments.submit_card(db.session.get(Payment, payment_id), token, email).status

    results = run_together(app, [submit, submit])
    assert crashes(results) == []
    assert_confirmed_and_held(stripe_on, order.id, payment_id)
    assert_money_invariants(stripe_on)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_bank_check_the_webhook_and_the_reconciliation_at_once_confirm_once(ctx, app, stripe_on, round_):
    order = card_order(by_weight=False)
    payment = payments.current_payment(order)
    payment_id, intent_id = payment.id, payment.provider_intent_id
    # Authorised at Stripe; our server has not heard yet (the browser is about to press "check").
    gateway.confirm_with_card_token(intent_id, stripe_on.card_token(), "x@example.test", idempotency_key=f"r{round_}")
    event = intent_event(f"evt_race_{round_}", "payment_intent.amount_capturable_updated", intent_id,
                         "requires_capture")

    results = run_together(app, [
        lambda: payments.refresh_from_stripe(db.session.get(Payment, payment_id)),
        lambda: payments.receive_event(event),
        lambda: payments.reconcile(),
    ])
    assert crashes(results) == []
    assert_confirmed_and_held(stripe_on, order.id, payment_id)
    assert_money_invariants(stripe_on)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_confirmation_racing_the_expiry_sweep_never_keeps_a_hold_and_never_crashes(ctx, app, stripe_on, round_):
    order = card_order(by_weight=False)
    payment_id = payments.current_payment(order).id
    token, email = stripe_on.card_token(), order.customer.email
    # The sweep believes the hold has passed; the confirmation arrives just in time by its own clock.
    sweep_now = order.hold_until + timedelta(seconds=1)

    order_id = order.id
    results = run_together(app, [
        lambda: payments.submit_card(db.session.get(Payment, payment_id), token, email).status,
        lambda: orders.expire_due_holds(now=sweep_now),
    ])
    assert crashes(results) == []
    order, payment = db.session.get(Order, order_id), db.session.get(Payment, payment_id)
    intent = stripe_on.intent(payment.provider_intent_id)
    if order.status == OrderStatus.CONFIRMED:  # the confirmation won: the hold is kept
        assert payment.status == PaymentStatus.AUTHORIZED and intent["status"] == "requires_capture"
        assert releases_tried(payment_id) == 0
    else:  # the sweep won: the order really expired, its stock is back and nothing stays held
        assert order.status == OrderStatus.EXPIRED
        assert order.lines[0].offer.reserved_milli == 0
        assert intent["status"] != "requires_capture"
    assert_money_invariants(stripe_on)


@pytest.mark.parametrize("round_", range(3))
def test_the_card_page_racing_flask_expire_reservations_answers_no_500(ctx, app, stripe_on, round_):
    order = card_order(by_weight=False)
    payment = payments.current_payment(order)
    order_id, intent_id = order.id, payment.provider_intent_id  # the threads touch no object of ours
    # The hold has just passed: the command will expire it while the card goes to Stripe.
    db.session.execute(update(Order).where(Order.id == order_id).values(hold_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    client = app.test_client()
    assert client.post("/login", data={"email": order.customer.email, "password": PASSWORD}).status_code == 302
    token = stripe_on.card_token()
    answers = run_together(app, [
        lambda: client.post(f"/orders/{order_id}/pay", data={"token": token}).status_code,
        lambda: invoke(app, "expire-reservations").exit_code,
    ])
    assert answers[0] in (200, 302) and answers[1] == 0, answers
    assert db.session.get(Order, order_id).status == OrderStatus.EXPIRED  # the hold had passed
    assert stripe_on.intent(intent_id)["status"] != "requires_capture"
    assert_money_invariants(stripe_on)
