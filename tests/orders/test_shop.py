"""The shop on a phone (issue #20) through HTTP: a basket per market day that never drops an item
unasked, adding without leaving the page, checkout that preselects and prefills, and after the
order: its items and money in words, the stall, the calendar file, order again — owners only."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.markets.models import Vendor
from marketplace.orders import calendar, services
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from tests.factories import (
    MarketDayFactory,
    MarketFactory,
    OfferFactory,
    ProducerFactory,
    ProductFactory,
    UserFactory,
    VendorFactory,
)
from tests.orders.helpers import World, place
from tests.orders.test_views import add


@pytest.fixture
def world(ctx):
    return World()


@pytest.fixture
def bishkek(ctx, world):
    """A second market in another currency, with honey by the jar on its day."""
    market = MarketFactory(name="Bishkek Bazaar", slug="bishkek-bazaar", currency="KGS", timezone="Asia/Bishkek")
    day = MarketDayFactory(market=market)
    producer = ProducerFactory(name="Issyk-Kul Honey")
    VendorFactory(market=market, producer=producer)
    honey = ProductFactory(producer=producer, name="Mountain honey", currency="KGS", price_minor=70000, unit="jar")
    OfferFactory(product=honey, market_day=day, quantity_milli=5000)
    db.session.commit()
    return day, honey


def basket_html(client) -> str:
    return client.get("/basket").text


def test_adding_for_another_market_keeps_the_first_basket(client, world, bishkek):
    day, honey = bishkek
    add(client, world, world.potatoes, "2")
    response = add(client, world, honey, "1", day=day)
    assert "Mountain honey is in your basket" in response.text
    page = basket_html(client)
    # Two baskets, each in its own currency, each with its own checkout; nothing was taken out.
    assert f'id="basket-{world.day.id}-{world.potatoes.id}"' in page and f'id="basket-{day.id}-{honey.id}"' in page
    assert "₸400" in page and ("KGS" in page or "сом" in page)
    assert page.count('href="/checkout?day=') == 2
    assert "taken out" not in page and "flash-success" not in page


def test_add_answers_json_for_the_product_page_script(client, world):
    response = client.post("/basket/add", headers={"Accept": "application/json"},
                           data={"product_id": world.potatoes.id, "market_day_id": world.day.id, "quantity": "2"})
    assert response.status_code == 200
    assert response.json["ok"] and response.json["count"] == 1 and "2\xa0kg in all" in response.json["message"]
    refused = client.post("/basket/add", headers={"Accept": "application/json"},
                          data={"product_id": world.potatoes.id, "market_day_id": world.day.id, "quantity": "50"})
    assert refused.status_code == 409 and not refused.json["ok"] and "Only 10" in refused.json["message"]
    assert refused.json["count"] == 1  # the basket is as it was


def test_add_goes_back_to_the_product_page_with_the_message(client, world):
    response = client.post("/basket/add", data={"product_id": world.potatoes.id, "market_day_id": world.day.id,
                                                "quantity": "1", "next": f"/products/{world.potatoes.id}"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/products/{world.potatoes.id}")
    evil = client.post("/basket/add", data={"product_id": world.potatoes.id, "market_day_id": world.day.id,
                                            "quantity": "1", "next": "https://evil.example/"})
    assert evil.headers["Location"].endswith("/basket")


def test_a_double_add_shows_the_total_so_it_is_seen(client, world):
    add(client, world, world.potatoes, "1")
    response = add(client, world, world.potatoes, "1")
    assert "2\xa0kg in all" in response.text


@pytest.mark.parametrize("quantity", ["1e9", "-5", "0", "NaN", "Infinity", "１", "9" * 30, "1,5,5", " "])
def test_hostile_quantities_change_nothing(client, world, quantity):
    response = client.post("/basket/add", data={"product_id": world.potatoes.id, "market_day_id": world.day.id,
                                                "quantity": quantity}, follow_redirects=True)
    assert response.status_code in (200, 400)
    assert "Your basket is empty" in basket_html(client)


def test_basket_in_the_session_is_limited_and_malformed_data_reads_empty(client, world, app):
    with client.session_transaction() as session:
        session["basket"] = {"days": {"x": {"1": "y"}, str(world.day.id): {"abc": 5, str(world.potatoes.id): -3}}}
    assert "Your basket is empty" in basket_html(client)
    with client.session_transaction() as session:
        session["basket"] = {"day": world.day.id, "items": {str(world.potatoes.id): 1000}}  # the old shape
    assert f'id="basket-{world.day.id}-{world.potatoes.id}"' in basket_html(client)


def test_too_many_market_days_are_refused_not_dropped(ctx, world):
    baskets = {1000 + i: {1: 1000} for i in range(services.MAX_BASKET_DAYS)}
    change = services.basket_add(baskets, world.day, world.potatoes.id, "1")
    assert change.error and "market days already" in change.error
    assert change.baskets == baskets


def test_moving_a_basket_to_another_market_is_refused(client, world, bishkek):
    day, honey = bishkek
    add(client, world, world.potatoes, "1")
    response = client.post(f"/basket/{world.day.id}/move", data={"market_day_id": day.id})
    assert response.status_code == 404
    assert f'id="basket-{world.day.id}-{world.potatoes.id}"' in basket_html(client)


def test_checkout_of_one_basket_leaves_the_other(client, login, world, bishkek):
    day, honey = bishkek
    login(world.customer.email)
    add(client, world, world.potatoes, "1")
    add(client, world, honey, "1", day=day)
    assert client.get("/checkout").status_code == 302  # two baskets: which one?
    page = client.get(f"/checkout?day={world.day.id}")
    key = re.search(r'name="idempotency_key" type="hidden" value="([0-9a-f]+)"', page.text).group(1)
    response = client.post(f"/checkout?day={world.day.id}", data={
        "pickup_slot": world.slot.id, "payment_method": "cash", "phone": "+7 701 123 45 67", "idempotency_key": key})
    assert response.status_code == 302
    remaining = basket_html(client)
    assert f'id="basket-{day.id}-{honey.id}"' in remaining and f"basket-{world.day.id}-" not in remaining


def test_checkout_preselects_the_first_slot_with_room_and_prefills_the_phone(client, login, world):
    world.slots[0].reserved = world.slots[0].capacity
    world.customer.phone = "+7 777 000 11 22"
    db.session.commit()
    login(world.customer.email)
    add(client, world, world.potatoes, "1")
    page = client.get("/checkout").text
    assert re.search(rf'value="{world.slots[0].id}" disabled', page)
    assert re.search(rf'value="{world.slots[1].id}"\s*checked', page)
    assert 'value="+7 777 000 11 22"' in page and "Filled in from your account" in page
    assert "choice-card" in page and 'value="cash"' in page


def test_phone_comes_from_the_last_order_when_the_account_has_none(client, login, world):
    place(world, {world.potatoes: 1000})
    login(world.customer.email)
    add(client, world, world.potatoes, "1")
    assert 'value="+7 701 000 00 00"' in client.get("/checkout").text


def order_page(client, order) -> str:
    response = client.get(f"/orders/{order.id}")
    assert response.status_code == 200
    return response.text


def test_order_list_shows_items_pickup_time_and_money_in_words(client, login, world):
    open_order = place(world, {world.potatoes: 2000, world.slippers: 1000})
    cancelled = place(world, {world.honey: 500})
    services.cancel_by_customer(cancelled, world.customer)
    db.session.commit()
    login(world.customer.email)
    page = client.get("/orders").text
    assert "Potatoes 2\xa0kg" in page and "Slippers 1\xa0pc." in page
    assert "Pickup " in page and open_order.pickup_code in page
    assert "Pay ₸5,400 in cash at pickup" in page
    assert "Nothing to pay" in page
    assert "To pay" not in page


def test_order_page_has_stall_map_calendar_and_after_pickup_review_and_again(client, login, world):
    world.market.lat, world.market.lon = 51.1282, 71.4304
    db.session.execute(Vendor.__table__.update().where(Vendor.producer_id == world.farm.id).values(stall="B-12"))
    db.session.commit()
    order = place(world, {world.potatoes: 1000, world.slippers: 1000})
    login(world.customer.email)
    page = order_page(client, order)
    assert "Stall B-12" in page and "openstreetmap.org/?mlat=51.1282" in page
    assert f'href="/orders/{order.id}/calendar.ics"' in page
    assert "Write a review" not in page and "Order again" not in page
    order.status, order.picked_up_at = OrderStatus.PICKED_UP, order.created_at
    db.session.commit()
    page = order_page(client, order)
    assert f"/trust/orders/{order.id}/producers/{world.farm.id}/review" in page
    assert "Order again" in page and "Paid ₸5,200 in cash at pickup" in page
    listing = client.get("/orders").text
    assert "Write a review" in listing and "Order again" in listing


def test_calendar_file_is_the_pickup_and_only_for_the_owner(client, login, world):
    world.market.name = "Green; Bazaar, \\ test"
    db.session.commit()
    order = place(world, {world.potatoes: 1000})
    login(world.customer.email)
    response = client.get(f"/orders/{order.id}/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    text = response.get_data(as_text=True)
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "DTSTART:" + world.slot.starts_at.strftime("%Y%m%dT%H%M%SZ") in text
    assert "Green\\; Bazaar\\, \\\\ test" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    other = UserFactory()
    client.post("/logout")
    login(other.email)
    assert client.get(f"/orders/{order.id}/calendar.ics").status_code == 404
    assert client.post(f"/orders/{order.id}/again").status_code == 404


def test_folding_never_cuts_a_character():
    folded = calendar.fold("DESCRIPTION:" + "Картофель молодой, " * 10)
    for line in folded.split("\r\n"):
        assert len(line.encode()) <= 75
        line.encode().decode()  # whole characters only
    assert folded.replace("\r\n ", "") == "DESCRIPTION:" + "Картофель молодой, " * 10


def test_order_again_refills_the_basket_for_the_next_open_day_with_what_is_there(client, login, world):
    order = place(world, {world.potatoes: 2000, world.honey: 1000, world.slippers: 1000})
    next_week = MarketDayFactory(market=world.market, date=world.day.date + timedelta(days=7))
    OfferFactory(product=world.potatoes, market_day=next_week, quantity_milli=1000)
    db.session.commit()
    login(world.customer.email)
    response = client.post(f"/orders/{order.id}/again", follow_redirects=True)
    assert response.status_code == 200
    # The first open day is this week's own day (still open): everything is there.
    assert f'id="basket-{world.day.id}-{world.potatoes.id}"' in response.text
    assert "Back in your basket" in response.text


def test_order_again_names_what_the_next_day_lacks(ctx, world):
    order = place(world, {world.potatoes: 2000, world.slippers: 1000})
    world.potato_offer.reserved_milli = world.potato_offer.quantity_milli - 500
    db.session.commit()
    change = services.order_again(order, {})
    assert change.items == {world.potatoes.id: 500, world.slippers.id: 1000}
    assert any("Only 0.5" in notice for notice in change.notices)


def test_card_order_words_follow_the_payment(ctx, app, world):
    from flask import render_template_string

    from marketplace.payments.queries import PaymentFacts

    order = place(world, {world.potatoes: 1000})
    order.payment_method = PaymentMethod.CARD
    template = '{% from "orders/_macros.html" import payment_state %}{{ payment_state(order, facts) }}'
    with app.test_request_context("/"):
        def words(facts, status):
            order.status = status
            return " ".join(render_template_string(template, order=order, facts=facts).split())
        held = PaymentFacts("authorized", 23000, 0, 0)
        assert words(held, OrderStatus.CONFIRMED).startswith("₸230 held on your card")
        assert words(PaymentFacts("captured", 23000, 20000, 0), OrderStatus.PICKED_UP) == "Charged ₸200 to your card"
        assert words(PaymentFacts("partially_refunded", 23000, 20000, 5000), OrderStatus.PICKED_UP) == \
            "Charged ₸200 to your card; ₸50 refunded"
        assert words(PaymentFacts("canceled", 23000, 0, 0), OrderStatus.CANCELLED) == \
            "Nothing charged: the hold on your card is released"
        assert words(PaymentFacts("refunded", 23000, 20000, 20000), OrderStatus.CANCELLED) == \
            "Refunded ₸200 to your card"
    db.session.rollback()


@pytest.mark.parametrize("locale", ["ru", "kk", "ky", "en"])
def test_the_added_message_reads_right_in_each_language(client, world, locale):
    """Pieces are "1 шт." (a dot of their own): no "шт.." at the end; and no Russian
    "на суббота", which would need the accusative ("на субботу") the date format does not give."""
    client.set_cookie("locale", locale)
    for product in (world.slippers, world.potatoes):
        response = client.post("/basket/add", headers={"Accept": "application/json"},
                               data={"product_id": product.id, "market_day_id": world.day.id, "quantity": "1"})
        message = response.json["message"]
        assert response.json["ok"] and ".." not in message, message
        assert "в корзине на" not in message, message


def test_order_again_message_reads_right_in_russian(client, login, world):
    order = place(world, {world.potatoes: 1000})
    login(world.customer.email)
    client.set_cookie("locale", "ru")
    response = client.post(f"/orders/{order.id}/again", follow_redirects=True)
    assert "Снова в корзине" in response.text and "в корзине на" not in response.text


def test_the_header_badge_counts_items_in_the_right_plural(client, world):
    """A screen reader hears "Корзина: 1 товар", "2 товара", "5 товаров" — on the page and after
    the product page's script adds without reloading."""
    client.set_cookie("locale", "ru")
    added = client.post("/basket/add", headers={"Accept": "application/json"},
                        data={"product_id": world.potatoes.id, "market_day_id": world.day.id, "quantity": "1"})
    assert added.json["count_label"] == "1 товар"
    badge = re.search(r'<span class="basket-badge".*?</a>', client.get("/basket").text, re.S).group()
    assert "1 товар<" in badge
    added = client.post("/basket/add", headers={"Accept": "application/json"},
                        data={"product_id": world.slippers.id, "market_day_id": world.day.id, "quantity": "1"})
    assert added.json["count"] == 2 and added.json["count_label"] == "2 товара"
