"""A customer on a phone or a desktop finds honey from the home page and reaches the basket button."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.harness import snap

pytestmark = pytest.mark.e2e

PRODUCT = "Мёд донниковый"


def _ensure_ordering_is_open(app, product_name: str) -> None:
    """Ordering windows open and close with the clock; outside one, let time pass to the next opening."""
    from sqlalchemy import select

    from marketplace.catalog import queries
    from marketplace.core.db import utcnow
    from marketplace.core.extensions import db
    from marketplace.producers.models import Product

    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.name == product_name))
        availability = queries.product_availability(product)
        if not any(a.orderable for a in availability):
            day = next(a.day for a in availability if a.day.cutoff_at > utcnow())
            day.ordering_opens_at = utcnow() - timedelta(minutes=1)
            db.session.commit()


def test_customer_searches_and_reaches_the_basket_button(page, live_server):
    _ensure_ordering_is_open(live_server.app, PRODUCT)
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Next market days")).to_be_visible()
    snap(page, "home")

    # One search box on every page: the header's.
    header = page.get_by_role("banner")
    header.get_by_label("Search products").fill("МЁД")
    header.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="Results for “МЁД”")).to_be_visible()
    expect(page.get_by_role("link", name=PRODUCT)).to_be_visible()
    expect(page.get_by_role("link", name="Картофель молодой")).to_have_count(0)
    snap(page, "search")

    # Narrow it down as a person would: only what can be ordered now, cheapest first.
    page.get_by_text("Filters and sorting").click()
    page.get_by_label("Can be ordered now").check()
    page.get_by_label("Sort by").select_option(label="Price: low to high")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("link", name="Remove filter: Can be ordered now")).to_be_visible()
    expect(page.get_by_role("link", name=PRODUCT)).to_be_visible()
    # The URL holds the whole state, and only that: it can be shared.
    assert page.url.endswith("/products?q=%D0%9C%D0%81%D0%94&sort=price&available=1"), page.url
    snap(page, "filtered")

    page.get_by_role("link", name=PRODUCT).click()
    expect(page.get_by_role("heading", name=PRODUCT, level=1)).to_be_visible()
    expect(page.get_by_role("group", name="Market day").get_by_role("radio").first).to_be_checked()
    expect(page.get_by_label("Quantity (jar)")).to_have_value("1")
    expect(page.get_by_role("button", name="Add to basket")).to_be_visible()
    expect(page.get_by_role("article").get_by_role("link", name="Asel Bekova Honey")).to_be_visible()
    snap(page, "product")


def test_customer_looks_at_a_market_and_its_producer(page, live_server):
    page.goto(live_server.url + "/markets")
    page.get_by_role("link", name="Астанинский фермерский рынок").click()
    expect(page.get_by_role("heading", name="Астанинский фермерский рынок", level=1)).to_be_visible()
    expect(page.get_by_text("пр. Кабанбай батыра 21")).to_be_visible()
    # The map is drawn by Leaflet when asked for (tiles may not load here; the address above is the fallback).
    page.get_by_role("button", name="Map").click()
    expect(page.get_by_role("region", name="Map")).to_be_visible()
    # The marker's picture comes from Leaflet's own folder (a late stylesheet made it guess a
    # wrong one: two 404s in a CI run).
    expect(page.locator("img.leaflet-marker-icon")).to_have_attribute(
        "src", re.compile(r"/static/vendor/leaflet/images/marker-icon(-2x)?\.png$"))
    expect(page.get_by_role("heading", name="Upcoming market days")).to_be_visible()
    snap(page, "market")

    page.get_by_role("heading", name="Producers at this market").scroll_into_view_if_needed()
    page.get_by_role("link", name="Asel Bekova Honey").click()
    expect(page.get_by_role("heading", name="Asel Bekova Honey", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Where to find us")).to_be_visible()
    snap(page, "producer")
