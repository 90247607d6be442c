"""My market: chosen with one tap (a cookie) or suggested by the language; home and lists show
its next day first, in its currency; every market is one tap away; the page cache keeps a page
per market."""
from __future__ import annotations

import pytest

from marketplace.catalog import mymarket
from marketplace.core.extensions import db
from tests.catalog.conftest import add_photo
from tests.factories import MarketDayFactory, MarketFactory, OfferFactory, ProducerFactory


@pytest.fixture
def two_markets(ctx, listed, market):
    """Green Bazaar (tenge) sells potatoes; Osh Bazaar (som) sells apricots; each has a day open."""
    som = MarketFactory(name="Osh Bazaar", slug="osh-bazaar", currency="KGS", timezone="Asia/Bishkek")
    potatoes = listed("Potatoes", price_minor=45000)
    apricots = listed("Apricots", at=som, producer=ProducerFactory(), currency="KGS", price_minor=12000)
    add_photo(potatoes)
    tenge_day, som_day = MarketDayFactory(market=market), MarketDayFactory(market=som)
    OfferFactory(product=potatoes, market_day=tenge_day, price_minor=40000)
    OfferFactory(product=apricots, market_day=som_day)
    return market, som, potatoes, apricots


def test_choosing_a_market_sets_a_long_lived_cookie_and_goes_back(client, two_markets):
    response = client.post("/my-market", data={"market": "osh-bazaar", "next": "/products"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/products")
    cookie = response.headers["Set-Cookie"]
    assert "market=osh-bazaar" in cookie and "HttpOnly" in cookie and "Max-Age=31536000" in cookie
    assert client.post("/my-market", data={"market": "nowhere"}).status_code == 404
    away = client.post("/my-market", data={"market": "osh-bazaar", "next": "https://evil.example/"})
    assert away.headers["Location"].endswith("/")


def test_home_without_a_market_asks_where_you_shop(client, two_markets):
    html = client.get("/").text
    assert "Where do you shop?" in html and 'value="osh-bazaar"' in html and 'value="green-bazaar"' in html


def test_home_leads_with_this_weeks_products_at_my_market(client, two_markets):
    client.set_cookie(mymarket.COOKIE, "green-bazaar")
    html = client.get("/").text
    assert "Your market" in html and "This week" in html
    assert "Potatoes" in html and "₸400" in html  # the day's price, not the catalogue's ₸450
    assert "Apricots" not in html


@pytest.mark.parametrize("locale, shown, hidden", [("kk", "Potatoes", "Apricots"), ("ky", "Apricots", "Potatoes")])
def test_the_language_suggests_a_market_of_its_country(client, two_markets, locale, shown, hidden):
    html = client.get("/", headers={"Accept-Language": locale}).text
    assert shown in html and hidden not in html


def test_the_list_shows_my_market_and_all_markets_is_one_tap(client, two_markets):
    client.set_cookie(mymarket.COOKIE, "osh-bazaar")
    html = client.get("/products").text
    assert "Apricots" in html and "Potatoes" not in html and "At Osh Bazaar" in html
    assert 'href="/products?market=*"' in html
    everything = client.get("/products?market=*").text
    assert "Apricots" in everything and "Potatoes" in everything
    # A market chosen in the URL wins over the cookie.
    assert "Potatoes" in client.get("/products?market=green-bazaar").text


def test_filtering_after_all_markets_stays_on_all_markets(client, two_markets):
    """The form on `market=*` sends its market select as it stands: an empty value would bring
    back the visitor's own market (the cookie's) as soon as they pick a category."""
    client.set_cookie(mymarket.COOKIE, "osh-bazaar")
    html = client.get("/products?market=*").text
    assert '<option value="*" selected>' in html


def test_a_bad_market_cookie_is_no_market(client, two_markets):
    client.set_cookie(mymarket.COOKIE, "'; DROP TABLE market; --" + "x" * 5000)
    html = client.get("/products").text
    assert "Apricots" in html and "Potatoes" in html


def test_the_page_cache_keeps_a_page_per_market(app, client, two_markets, tmp_path):
    app.config.update(PAGE_CACHE_SECONDS=60, PAGE_CACHE_VERSION_FILE=str(tmp_path / "version"))
    app.extensions.pop("pagecache", None)
    try:
        client.set_cookie(mymarket.COOKIE, "osh-bazaar")
        assert "Apricots" in client.get("/").text
        client.set_cookie(mymarket.COOKIE, "green-bazaar")
        html = client.get("/").text
        assert "Potatoes" in html and "Apricots" not in html
    finally:
        app.config.pop("PAGE_CACHE_SECONDS")
        app.config.pop("PAGE_CACHE_VERSION_FILE")
        app.extensions.pop("pagecache", None)


def _market_switch(html: str) -> str:
    return html.split('class="market-switch"', 1)[1].split("</details>", 1)[0]


def test_the_market_switch_follows_a_renamed_market_and_the_choice(client, two_markets):
    """Its buttons are rendered once and reused (web/fragments.py): a rename shows at once, and the
    pressed button follows the visitor's market."""
    market, som, _potatoes, _apricots = two_markets
    assert "Osh Bazaar" in _market_switch(client.get("/products").text)
    som.name = "Osh Central Bazaar"
    db.session.commit()
    assert "Osh Central Bazaar" in _market_switch(client.get("/products").text)
    assert "Osh Central Bazaar" in _market_switch(client.get("/").text)
    client.set_cookie(mymarket.COOKIE, "green-bazaar")
    switch = _market_switch(client.get("/").text)
    pressed = switch.split('aria-pressed="true"')[0].rsplit("<button", 1)[1]
    assert 'value="green-bazaar"' in pressed
