"""An independent attack on issue 17 (money never kept, lost or taken twice), from the
customer's, the organizer's and the unlucky network's side: requests that lose races, calls
whose answers are lost, and pages submitted from an old tab. After each sequence the money
invariants hold in our database and at localstripe (`assert_money_invariants`)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from marketplace.payments import services as payments
from marketplace.payments.models import PaymentStatus
from marketplace.pickup import services as pickup
from tests.payments.helpers import assert_money_invariants, authorised_order
from tests.payments.test_refunds import organizer_of

CAPTURE = r"/v1/payment_intents/[^/]+/capture"


def test_pay_in_cash_from_an_old_tab_does_not_release_the_hold_of_an_order_paid_by_card(client, login, ctx,
                                                                                        stripe_on):
    """The customer authorised the card in one tab and presses "pay in cash instead" in the
    pay page still open in another: the order is confirmed by card, so the cash switch is
    refused, and the hold the hand-over will capture must stay where it is."""
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=100_000)
    payment = payments.current_payment(order)
    login(order.customer.email)
    client.post(f"/orders/{order.id}/pay/cash", data={})
    db.session.rollback()
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.CONFIRMED and order.payment_method == PaymentMethod.CARD
    assert stripe_on.intent(payment.provider_intent_id)["status"] == "requires_capture"
    pickup.hand_over(order, organizer_of(order), confirm=pickup.ANYWAY)
    db.session.commit()
    assert payments.current_payment(order).amount_captured_minor == 100_000
    assert_money_invariants(stripe_on)


def test_a_capture_whose_answer_was_lost_is_not_lost_when_the_line_is_weighed_again(ctx, stripe_on,
                                                                                   stripe_proxy):
    """Stripe captured, the answer never came (the hand-over was refused, "try again"); the
    organizer corrects the weight and hands over again. The second capture carries the same
    key with another amount, which Stripe refuses as an idempotency error: the money Stripe
    took must still be known to us (recorded, the excess refunded), not left as a hold."""
    order = authorised_order(stripe_on, by_weight=True, quantity_milli=1000, price_minor=100_000)  # hold 1150.00
    organizer = organizer_of(order)
    line = order.lines[0]
    orders.record_weight(line, line.producer, line.producer.user, 1000)
    db.session.commit()
    stripe_proxy.drop_response("POST", CAPTURE)
    with pytest.raises(payments.PaymentError):
        pickup.hand_over(db.session.get(Order, order.id), organizer, confirm=pickup.ANYWAY)
    db.session.rollback()
    line = db.session.get(Order, order.id).lines[0]
    orders.record_weight(line, line.producer, line.producer.user, 900)  # a typo corrected: 900.00 due
    db.session.commit()
    try:
        pickup.hand_over(db.session.get(Order, order.id), organizer, confirm=pickup.ANYWAY)
        db.session.commit()
    except payments.PaymentError:
        db.session.rollback()
    payment = payments.current_payment(db.session.get(Order, order.id))
    # Stripe holds nothing any more: whatever our side says, it must say what Stripe did.
    assert stripe_on.intent(payment.provider_intent_id)["status"] == "succeeded"
    assert payment.status != PaymentStatus.AUTHORIZED, "Stripe captured, our payment still says only authorised"
    assert_money_invariants(stripe_on)
