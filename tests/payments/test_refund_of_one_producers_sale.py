"""A refund the organizer puts on one producer's sale (tryout of issue 17, screenshots
tryout/r4-en-producer-over.png and o5-en-settlement.png): it cannot be more than that producer
sold in the order, or the settlement owes the producer a negative amount and the other
producer's sale is refunded in their name."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, PaymentMethod
from marketplace.payments import services as payments
from marketplace.payments import settlement
from marketplace.payments.models import Payment
from marketplace.pickup import services as pickup
from tests.conftest import PASSWORD
from tests.factories import UserFactory
from tests.pickup.helpers import Day


@pytest.fixture
def two_producers_card_order(ctx, stripe_on):
    """Potatoes of the farm (2 kg x 200.00 = 400.00) and slippers of the workshop (5000.00), by card, handed over."""
    d = Day()
    order = orders.place_order(UserFactory(), d.day.id, {d.potatoes.id: 2000, d.slippers.id: 1000},
                               slot_id=d.slots[0].id, payment_method=PaymentMethod.CARD,
                               phone="+7 701 000 00 00", idempotency_key=uuid.uuid4().hex)
    payment = payments.open_payment_for(order)
    db.session.commit()
    payments.start_intent(payment)
    db.session.commit()
    payments.submit_card(payments.current_payment(order), stripe_on.card_token(), order.customer.email)
    db.session.commit()
    pickup.hand_over(db.session.get(Order, order.id), d.organizer, confirm=pickup.ANYWAY)
    db.session.commit()
    return d, db.session.get(Order, order.id)


def test_a_refund_on_one_producers_sale_is_at_most_what_that_producer_sold(client, two_producers_card_order):
    d, order = two_producers_card_order
    client.post("/login", data={"email": d.organizer.email, "password": PASSWORD})

    page = client.post(f"/organize/orders/{order.id}/refund",
                       data={"amount": "450", "producer_id": str(d.farm.id), "reason": "bruised",
                             "key": uuid.uuid4().hex}, follow_redirects=True).text

    assert db.session.scalar(select(Payment.amount_refunded_minor).where(Payment.order_id == order.id)) == 0
    assert "₸400" in page  # the most this producer's sale allows, as money
    (farm_row,) = [row for row in settlement.market_report(d.market, d.day.date, d.day.date).rows
                   if row.producer_id == d.farm.id]
    assert farm_row.refunds_minor == 0
