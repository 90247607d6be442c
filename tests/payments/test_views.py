"""Card payment and settlement pages, through the client, from the customer's and attacker's side."""

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.payments import services as payments
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.pickup import services as pickup
from marketplace.producers.models import Unit
from tests.conftest import PASSWORD
from tests.factories import (
    MarketDayFactory,
    OfferFactory,
    ProducerFactory,
    ProductFactory,
    UserFactory,
    VendorFactory,
    add_organizer,
)
from tests.payments.helpers import card_order


def checkout_by_card(client, ctx):
    day = MarketDayFactory()
    producer = ProducerFactory()
    VendorFactory(market=day.market, producer=producer)
    product = ProductFactory(producer=producer, unit=Unit.PIECE, price_minor=25_000)
    OfferFactory(product=product, market_day=day, quantity_milli=5000)
    customer = UserFactory(email="buyer@example.test")
    client.post("/login", data={"email": customer.email, "password": PASSWORD})
    client.post("/basket/add", data={"product_id": product.id, "market_day_id": day.id, "quantity": "2"})
    page = client.get("/checkout").get_data(as_text=True)
    assert "Card, now" in page
    response = client.post("/checkout", data={"pickup_slot": day.slots[0].id, "payment_method": "card",
                                              "phone": "+996 555 000 000", "idempotency_key": "k-card-1-0123456789"})
    order = db.session.scalar(select(Order).where(Order.customer_id == customer.id))
    return response, order


def test_checkout_by_card_leads_to_the_card_page_and_the_server_confirms(client, ctx, stripe_on):
    response, order = checkout_by_card(client, ctx)
    assert response.status_code == 302 and response.headers["Location"] == f"/orders/{order.id}/pay"
    assert order.status == OrderStatus.PENDING_PAYMENT
    page = client.get(f"/orders/{order.id}/pay").get_data(as_text=True)
    assert "js.stripe.com/v3/" in page and "Authorise" in page
    # The browser's Stripe.js turns the card into a token and posts it.
    response = client.post(f"/orders/{order.id}/pay", data={"token": stripe_on.card_token()})
    assert response.status_code == 302
    assert db.session.get(Order, order.id).status == OrderStatus.CONFIRMED
    assert payments.current_payment(order).status == PaymentStatus.AUTHORIZED


def test_the_browser_saying_paid_confirms_nothing(client, ctx, stripe_on):
    _, order = checkout_by_card(client, ctx)
    client.post(f"/orders/{order.id}/pay/check", data={})  # no card was ever given
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT


def test_a_made_up_token_is_refused_without_a_500(client, ctx, stripe_on):
    _, order = checkout_by_card(client, ctx)
    for token in ("tok_doesnotexist", "<script>", ""):
        response = client.post(f"/orders/{order.id}/pay", data={"token": token})
        assert response.status_code in (200, 302)
    assert db.session.get(Order, order.id).status in (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED)


def test_another_customers_pay_page_is_not_found(client, ctx, stripe_on):
    order = card_order()
    UserFactory(email="eve@example.test")
    client.post("/login", data={"email": "eve@example.test", "password": PASSWORD})
    assert client.get(f"/orders/{order.id}/pay").status_code == 404
    assert client.post(f"/orders/{order.id}/pay", data={"token": stripe_on.card_token()}).status_code == 404
    assert client.post(f"/orders/{order.id}/pay/cash", data={}).status_code == 404
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT


def test_without_stripe_keys_checkout_offers_cash_only_and_says_why(client, ctx):
    day = MarketDayFactory()
    producer = ProducerFactory()
    VendorFactory(market=day.market, producer=producer)
    product = ProductFactory(producer=producer, unit=Unit.PIECE)
    OfferFactory(product=product, market_day=day)
    UserFactory(email="c@example.test")
    client.post("/login", data={"email": "c@example.test", "password": PASSWORD})
    client.post("/basket/add", data={"product_id": product.id, "market_day_id": day.id, "quantity": "1"})
    page = client.get("/checkout").get_data(as_text=True)
    assert "Card payment is not set up on this site" in page


