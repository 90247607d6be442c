"""The anonymous catalog page cache: served again only while nothing shown can have changed,
never across visitors' tokens, logins, baskets or messages."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import update

from marketplace.core.extensions import db
from marketplace.producers.models import Offer, Product
from tests.catalog.conftest import count_queries, listed, market  # noqa: F401 (fixtures)
from tests.factories import MarketDayFactory, OfferFactory, UserFactory

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
