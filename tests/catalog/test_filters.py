"""Filters (category, market, market day, badge, producer kind, available now), sorts, pages, URL state."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from marketplace.core.extensions import db
from marketplace.markets.models import VendorStatus
from marketplace.producers.models import ProducerKind, StockMode
from marketplace.trust.models import CertificationScheme, CertificationStatus
from tests.catalog.conftest import certify, names_on
from tests.factories import (
    CategoryFactory,
    MarketDayFactory,
    MarketFactory,
    OfferFactory,
    ProducerFactory,
    VendorFactory,
    today,
)


def query_of(url: str) -> dict:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(url).query))


def names(client, **args):
    response = client.get("/products", query_string=args)
    assert response.status_code == 200
    return sorted(names_on(response))


def day_at(market, days_ahead, **fields):
    """A market day `days_ahead` days from now, ordering open now unless fields say otherwise."""
    opens = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=days_ahead)
    values = dict(market=market, date=opens.date(), opens_at=opens, closes_at=opens + timedelta(hours=5),
                  ordering_opens_at=opens - timedelta(days=6), cutoff_at=opens - timedelta(hours=12))
    values.update(fields)
    return MarketDayFactory(**values)


def test_category_includes_its_subcategories(client, listed, ctx):
    dairy = CategoryFactory(slug="dairy", name="Dairy")
    cheese = CategoryFactory(slug="cheese", name="Cheese", parent=dairy)
    listed("Молоко", category=dairy)
    listed("Брынза", category=cheese)
    listed("Морковь")
    assert names(client, category="dairy") == ["Брынза", "Молоко"]
    assert names(client, category="cheese") == ["Брынза"]
    assert names(client, category="no-such-category") == []


def test_market_day_lists_its_offers_and_standing_stock(client, listed, market, ctx):
    saturday, next_saturday = day_at(market, 3), day_at(market, 10)
    potatoes = listed("Картофель")
    OfferFactory(product=potatoes, market_day=saturday)
    carrots = listed("Морковь")
    OfferFactory(product=carrots, market_day=next_saturday)
    listed("Шырдак", stock_mode=StockMode.INVENTORY, inventory_milli=2000)
    elsewhere = MarketFactory()
    day_at(elsewhere, 3)
    listed("Кесе", stock_mode=StockMode.INVENTORY, inventory_milli=2000, at=elsewhere)
    assert names(client, market_day=saturday.id) == ["Картофель", "Шырдак"]
    assert names(client, market_day=next_saturday.id) == ["Морковь", "Шырдак"]
    assert names(client, market_day=999_999) == []


def test_badge_filter_needs_a_verified_certificate_valid_today(client, listed, ctx):
    good, pending, expired, rejected, other_scheme = (ProducerFactory() for _ in range(5))
    certify(good)
    certify(pending, status=CertificationStatus.PENDING)
    certify(expired, valid_from=today() - timedelta(days=400), valid_until=today() - timedelta(days=1))
    certify(rejected, status=CertificationStatus.REJECTED)
    certify(other_scheme, scheme=CertificationScheme.HALAL)
    for producer in (good, pending, expired, rejected, other_scheme):
        listed(f"Мёд {producer.name}", producer=producer)
    assert names(client, badge="organic_pgs") == [f"Мёд {good.name}"]
    assert names(client, badge="halal") == [f"Мёд {other_scheme.name}"]


def test_producer_kind(client, listed, ctx):
    listed("Шырдак", producer=ProducerFactory(kind=ProducerKind.CRAFTSMAN))
    listed("Картофель", producer=ProducerFactory(kind=ProducerKind.FARMER))
    assert names(client, kind="craftsman") == ["Шырдак"]
    assert names(client, kind="farmer") == ["Картофель"]


def test_available_now(client, listed, market, ctx):
    now = datetime.now(timezone.utc)
    open_day = day_at(market, 3)
    not_yet = day_at(market, 20, ordering_opens_at=now + timedelta(days=10))
    too_late = day_at(market, 1, cutoff_at=now - timedelta(hours=1), ordering_opens_at=now - timedelta(days=5))
    OfferFactory(product=listed("Открыто"), market_day=open_day, quantity_milli=5000, reserved_milli=1000)
    OfferFactory(product=listed("Всё разобрали"), market_day=open_day, quantity_milli=5000, reserved_milli=5000)
    OfferFactory(product=listed("Ещё не открыто"), market_day=not_yet)
    OfferFactory(product=listed("Поздно"), market_day=too_late)
    listed("Шырдак", stock_mode=StockMode.INVENTORY, inventory_milli=1000)
    listed("Кесе", stock_mode=StockMode.INVENTORY, inventory_milli=1000, inventory_reserved_milli=1000)
    assert names(client, available="1") == ["Открыто", "Шырдак"]
    assert names(client) == sorted(["Открыто", "Всё разобрали", "Ещё не открыто", "Поздно", "Шырдак", "Кесе"])
    # Narrowed to a day whose ordering has not opened: nothing can be ordered now.
    assert names(client, available="1", market_day=not_yet.id) == []
    assert names(client, market_day=not_yet.id) == ["Ещё не открыто", "Кесе", "Шырдак"]


def test_available_now_needs_the_producer_approved_at_the_market_of_the_open_day(client, listed, market, ctx):
    """An offer counts only on a day of a market where its producer is approved: approved at
    one market and suspended at another, the producer's offer for the other's open day
    cannot be ordered, while another approved producer's offer for that same day can."""
    elsewhere = MarketFactory(name="Osh Bazaar", slug="osh-bazaar")
    suspended_there = listed("Мёд")
    VendorFactory(market=elsewhere, producer=suspended_there.producer, status=VendorStatus.SUSPENDED)
    approved_there = listed("Сыр", at=elsewhere)
    day_elsewhere = day_at(elsewhere, 3)
    OfferFactory(product=suspended_there, market_day=day_elsewhere)
    OfferFactory(product=approved_there, market_day=day_elsewhere)
    assert names(client, available="1") == ["Сыр"]
    OfferFactory(product=suspended_there, market_day=day_at(market, 4))
    assert names(client, available="1") == ["Мёд", "Сыр"]


