"""What a customer paying by card reads, from the tryout of issue 17 in a real browser
(tryout/ screenshots c3, c4-kk-declined, c5-kk-3dsfail, c7-ru-pay-stripe-down): a declined card,
a bank that did not confirm, a card form whose card service could not be reached, and a
cancelled order whose capture is still to be refunded, each told in the customer's language."""
from __future__ import annotations

import json
import urllib.request

import pytest
from flask_babel import force_locale, gettext

from marketplace.core.extensions import db
from marketplace.markets import services as markets
from marketplace.markets.models import MarketDay
from marketplace.orders.models import Order, OrderStatus
from marketplace.payments import services as payments
from marketplace.payments.models import PaymentStatus
from tests.factories import MarketDayFactory, UserFactory, add_organizer
from tests.payments.helpers import captured_early, card_order

DECLINED = "4000000000000002"
NEEDS_3DS = "4000002500003155"


def customer_logs_in(client, login, order, locale: str) -> None:
    order.customer.locale = locale
    db.session.commit()
    login(order.customer.email)


def in_language(app, locale: str, message: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(message)


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_a_declined_card_is_told_in_the_customers_language_without_stripes_english(
        app, ctx, client, login, stripe_on, locale):
    order = card_order()
    customer_logs_in(client, login, order, locale)

    page = client.post(f"/orders/{order.id}/pay", data={"token": stripe_on.card_token(DECLINED)},
                       follow_redirects=True)

    assert db.session.get(Order, order.id).status == OrderStatus.EXPIRED
    # Stripe's own sentence is for the log; the customer reads ours, whole, in their language.
    assert "Your card was declined." not in page.text
    assert "declined" not in page.text.lower()


def test_a_bank_that_did_not_confirm_is_told_not_left_as_a_bare_expired_order(app, ctx, client, login, stripe_on):
    order = card_order()
    customer_logs_in(client, login, order, "en")
    asked = client.post(f"/orders/{order.id}/pay", data={"token": stripe_on.card_token(NEEDS_3DS)})
    assert asked.status_code == 200 and "Confirm with your bank" in asked.text
    # The customer fails the bank's check in its window (what Stripe.js does in the browser).
    payment = payments.current_payment(db.session.get(Order, order.id))
    intent = stripe_on.intent(payment.provider_intent_id)
    request = urllib.request.Request(
        f"{stripe_on.url}/v1/payment_intents/{payment.provider_intent_id}/_authenticate?success=false",
        data=json.dumps({"key": "pk_test_x", "client_secret": intent["client_secret"]}).encode(), method="POST")
    urllib.request.urlopen(request, timeout=10).read()

    page = client.post(f"/orders/{order.id}/pay/check", data={}, follow_redirects=True)

    assert db.session.get(Order, order.id).status == OrderStatus.EXPIRED
    assert "Your bank did not confirm the payment" in page.text


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_a_card_form_sent_without_a_card_says_so_and_offers_cash(app, ctx, client, login, stripe_on, locale):
    """Stripe.js could not be loaded (the card service unreachable from the phone): the form
    goes without a token. The page must say what happened, not come back unchanged."""
    order = card_order()
    customer_logs_in(client, login, order, locale)

    page = client.post(f"/orders/{order.id}/pay", data={"token": ""}, follow_redirects=True)

    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT
    assert in_language(app, locale, "The card could not be read: the card service may be out of reach. "
                                    "Try again in a few minutes, or pay in cash at pickup.") in page.text


def test_a_cancelled_order_whose_refund_stripe_has_not_made_does_not_say_refunded(
        app, ctx, client, login, stripe_proxy, stripe_on):
    market_day = MarketDayFactory()
    organizer = UserFactory(roles=["organizer"])
    add_organizer(market_day.market, organizer)
    order = captured_early(stripe_on, market_day=market_day, by_weight=False, quantity_milli=1000,
                           price_minor=40_000)
    stripe_proxy.fail("POST", r"/v1/refunds", status=503, times=None)  # Stripe cannot refund now
    markets.cancel_market_day(organizer, market_day, "Storm")
    db.session.commit()
    markets.finish_cancellation(organizer, db.session.get(MarketDay, market_day.id), wait=True)
    db.session.commit()
    assert payments.current_payment(order).status == PaymentStatus.CAPTURED  # the money is still taken
    customer_logs_in(client, login, order, "en")

    page = client.get(f"/orders/{order.id}").text

    # Our side has claimed the refund, Stripe has not made it: the card still carries the charge.
    assert "Refunded ₸400 to your card" not in page and "Nothing to pay" not in page
    assert "₸400 is being refunded to your card" in page
