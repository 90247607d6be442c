"""The real card flow against localstripe: authorise, webhook, capture, cancel, refund."""
import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.core.dialects import write_intent
from marketplace.core.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.payments import gateway
from marketplace.payments import services as payments
from marketplace.payments.models import Payment, PaymentStatus, WebhookEvent
from marketplace.pickup import services as pickup
from marketplace.producers.models import Offer
from tests.factories import MarketDayFactory, UserFactory
from tests.payments.helpers import card_order, wait_for


def test_card_is_not_offered_without_stripe_keys(ctx):
    day = MarketDayFactory()
    assert "not set up" in payments.card_refusal_reason(day)


def test_card_is_offered_only_when_the_day_ends_within_the_hold_window(ctx, stripe_on):
    from datetime import timedelta

    from marketplace.core.db import utcnow

    near = MarketDayFactory()
    far = MarketDayFactory(date=(utcnow() + timedelta(days=12)).date())
    assert payments.card_refusal_reason(near) is None
    assert "opens 6 days before" in payments.card_refusal_reason(far)


def test_the_hold_adds_the_weighing_margin_on_by_weight_lines_only(ctx, stripe_on):
    weighed = card_order(by_weight=True, quantity_milli=2000, price_minor=100_000)   # 2 kg x 1000.00
    pieces = card_order(by_weight=False, quantity_milli=3000, price_minor=100_000)   # 3 pieces
    assert payments.current_payment(weighed).amount_authorized_minor == 200_000 + 30_000
    assert payments.current_payment(pieces).amount_authorized_minor == 300_000


def test_authorise_then_capture_the_weighed_amount(ctx, webhooks_on):
    # A late webhook of an earlier test's intent can be stored by the live server while the
    # factories read and write (SQLite: "database is locked" at once, seen in full runs under
    # load): the order is made with the write lock taken up front, as below.
    token = write_intent.set(True)
    try:
        order = card_order(by_weight=True, quantity_milli=2000, price_minor=100_000)
    finally:
        write_intent.reset(token)
    payment = payments.current_payment(order)
    assert order.status == OrderStatus.PENDING_PAYMENT and payment.provider_intent_id

    # The intent's "created" webhook may be stored while submit_card reads (CI, 2026-12-01): the
    # card is submitted with the write lock taken up front too, as the POST that submits it does.
    token = write_intent.set(True)
    try:
        state = payments.submit_card(payment, webhooks_on.card_token(), order.customer.email)
        db.session.commit()
    finally:
        write_intent.reset(token)
    assert state.status == "requires_capture"
    assert db.session.get(Order, order.id).status == OrderStatus.CONFIRMED
    assert payment.status == PaymentStatus.AUTHORIZED

    # Webhooks about the authorisation are being stored by the live server meanwhile: on SQLite
    # a deferred transaction that read before such a commit cannot write after it ("database is
    # locked" at once), so these writes take the write lock up front, as a POST request does.
    db.session.rollback()
    token = write_intent.set(True)
    try:
        line = db.session.get(Order, order.id).lines[0]
        organizer = UserFactory(roles=[Role.ADMIN])
        orders.record_weight(line, line.producer, line.producer.user, 2150)  # 2.15 kg weighed
        pickup.hand_over(db.session.get(Order, order.id), organizer, confirm=pickup.ANYWAY)
        db.session.commit()
    finally:
        write_intent.reset(token)

    payment = db.session.get(Payment, payment.id)
    assert payment.status == PaymentStatus.CAPTURED
    assert payment.amount_captured_minor == 215_000  # the weighed price, not the ordered one
    assert webhooks_on.intent(payment.provider_intent_id)["status"] == "succeeded"
    # Stripe's own word on the capture arrives by webhook, is applied once and changes nothing.
    # (Only events about this intent: localstripe is shared by the run, and a late delivery of an
    # earlier test's event reaches this test's server, is kept "waiting" and would be counted.)
    succeeded = wait_for(lambda: db.session.scalars(select(WebhookEvent).where(
        WebhookEvent.type == "payment_intent.succeeded",
        WebhookEvent.payload.contains(payment.provider_intent_id))).all())
    assert len(succeeded) == 1 and succeeded[0].processed_at is not None
    payment = db.session.get(Payment, payment.id)
    assert payment.status == PaymentStatus.CAPTURED and payment.amount_captured_minor == 215_000


def test_capture_never_exceeds_the_authorisation(ctx, stripe_on):
    order = card_order(by_weight=True, quantity_milli=1000, price_minor=100_000)  # hold 1150.00
    payment = payments.current_payment(order)
    payments.submit_card(payment, stripe_on.card_token(), order.customer.email)
    db.session.commit()
    line = order.lines[0]
    orders.record_weight(line, line.producer, line.producer.user, 1400)  # 1400.00 due
    order = db.session.get(Order, order.id)
    assert pickup.amount_due(order).cash_minor == 25_000  # above the hold: collected in cash
    pickup.hand_over(order, UserFactory(roles=[Role.ADMIN]), confirm=pickup.ANYWAY)
    db.session.commit()
    assert db.session.get(Payment, payment.id).amount_captured_minor == 115_000


