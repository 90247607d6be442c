"""Setting up card orders through the real services."""
from __future__ import annotations

import time
import uuid

from sqlalchemy import select

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


def authorised_order(stripe, **kwargs) -> Order:
    """A card order whose card is authorised (the order confirmed), through the real services."""
    order = card_order(**kwargs)
    payments.submit_card(payments.current_payment(order), stripe.card_token(), order.customer.email)
    db.session.commit()
    return db.session.get(Order, order.id)


def captured_early(stripe, **kwargs) -> Order:
    """A confirmed card order whose card was captured before the hand-over (by mistake, at Stripe),
    and our side told so (as the payment_intent.succeeded webhook or the reconciliation would)."""
    from marketplace.payments import gateway

    order = authorised_order(stripe, **kwargs)
    payment = payments.current_payment(order)
    gateway.capture(payment.provider_intent_id, payment.amount_authorized_minor, idempotency_key=f"early-{payment.id}")
    payments.refresh_from_stripe(payment)
    db.session.commit()
    return db.session.get(Order, order.id)


ENDED = ("cancelled", "expired", "no_show")


def assert_money_invariants(stripe) -> None:
    """For every payment, in our database and at Stripe (read directly, not through a proxy):
    captured <= authorised, refunded <= captured, no hold left on an order that ended, no
    order that ended with money kept, and our figures equal to Stripe's."""
    from marketplace.payments.models import Payment, PaymentRefund, RefundStatus
    from marketplace.payments.services import OPEN_STATUSES

    db.session.rollback()
    for payment in db.session.scalars(select(Payment).order_by(Payment.id)):
        order = db.session.get(Order, payment.order_id)
        where = f"payment {payment.id} of order {order.id} ({order.status.value})"
        assert 0 <= payment.amount_captured_minor <= payment.amount_authorized_minor, where
        assert 0 <= payment.amount_refunded_minor <= payment.amount_captured_minor, where
        pending = db.session.scalars(select(PaymentRefund).where(
            PaymentRefund.payment_id == payment.id, PaymentRefund.status == RefundStatus.PENDING)).all()
        if payment.provider_intent_id:
            intent = stripe.intent(payment.provider_intent_id)
            charge = (intent.get("charges") or {}).get("data") or []
            captured = sum(c["amount"] for c in charge if c.get("captured"))
            refunded = sum(c.get("amount_refunded") or 0 for c in charge if c.get("captured"))
            # localstripe records a partial capture as a full capture plus a refund of the rest.
            held = intent["status"] == "requires_capture"
            kept_at_stripe = captured - refunded
            assert kept_at_stripe == payment.amount_captured_minor - payment.amount_refunded_minor, where
        else:
            held, kept_at_stripe = False, 0
        if order.status.value in ENDED or (order.payment_method == PaymentMethod.CASH
                                           and order.status.value != "pending_payment"):
            assert not held, f"{where}: a hold is left at Stripe"
            assert not (payment.status in OPEN_STATUSES and payment.provider_intent_id), f"{where}: still open"
        if order.status.value in ENDED:
            assert kept_at_stripe == 0, f"{where}: money kept"
            assert payment.amount_captured_minor == payment.amount_refunded_minor and not pending, where


def invoke(app, *args):
    """Run a `flask` command as cron would (its own app context)."""
    return app.test_cli_runner().invoke(args=list(args))
