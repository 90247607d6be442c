"""What the customer sees on the home, product, producer and market pages."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from marketplace.producers.models import StockMode, Unit
from marketplace.trust.models import CertificationStatus
from tests.catalog.conftest import add_photo, certify
from tests.groups.helpers import add_member, make_group
from tests.factories import (
    MarketDayFactory,
    MarketFactory,
    OfferFactory,
    ProducerFactory,
)


def html_of(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_home_shows_next_market_days_search_categories_and_producers(client, listed, market, ctx):
    MarketDayFactory(market=market, title="Harvest fair")
    product = listed("Мёд", producer=ProducerFactory(name="Пасека Асель"))
    html = html_of(client, "/")
    assert 'href="/markets/green-bazaar"' in html and "Harvest fair" in html
    assert 'name="q"' in html
    assert f'href="/products?category={product.category.slug}"' in html
    assert 'href="/producers/' + product.producer.slug + '"' in html and "Пасека Асель" in html


def test_product_page_shows_what_is_left_per_market_day_with_day_price(client, listed, market, ctx):
    product = listed("Томаты", price_minor=90000, unit=Unit.KG, sold_by_weight=True)
    add_photo(product, width=1600, height=1200)
    add_photo(product, width=800, height=1200, position=1)
    saturday = MarketDayFactory(market=market)
    later = MarketDayFactory(market=market, date=saturday.date + timedelta(days=7),
                             opens_at=saturday.opens_at + timedelta(days=7),
                             closes_at=saturday.closes_at + timedelta(days=7),
                             ordering_opens_at=saturday.opens_at + timedelta(days=1),
                             cutoff_at=saturday.opens_at + timedelta(days=6))
    OfferFactory(product=product, market_day=saturday, quantity_milli=12_500, reserved_milli=2_000,
                 price_minor=80000)
    OfferFactory(product=product, market_day=later, quantity_milli=4_000)
    html = html_of(client, f"/products/{product.id}")
    # The day that takes orders is a choice in the reserve block, with its own price and what is left.
    chips = re.findall(r'<label class="day-chip">(.*?)</label>', html, re.S)
    assert len(chips) == 1
    assert "10.5\xa0kg left" in chips[0] and "₸800" in chips[0] and f'value="{saturday.id}"' in chips[0]
    # The price at the top is the chosen day's, not the catalogue price.
    assert "₸800" in re.search(r'<p class="product-price">(.*?)</p>', html, re.S).group(1)
    # The day whose ordering has not opened yet is one line, not a card.
    notes = re.search(r'<ul class="day-notes">(.*?)</ul>', html, re.S).group(1)
    assert "ordering opens" in notes and "₸" not in notes
    # Photos: thumbnails with their size; the main photo loads at once, the others lazily.
    images = re.findall(r"<img [^>]*>", html)
    assert any("_400.jpg" in tag and 'width="400" height="300"' in tag and "lazy" not in tag for tag in images)
    assert any("_400.jpg" in tag and 'width="267" height="400"' in tag and 'loading="lazy"' in tag for tag in images)


def test_add_to_basket_form_offers_only_days_open_for_ordering(client, listed, market, ctx):
    product = listed("Огурцы")
    open_day = MarketDayFactory(market=market)
    closed = MarketDayFactory(market=market, date=open_day.date + timedelta(days=1),
                              opens_at=open_day.opens_at + timedelta(days=1),
                              closes_at=open_day.closes_at + timedelta(days=1),
                              ordering_opens_at=open_day.opens_at + timedelta(hours=2),
                              cutoff_at=open_day.opens_at + timedelta(hours=20))
    OfferFactory(product=product, market_day=open_day)
    OfferFactory(product=product, market_day=closed)
    html = html_of(client, f"/products/{product.id}")
    form = re.search(r'<form action="/basket/add" method="post".*?</form>', html, re.S).group(0)
    assert 'name="csrf_token"' in form
    assert f'name="product_id" value="{product.id}"' in form
    assert re.search(rf'name="market_day_id" value="{open_day.id}" required checked', form)
    assert f'value="{closed.id}"' not in form
    assert 'name="quantity"' in form and "Add to basket" in form
    assert "<legend>Market day</legend>" in form and '<label for="basket-qty">' in form
    assert f'name="next" value="/products/{product.id}"' in form  # adding stays on the page


def test_sold_out_product_has_no_basket_button(client, listed, market, ctx):
    product = listed("Огурцы")
    OfferFactory(product=product, market_day=MarketDayFactory(market=market), quantity_milli=3000,
                 reserved_milli=3000)
    html = html_of(client, f"/products/{product.id}")
    assert "sold out" in html
    assert "/basket/add" not in html


def test_standing_stock_is_offered_on_every_upcoming_day_of_approved_markets(client, listed, market, ctx):
    product = listed("Шырдак", stock_mode=StockMode.INVENTORY, inventory_milli=3000,
                     inventory_reserved_milli=1000, unit=Unit.PIECE)
    first = MarketDayFactory(market=market)
    MarketDayFactory(market=market, date=first.date + timedelta(days=7),
                     opens_at=first.opens_at + timedelta(days=7), closes_at=first.closes_at + timedelta(days=7))
    MarketDayFactory(market=MarketFactory())  # not a market this producer sells at
    past = datetime.now(timezone.utc) - timedelta(days=2)
    MarketDayFactory(market=market, date=past.date(), opens_at=past, closes_at=past + timedelta(hours=4),
                     ordering_opens_at=past - timedelta(days=5), cutoff_at=past - timedelta(hours=10))
    html = html_of(client, f"/products/{product.id}")
    # The day taking orders is a choice with what is left; the later one is a line saying when it opens.
    chips = re.findall(r'<label class="day-chip">(.*?)</label>', html, re.S)
    notes = re.findall(r"<li>(.*?)</li>", re.search(r'<ul class="day-notes">(.*?)</ul>', html, re.S).group(1), re.S)
    assert len(chips) == 1 and len(notes) == 1
    assert "2\xa0pc. left" in chips[0] and "ordering opens" in notes[0]


def test_product_page_producer_card_has_badges_and_link(client, listed, ctx):
    producer = ProducerFactory(name="Талас Органик", district="Талас")
    add_member(make_group("Талас органик аймагы"), producer)
    certify(producer, issuer="Talas PGS group")
    certify(ProducerFactory(), issuer="Someone else")
    certify(producer, status=CertificationStatus.PENDING, issuer="Not yet verified")
    product = listed("Фасоль", producer=producer)
    html = html_of(client, f"/products/{product.id}")
    assert f'href="/producers/{producer.slug}"' in html
    assert "Талас" in html and "Talas PGS group" in html and "PGS organic" in html
    assert "member of Талас органик аймагы" in html
    assert "Someone else" not in html and "Not yet verified" not in html


def test_producer_page(client, listed, market, ctx):
    producer = ProducerFactory(name="Бакыт Осмонов", story="Выращиваем фасоль с 1998 года.", district="Талас")
    add_member(make_group("Талас органик аймагы"), producer)
    certify(producer, issuer="Talas PGS group", valid_until=datetime(2031, 5, 1).date())
    listed("Фасоль белая", producer=producer)
    listed("Чужой товар")
    MarketFactory(name="Market I never applied to")
    html = html_of(client, f"/producers/{producer.slug}")
    assert "Выращиваем фасоль с 1998 года." in html
    assert "Талас органик аймагы" in html
    assert "Talas PGS group" in html and "2031" in html
    assert "Фасоль белая" in html and "Чужой товар" not in html
    assert "Green Bazaar" in html and "Market I never applied to" not in html


def test_market_page_map_address_days_and_offers(client, listed, market, ctx):
    market.lat, market.lon, market.address = 42.8746, 74.6122, "Бишкек, ул. Токтогула 125"
    ctx.extensions["sqlalchemy"].session.commit()
    day = MarketDayFactory(market=market)
    for i in range(11):
        OfferFactory(product=listed(f"Товар {i:02d}"), market_day=day)
    html = html_of(client, "/markets/green-bazaar")
    assert "Бишкек, ул. Токтогула 125" in html
    assert 'data-lat="42.8746"' in html and 'data-lon="74.6122"' in html
    assert "vendor/leaflet/leaflet.js" in html and "js/catalog.js" in html
    assert "<script>" not in html and " style=" not in html
    # The first eight of the day, then a link to all eleven.
    assert "Товар 07" in html and "Товар 08" not in html
    assert f'href="/products?market_day={day.id}"' in html and "See all 11 products offered" in html


def test_market_without_map_point_still_shows_its_address(client, market, ctx):
    html = html_of(client, "/markets/green-bazaar")
    assert "Main square 1" in html
    assert "leaflet" not in html


def test_markets_list_links_each_market_with_its_next_day(client, market, ctx):
    MarketDayFactory(market=market)
    html = html_of(client, "/markets")
    assert 'href="/markets/green-bazaar"' in html and "Next market day:" in html


def test_product_list_card_links_and_day_price(client, listed, market, ctx):
    product = listed("Картофель", price_minor=45000)
    add_photo(product, width=1200, height=1200)
    day = MarketDayFactory(market=market)
    OfferFactory(product=product, market_day=day, price_minor=40000, quantity_milli=7000)
    plain = html_of(client, "/products")
    assert f'href="/products/{product.id}"' in plain and "₸450" in plain
    assert re.search(r'<img [^>]*width="400" height="400"[^>]*loading="lazy"', plain)
    with_day = html_of(client, f"/products?market_day={day.id}")
    assert "₸400" in with_day and "7\xa0kg left" in with_day


def test_product_page_shows_the_producers_rating(client, listed, ctx):
    rated = listed("Курут", producer=ProducerFactory(rating_count=4, rating_sum=18))
    unrated = listed("Айран")
    assert "4.5 from 4 ratings" in html_of(client, f"/products/{rated.id}")
    assert "No ratings yet" in html_of(client, f"/products/{unrated.id}")


def test_market_day_choices_follow_the_chosen_market(client, listed, market, ctx):
    here = MarketDayFactory(market=market)
    elsewhere = MarketDayFactory(market=MarketFactory(name="Other bazaar"))
    html = html_of(client, f"/products?market={market.slug}")
    assert f'<option value="{here.id}"' in html
    assert f'<option value="{elsewhere.id}"' not in html