def test_settlement_shows_each_producers_share_less_commission(client, ctx, stripe_on):
    order = card_order(by_weight=True, quantity_milli=2000, price_minor=100_000)  # 2 kg at 1000.00
    payments.submit_card(payments.current_payment(order), stripe_on.card_token(), order.customer.email)
    line = order.lines[0]
    orders.record_weight(line, line.producer, line.producer.user, 1500)  # 1500.00 captured
    organizer = UserFactory(email="org@example.test", roles=[Role.ORGANIZER])
    market = order.market_day.market
    add_organizer(market, organizer)
    pickup.hand_over(db.session.get(Order, order.id), organizer, confirm=pickup.ANYWAY)
    db.session.commit()
    payments.refund(organizer, order, 10_000, "one bad apple", producer_id=line.producer_id)
    db.session.commit()
    producer_name = line.producer.name

    client.post("/login", data={"email": "org@example.test", "password": PASSWORD})
    day = order.market_day.date
    response = client.get(f"/organize/markets/{market.id}/settlement?start={day}&end={day}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = response.get_data(as_text=True).strip().splitlines()
    assert rows[0].startswith("producer,currency,card_sales")
    # 1500.00 sold - 100.00 refunded = 1400.00; 5% commission = 70.00; owed 1330.00
    assert rows[1] == f"{producer_name},KZT,1500.00,0.00,100.00,5,70.00,1330.00"
    page = client.get(f"/organize/markets/{market.id}/settlement?start={day}&end={day}").get_data(as_text=True)
    assert producer_name in page


def test_settlement_is_only_for_the_markets_organizers_and_each_producer_sees_their_own(client, ctx):
    day = MarketDayFactory()
    UserFactory(email="other@example.test", roles=[Role.ORGANIZER])
    client.post("/login", data={"email": "other@example.test", "password": PASSWORD})
    assert client.get(f"/organize/markets/{day.market.id}/settlement").status_code == 404
    client.post("/logout")
    producer = ProducerFactory()
    client.post("/login", data={"email": producer.user.email, "password": PASSWORD})
    assert client.get(f"/organize/markets/{day.market.id}/settlement").status_code == 404
    assert client.get("/shop/settlement").status_code == 200


def test_refund_page_refuses_more_than_captured(client, ctx, stripe_on):
    order = card_order(by_weight=False, quantity_milli=1000, price_minor=50_000)
    payments.submit_card(payments.current_payment(order), stripe_on.card_token(), order.customer.email)
    organizer = UserFactory(email="org@example.test", roles=[Role.ORGANIZER])
    add_organizer(order.market_day.market, organizer)
    pickup.hand_over(db.session.get(Order, order.id), organizer, confirm=pickup.ANYWAY)
    db.session.commit()
    client.post("/login", data={"email": "org@example.test", "password": PASSWORD})
    page = client.post(f"/organize/orders/{order.id}/refund",
                       data={"amount": "600", "producer_id": "0", "reason": "x",
                             "key": "k" * 20}).get_data(as_text=True)
    assert "At most ₸500" in page  # money in the market's currency, not minor units
    for bad in ("-5", "abc", "1e9"):
        assert client.post(f"/organize/orders/{order.id}/refund",
                           data={"amount": bad, "producer_id": "0", "reason": "x", "key": "k" * 20}).status_code == 200
    assert db.session.scalar(select(Payment.amount_refunded_minor)) == 0


@pytest.mark.parametrize("locale, expected", [("ru", "5,5%"), ("ky", "5,5%"), ("en", "5.5%")])
def test_the_settlement_writes_the_commission_as_the_reader_writes_numbers(client, ctx, locale, expected):
    """"комиссия 5.0%" read wrong in Russian and Kyrgyz (tryout of issue 21): the locale's decimal
    sign, and no ".0" for a whole percentage."""
    day = MarketDayFactory()
    day.market.commission_bp = 550
    organizer = UserFactory(email="org@example.test", roles=[Role.ORGANIZER])
    add_organizer(day.market, organizer)
    db.session.commit()
    client.post("/login", data={"email": "org@example.test", "password": PASSWORD})
    client.set_cookie("locale", locale)
    page = client.get(f"/organize/markets/{day.market.id}/settlement?start={day.date}&end={day.date}").text
    assert f" {expected}" in page
    day.market.commission_bp = 500
    db.session.commit()
    page = client.get(f"/organize/markets/{day.market.id}/settlement?start={day.date}&end={day.date}").text
    assert " 5%" in page and "5.0%" not in page and "5,0%" not in page
