"""The anonymous catalog page cache: served again only while nothing shown can have changed,
never across visitors' tokens, logins, baskets or messages."""
from __future__ import annotations

import re
import time
import uuid

import pytest
from sqlalchemy import update

from marketplace.cli import create_app
from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.orders.models import PaymentMethod
from marketplace.orders.services import place_order
from marketplace.producers.models import Offer, Product
from marketplace.web.pagecache import shared_version
from tests.catalog.conftest import count_queries, listed, market  # noqa: F401 (fixtures)
from tests.deployment.test_faults import own_redis  # noqa: F401 (fixture)
from tests.factories import MarketDayFactory, OfferFactory, UserFactory
from tests.orders.helpers import World, place

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
LEFT_7, LEFT_2 = re.compile(r"\b7\s*kg left"), re.compile(r"\b2\s*kg left")


@pytest.fixture
def cached(app, tmp_path):
    # A version file of our own: other processes on this host writing to their databases
    # would otherwise invalidate our pages (as they should, between workers of one site).
    app.config.update(PAGE_CACHE_SECONDS=60, PAGE_CACHE_VERSION_FILE=str(tmp_path / "version"))
    app.extensions.pop("pagecache", None)
    yield app
    app.config.pop("PAGE_CACHE_SECONDS")
    app.config.pop("PAGE_CACHE_VERSION_FILE")
    app.extensions.pop("pagecache", None)


@pytest.fixture
def honey(listed, market):  # noqa: F811
    product = listed("Мёд горный")
    OfferFactory(product=product, market_day=MarketDayFactory(market=market), quantity_milli=7000)
    return product


def test_second_anonymous_visit_runs_no_query_and_shows_the_same_page(cached, client, honey):
    first = client.get("/products")
    with count_queries(cached) as statements:
        second = client.get("/products")
    assert statements == []
    assert "Мёд горный" in second.text
    assert TOKEN.sub("", first.text) == TOKEN.sub("", second.text)


def test_a_renamed_product_shows_at_once(cached, client, honey, ctx):
    assert "Мёд горный" in client.get("/products").text
    db.session.get(Product, honey.id).name = "Мёд степной"
    db.session.commit()
    page = client.get("/products").text
    assert "Мёд степной" in page and "Мёд горный" not in page


def test_stock_reserved_by_a_bulk_update_shows_at_once(cached, client, honey, ctx):
    url = f"/products/{honey.id}"
    assert LEFT_7.search(client.get(url).text)
    db.session.execute(update(Offer).where(Offer.product_id == honey.id).values(reserved_milli=5000))
    db.session.commit()
    page = client.get(url).text
    assert LEFT_2.search(page) and not LEFT_7.search(page)


def test_an_uncommitted_write_does_not_leave_a_stale_page(cached, client, honey, ctx):
    client.get("/products")
    db.session.get(Product, honey.id).name = "Мёд степной"
    db.session.flush()
    db.session.rollback()
    assert "Мёд горный" in client.get("/products").text