def test_a_declined_card_releases_the_stock_and_slot(ctx, stripe_on):
    order = card_order(by_weight=False, quantity_milli=3000)
    offer = db.session.get(Offer, order.lines[0].offer_id)
    assert offer.reserved_milli == 3000
    with pytest.raises(gateway.CardDeclined):
        payments.submit_card(payments.current_payment(order), stripe_on.card_token("4000000000000341"),
                             order.customer.email)
    db.session.commit()
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.EXPIRED
    db.session.refresh(offer)
    assert offer.reserved_milli == 0
    assert order.pickup_slot.reserved == 0
    assert payments.current_payment(order).status == PaymentStatus.FAILED


def test_cancelling_a_card_order_releases_the_authorisation(ctx, stripe_on):
    order = card_order()
    payment = payments.current_payment(order)
    payments.submit_card(payment, stripe_on.card_token(), order.customer.email)
    db.session.commit()
    orders.cancel_by_customer(db.session.get(Order, order.id), order.customer)
    db.session.commit()
    assert db.session.get(Payment, payment.id).status == PaymentStatus.CANCELED
    assert stripe_on.intent(payment.provider_intent_id)["status"] == "canceled"


def test_refund_never_more_than_captured(ctx, stripe_on):
    order = card_order(by_weight=False, quantity_milli=2000, price_minor=50_000)  # 1000.00
    payment = payments.current_payment(order)
    payments.submit_card(payment, stripe_on.card_token(), order.customer.email)
    pickup.hand_over(db.session.get(Order, order.id), UserFactory(roles=[Role.ADMIN]), confirm=pickup.ANYWAY)
    db.session.commit()
    admin = UserFactory(roles=[Role.ADMIN])
    payments.refund(admin, order, 30_000, "bruised")
    db.session.commit()
    with pytest.raises(payments.PaymentError) as refused:
        payments.refund(admin, order, 70_001, "too much")
    db.session.rollback()
    assert refused.value.details["left"] == 70_000
    payments.refund(admin, order, 70_000, "the rest")
    db.session.commit()
    payment = db.session.get(Payment, payment.id)
    assert payment.amount_refunded_minor == 100_000 and payment.status == PaymentStatus.REFUNDED


def test_stripe_unreachable_is_a_clear_error_and_nothing_is_charged(ctx, stripe_on, monkeypatch, app):
    from tests.stripe_server import free_port

    monkeypatch.setitem(app.config, "STRIPE_API_BASE", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setitem(app.config, "STRIPE_TIMEOUT_SECONDS", 2)
    with pytest.raises(gateway.GatewayUnavailable):
        card_order()
    db.session.rollback()
    payment = db.session.scalar(select(Payment))
    assert payment is not None and payment.provider_intent_id is None  # our row first, no intent


def test_reconcile_repairs_what_a_lost_webhook_left(ctx, stripe_on):
    order = card_order()
    payment = payments.current_payment(order)
    # The customer authorised at Stripe but our server never heard (browser closed, webhook lost).
    gateway.confirm_with_card_token(payment.provider_intent_id, stripe_on.card_token(), "x@example.test",
                                    idempotency_key="lost")
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT
    counts = payments.reconcile()
    assert counts["changed"] == 1
    assert db.session.get(Order, order.id).status == OrderStatus.CONFIRMED
    assert db.session.get(Payment, payment.id).status == PaymentStatus.AUTHORIZED


def test_card_order_can_switch_to_cash_when_the_card_cannot_be_used(ctx, stripe_on):
    order = card_order(by_weight=False, quantity_milli=1000)
    payment = payments.current_payment(order)
    payments.switch_to_cash(order, order.customer)
    db.session.commit()
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.CONFIRMED and order.payment_method.value == "cash"
    assert order.lines[0].offer.reserved_milli == 1000  # still reserved for the customer
    assert db.session.get(Payment, payment.id).status == PaymentStatus.CANCELED
    assert stripe_on.intent(payment.provider_intent_id)["status"] == "canceled"


def test_after_stripe_fails_checkout_stops_offering_the_card_for_a_while(ctx, stripe_on, monkeypatch, app):
    from tests.stripe_server import free_port

    day = MarketDayFactory()
    assert payments.card_refusal_reason(day) is None
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(gateway.GatewayUnavailable):
        gateway.retrieve("pi_whatever")
    assert "unavailable right now" in payments.card_refusal_reason(day)
    gateway.mark_available()