def test_filters_combine(client, listed, market, ctx):
    dairy = CategoryFactory(slug="dairy")
    organic_farm = ProducerFactory(kind=ProducerKind.FARMER)
    certify(organic_farm)
    plain_farm = ProducerFactory(kind=ProducerKind.FARMER)
    workshop = ProducerFactory(kind=ProducerKind.PROCESSOR)
    certify(workshop)
    day = day_at(market, 3)
    for producer in (organic_farm, plain_farm, workshop):
        OfferFactory(product=listed(f"Сыр {producer.name}", producer=producer, category=dairy), market_day=day)
        listed(f"Морковь {producer.name}", producer=producer)
    assert names(client, q="сыр", category="dairy", badge="organic_pgs", kind="farmer",
                 market=market.slug, market_day=day.id, available="1") == [f"Сыр {organic_farm.name}"]
    assert names(client, category="dairy", badge="organic_pgs") == sorted(
        [f"Сыр {organic_farm.name}", f"Сыр {workshop.name}"])
    assert names(client, q="морковь", kind="processor") == [f"Морковь {workshop.name}"]


def test_sorts(client, listed, ctx):
    trusted = ProducerFactory(trust_score=90)
    cheap = listed("Дешёвый", price_minor=100)
    listed("Дорогой", price_minor=9000)
    listed("Средний доверенный", price_minor=500, producer=trusted)
    cheap.created_at = cheap.created_at + timedelta(days=1)
    db.session.commit()
    order = lambda sort: names_on(client.get("/products", query_string={"sort": sort}))  # noqa: E731
    assert order("price") == ["Дешёвый", "Средний доверенный", "Дорогой"]
    assert order("price_desc") == ["Дорогой", "Средний доверенный", "Дешёвый"]
    assert order("newest")[0] == "Дешёвый"
    assert order("trust")[0] == "Средний доверенный"