def test_each_visitor_gets_a_token_of_their_own(cached, app, honey):
    alice, bob = app.test_client(), app.test_client()
    alice_page = alice.get(f"/products/{honey.id}").text
    bob_page = bob.get(f"/products/{honey.id}").text
    alice_tokens, bob_tokens = set(TOKEN.findall(alice_page)), set(TOKEN.findall(bob_page))
    assert alice_tokens and bob_tokens and not alice_tokens & bob_tokens
    assert "\x00" not in bob_page
    # Bob's token is the one his session cookie signs: the form works for him.
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        day_id = int(re.search(r'name="market_day_id" value="(\d+)"', bob_page).group(1))
        posted = bob.post("/basket/add", data={"csrf_token": bob_tokens.pop(), "product_id": honey.id,
                                               "market_day_id": day_id, "quantity": "1"})
        refused = alice.post("/basket/add", data={"csrf_token": TOKEN.findall(bob_page)[0], "product_id": honey.id,
                                                  "market_day_id": day_id, "quantity": "1"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert posted.status_code == 302
    assert refused.status_code == 400


def test_a_logged_in_customer_gets_a_fresh_page(cached, client, login, honey):
    client.get("/products")
    with cached.app_context():
        UserFactory(email="dana@example.test")
    login("dana@example.test")
    with count_queries(cached) as statements:
        page = client.get("/products").text
    assert statements
    assert "My account" in page


def test_a_flashed_message_is_shown_and_not_kept(cached, client, honey):
    client.get("/products")
    client.post("/basket/add", data={"product_id": honey.id, "market_day_id": 1, "quantity": "",
                                     "next": "/products"})
    with_message = client.get("/products").text
    assert "Enter how much you want." in with_message
    assert "Enter how much you want." not in client.get("/products").text


def test_pages_expire_after_their_lifetime(cached, client, honey):
    cached.config["PAGE_CACHE_SECONDS"] = 0.2
    client.get("/products")
    time.sleep(0.3)
    with count_queries(cached) as statements:
        client.get("/products")
    assert statements


def test_off_under_testing_by_default(app, client, honey):
    client.get("/products")
    with count_queries(app) as statements:
        client.get("/products")
    assert statements


# --- A sale changes stock, not the catalog (issue 23) ----------------------------------

LEFT = re.compile(r"(\d+(?:[.,]\d+)?)\s*kg left")


@pytest.fixture
def world(cached, ctx):
    return World()


def _left(page: str) -> list[str]:
    """The stock figures shown, in kg."""
    return LEFT.findall(page)


def test_a_sale_keeps_the_cached_list_and_its_stock_figure_is_right_on_the_next_request(cached, client, world):
    day_list = f"/products?market_day={world.day.id}"
    assert _left(client.get(day_list).text) == ["10", "10"]  # honey, potatoes
    client.get("/products")

    place(world, {world.potatoes: 1000})

    with count_queries(cached) as statements:
        page = client.get(day_list).text
    # Not rendered again: one look-up of what is left of the page's offers, nothing else.
    assert len(statements) == 1 and "offer" in statements[0].lower()
    assert _left(page) == ["10", "9"]
    with count_queries(cached) as statements:
        again = client.get(day_list).text
        client.get("/products")  # shows no stock figure: not even the look-up
    assert statements == []
    assert _left(again) == ["10", "9"] and "\x00" not in again


def test_a_sale_keeps_the_cached_product_page_with_the_day_s_stock_right(cached, client, world):
    url = f"/products/{world.slippers.id}"
    assert re.search(r"\b5\s*pc\.? left", client.get(url).text)
    place(world, {world.slippers: 2000})
    with count_queries(cached) as statements:
        page = client.get(url).text
    assert len(statements) == 1 and "product" in statements[0].lower()
    assert re.search(r"\b3\s*pc\.? left", page) and not re.search(r"\b5\s*pc\.? left", page)


def test_the_sale_of_the_last_unit_renders_the_page_anew(cached, client, ctx):
    world = World(stock_milli=1000)
    url = f"/products/{world.potatoes.id}"
    assert 'name="market_day_id"' in client.get(url).text
    place(world, {world.potatoes: 1000})
    with count_queries(cached) as statements:
        page = client.get(url).text
    assert len(statements) > 1
    assert 'name="market_day_id"' not in page  # no order form for what is gone


def test_a_price_edit_renders_the_cached_list_anew(cached, client, world):
    assert "200" in client.get("/products").text
    db.session.get(Product, world.potatoes.id).price_minor = 23700
    db.session.commit()
    with count_queries(cached) as statements:
        page = client.get("/products").text
    assert len(statements) > 1
    assert "237" in page


def _versions(app):
    with app.app_context():
        versions = shared_version(app).current()
    assert versions is not None
    return versions


def test_two_apps_sharing_redis_see_one_version(database_url, tmp_path, own_redis):
    settings = {"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "MEDIA_ROOT": str(tmp_path),
                "REDIS_URL": own_redis.url, "PAGE_CACHE_SECONDS": 60}
    first, second = create_app(settings), create_app(settings)
    try:
        with first.app_context():
            world = World()
            product_id, day_id, slot_id, customer_id = world.honey.id, world.day.id, world.slot.id, world.customer.id
        visitor = second.test_client()
        assert "Honey" in visitor.get("/products").text
        assert _versions(first) == _versions(second)

        with first.app_context():
            db.session.get(Product, product_id).name = "Mountain honey"
            db.session.commit()

        assert _versions(first) == _versions(second)
        page = visitor.get("/products").text
        assert "Mountain honey" in page

        # A sale on one host: the other keeps its page and shows what is left.
        day_list = f"/products?market_day={day_id}"
        assert _left(visitor.get(day_list).text) == ["10", "10"]
        with first.app_context():
            place_order(db.session.get(User, customer_id), day_id, {product_id: 2000}, slot_id=slot_id,
                        payment_method=PaymentMethod.CASH, phone="+7 701 000 00 00", idempotency_key=uuid.uuid4().hex)
            db.session.commit()
        with count_queries(second) as statements:
            page = visitor.get(day_list).text
        assert len(statements) == 1 and _left(page) == ["8", "10"]
    finally:
        for app in (first, second):
            with app.app_context():
                db.engine.dispose()


def test_a_figure_marker_sent_in_the_raw_query_string_is_not_filled_in(cached, client, world):
    # A raw NUL in the query string (gunicorn passes it on; no browser sends one) reaches the page
    # through the language switcher's "next" (request.full_path): it looked like a live figure's
    # marker, so a made-up index was a 500 and a real one put a stock figure into the form.
    url = f"/products/{world.slippers.id}"
    for query in ("a=\x00fig99\x00", "a=\x00fig0\x00"):
        for _visit in range(2):  # rendered, then served from the cache
            response = client.get(url, environ_overrides={"QUERY_STRING": query})
            assert response.status_code == 200
            assert re.search(r"\b5\s*pc\.? left", response.text)
            assert not re.search(r'name="next" value="[^"]*left', response.text)
