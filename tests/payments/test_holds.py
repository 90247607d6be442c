"""Card holds that lapse (issue 17, case 5): `capture_before` is stored; a hold that lapses or is
cancelled at Stripe turns a confirmed order into a cash order (the customer told once, the
pickup point flagged); the scheduled check lists the holds that will lapse before their day."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.notifications.models import OutboxEmail
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from marketplace.payments import gateway
from marketplace.payments import services as payments
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.pickup import services as pickup
from tests.factories import UserFactory, add_organizer
from tests.payments.helpers import assert_money_invariants, authorised_order, invoke
from tests.payments.test_webhooks import intent_event, post


def lapse_notices() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.template == "order_pay_at_pickup"))


def test_capture_before_is_stored_when_the_card_is_authorised(ctx, stripe_on, app):
    order = authorised_order(stripe_on)
    payment = payments.current_payment(order)
    # localstripe's charge does not say; Stripe's usual window from the authorisation is stored.
    assert payment.authorized_at is not None
    assert payment.capture_before == payment.authorized_at + timedelta(days=app.config["CARD_HOLD_DAYS"])


def test_capture_before_from_stripe_wins(client, ctx, stripe_on):
    order = authorised_order(stripe_on)
    payment = payments.current_payment(order)
    db.session.execute(update(Payment).where(Payment.id == payment.id).values(capture_before=None))
    db.session.commit()
    deadline = int((utcnow() + timedelta(days=5)).timestamp())
    event = intent_event("evt_cb", "payment_intent.amount_capturable_updated", payment.provider_intent_id,
                         "requires_capture")
    event["data"]["object"]["latest_charge"] = {"id": "ch_x", "payment_method_details": {
        "card": {"capture_before": deadline}}}
    assert post(client, event).status_code == 200
    assert int(db.session.get(Payment, payment.id).capture_before.timestamp()) == deadline


def test_a_hold_cancelled_at_stripe_makes_a_confirmed_order_a_cash_order_once(client, login, ctx, stripe_on):
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=70_000)
    payment = payments.current_payment(order)
    gateway.cancel(payment.provider_intent_id, idempotency_key="dashboard")  # lapsed, or cancelled at Stripe
    event = intent_event("evt_lapsed", "payment_intent.canceled", payment.provider_intent_id, "canceled")
    event["data"]["object"]["cancellation_reason"] = "automatic"
    for _ in range(2):  # Stripe delivers it twice
        assert post(client, event).status_code == 200
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.CONFIRMED and order.payment_method == PaymentMethod.CASH
    assert order.card_lapsed_at is not None
    assert db.session.get(Payment, payment.id).status == PaymentStatus.CANCELED
    assert lapse_notices() == 1
    email = db.session.scalar(select(OutboxEmail).where(OutboxEmail.template == "order_pay_at_pickup"))
    assert email.to == order.customer.email and "₸700" in email.body_text

    # The pickup point shows it and collects the whole amount in cash.
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(order.market_day.market, organizer)
    login(organizer.email)
    page = client.get(f"/organize/days/{order.market_day_id}/pickup/orders/{order.id}")
    assert "Card hold lapsed" in page.text and "To pay in cash" in page.text
    due = pickup.amount_due(db.session.get(Order, order.id))
    assert (due.method, due.cash_minor) == (PaymentMethod.CASH, 70_000)
    assert_money_invariants(stripe_on)


def test_reconciliation_finds_a_lapsed_hold_whose_webhook_was_lost(ctx, stripe_on):
    order = authorised_order(stripe_on)
    payment = payments.current_payment(order)
    gateway.cancel(payment.provider_intent_id, idempotency_key="lapsed")
    payments.reconcile()
    order = db.session.get(Order, order.id)
    assert order.payment_method == PaymentMethod.CASH and order.card_lapsed_at is not None
    assert lapse_notices() == 1


def test_the_check_lists_holds_that_lapse_before_their_day_and_moves_those_already_gone(app, ctx, stripe_on):
    at_risk = authorised_order(stripe_on)
    gone = authorised_order(stripe_on)
    fine = authorised_order(stripe_on)
    day_closes = {o.id: o.market_day.closes_at for o in (at_risk, gone, fine)}
    for order, before in ((at_risk, day_closes[at_risk.id] - timedelta(hours=2)),
                          (gone, utcnow() - timedelta(minutes=1)),
                          (fine, day_closes[fine.id] + timedelta(days=2))):
        db.session.execute(update(Payment).where(Payment.order_id == order.id).values(capture_before=before))
    db.session.commit()
    gateway.cancel(payments.current_payment(gone).provider_intent_id, idempotency_key="gone")  # Stripe let it go

    listed = payments.holds_lapsing_before_their_day()
    assert sorted(item.order.id for item in listed) == sorted([at_risk.id, gone.id])

    result = invoke(app, "check-card-holds")
    assert result.exit_code == 0, result.output
    assert at_risk.pickup_code in result.output and fine.pickup_code not in result.output
    assert db.session.get(Order, gone.id).payment_method == PaymentMethod.CASH  # told to pay in cash
    assert db.session.get(Order, at_risk.id).payment_method == PaymentMethod.CARD
    assert lapse_notices() == 1
    # The organizer is warned at the pickup point before the hand-over.
    due = pickup.amount_due(db.session.get(Order, at_risk.id))
    assert due.hold_lapses_at is not None
    assert_money_invariants(stripe_on)


def test_a_capture_refused_because_the_hold_is_gone_turns_the_order_to_cash(client, login, ctx, stripe_proxy,
                                                                           stripe_on):
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=30_000)
    payment = payments.current_payment(order)
    gateway.cancel(payment.provider_intent_id, idempotency_key="gone-before-handover")  # no webhook came
    # What Stripe answers (localstripe would capture a cancelled intent's charge all the same).
    stripe_proxy.fail("POST", r"/v1/payment_intents/[^/]+/capture", status=400, code="payment_intent_unexpected_state",
                      message="This PaymentIntent could not be captured because it has a status of canceled.")
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(order.market_day.market, organizer)
    login(organizer.email)
    url = f"/organize/days/{order.market_day_id}/pickup/orders/{order.id}"
    page = client.post(url + "/hand-over", data={"confirm": ["early"]}, follow_redirects=True)
    assert "The card hold of this order has lapsed. Collect ₸300 in cash" in page.text
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.CONFIRMED and order.payment_method == PaymentMethod.CASH
    done = client.post(url + "/hand-over", data={"confirm": ["early"], "cash_received": "300"},
                       follow_redirects=True)
    assert "is handed over" in done.text
    assert db.session.get(Order, order.id).cash_received_minor == 30_000
    assert_money_invariants(stripe_on)


def test_the_organizer_takes_cash_when_stripe_cannot_be_reached(client, login, ctx, stripe_proxy, stripe_on):
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=30_000)
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(order.market_day.market, organizer)
    login(organizer.email)
    stripe_proxy.drop("POST", r"/v1/payment_intents/[^/]+/(capture|cancel)", times=None)
    url = f"/organize/days/{order.market_day_id}/pickup/orders/{order.id}"
    refused = client.post(url + "/hand-over", data={"confirm": ["early"]}, follow_redirects=True)
    assert "could not be charged right now" in refused.text
    assert "Connection aborted" not in refused.text and "RemoteDisconnected" not in refused.text  # in the log only
    assert db.session.get(Order, order.id).status == OrderStatus.CONFIRMED
    taken = client.post(url + "/cash", follow_redirects=True)
    assert "now paid in cash: collect ₸300" in taken.text
    order = db.session.get(Order, order.id)
    assert order.payment_method == PaymentMethod.CASH
    # The hold could not be let go now: the reconciliation does it once Stripe answers.
    stripe_proxy.reset()
    gateway.mark_available()
    payments.reconcile()
    assert payments.current_payment(order).status == PaymentStatus.CANCELED
    assert_money_invariants(stripe_on)