def test_pages_keep_the_whole_state_in_the_url(client, listed, app, monkeypatch, ctx):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    veg = CategoryFactory(slug="veg")
    for price in (100, 200, 300, 400, 500):
        listed(f"Лук {price}", price_minor=price, category=veg)
    listed("Чеснок", category=veg)
    first = client.get("/products?q=лук&category=veg&sort=price")
    assert names_on(first) == ["Лук 100", "Лук 200"]
    html = first.get_data(as_text=True)
    assert "Page 1 of 3" in html
    next_link = re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&")
    for part in ("q=%D0%BB%D1%83%D0%BA", "category=veg", "sort=price", "page=2"):
        assert part in next_link
    assert names_on(client.get(next_link)) == ["Лук 300", "Лук 400"]
    assert names_on(client.get("/products?q=лук&category=veg&sort=price&page=3")) == ["Лук 500"]


def test_empty_result_suggests_removing_each_filter(client, listed, ctx):
    listed("Картофель", producer=ProducerFactory(kind=ProducerKind.FARMER))
    response = client.get("/products?q=картофель&kind=craftsman&badge=halal")
    html = response.get_data(as_text=True)
    assert names_on(response) == []
    assert "Nothing found." in html
    links = [link.replace("&amp;", "&") for link in re.findall(r'<li><a href="(/products[^"]*)">Without', html)]
    by_items = lambda d: sorted(d.items())  # noqa: E731
    assert sorted((query_of(link) for link in links), key=by_items) == sorted([
        {"kind": "craftsman", "badge": "halal"},
        {"q": "картофель", "badge": "halal"},
        {"q": "картофель", "kind": "craftsman"},
    ], key=by_items)
    # The links really loosen: without the kind there is still the badge; with only the words, it is found.
    kind_removed = next(link for link in links if "kind" not in query_of(link))
    assert names_on(client.get(kind_removed)) == []
    assert names_on(client.get("/products", query_string={"q": "картофель"})) == ["Картофель"]


def test_cancelled_and_past_market_days_offer_nothing(client, listed, market, ctx):
    from marketplace.markets.models import MarketDayStatus

    cancelled = day_at(market, 3, status=MarketDayStatus.CANCELLED)
    past = day_at(market, -2)
    product = listed("Редис")
    OfferFactory(product=product, market_day=cancelled)
    OfferFactory(product=product, market_day=past)
    assert names(client, market_day=cancelled.id) == []
    assert names(client, market_day=past.id) == []
    assert names(client, available="1") == []
    html = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert "Not offered on any upcoming market day yet." in html and "/basket/add" not in html
    home = client.get("/").get_data(as_text=True)
    assert f"market_day={cancelled.id}" not in home and f"market_day={past.id}" not in home


def test_producer_filter_and_its_label(client, listed, ctx):
    farm = ProducerFactory(name="Ферма Жыпар", slug="zhypar")
    listed("Чай горный", producer=farm)
    listed("Чай чёрный")
    response = client.get("/products?producer=zhypar")
    assert names_on(response) == ["Чай горный"]
    assert "Producer: Ферма Жыпар" in response.get_data(as_text=True)
    assert names(client, producer="nobody") == []


def test_beyond_the_count_cap_the_list_says_more_than_and_still_pages_to_the_end(client, listed, app, monkeypatch,
                                                                                ctx):
    """Counting stops at COUNT_CAP (a country's 50,000 products are not counted on every
    request): the page says "more than", and Next is there as long as products are."""
    from marketplace.catalog import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for price in (100, 200, 300, 400, 500):
        listed(f"Мёд {price}", price_minor=price)
    first = client.get("/products?sort=price").get_data(as_text=True)
    assert "More than 3 products" in first and "Page 1" in first and "Page 1 of" not in first
    assert names_on(client.get("/products?sort=price&page=2")) == ["Мёд 300", "Мёд 400"]
    last = client.get("/products?sort=price&page=3").get_data(as_text=True)
    assert re.findall(r'<strong class="product-name">([^<]*)</strong>', last) == ["Мёд 500"]
    assert 'rel="next"' not in last and 'rel="prev"' in last
    assert 'rel="next"' in client.get("/products?sort=price&page=2").get_data(as_text=True)

    monkeypatch.setattr(queries, "COUNT_CAP", 5)  # exactly at the cap: an exact count
    exact = client.get("/products?sort=price").get_data(as_text=True)
    assert "5 products" in exact and "More than" not in exact and "Page 1 of 3" in exact
