"""Product cards are rendered once and reused (web/fragments.py), yet every change a shopper
would notice shows at once: a new name, price, photo or badge, a sale's stock figure, the
language. The app (and its fragment cache) lives for the whole session here, as in a worker."""
from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.markets.models import PickupSlot
from marketplace.orders import services as orders
from marketplace.orders.models import PaymentMethod
from marketplace.producers.models import Product
from marketplace.trust.models import CertificationStatus
from marketplace.web.fragments import fragment_cache
from tests.catalog.conftest import add_photo, certify
from tests.factories import MarketDayFactory, OfferFactory, UserFactory


def card_of(client, product, url="/products", **headers) -> str:
    html = client.get(url, headers=headers).get_data(as_text=True)
    cards = re.findall(r'<li class="card product-card">.*?</li>', html, re.S)
    return next(card for card in cards if f'href="/products/{product.id}"' in card)


def edit(product, **values):
    db.session.execute(Product.__table__.update().where(Product.id == product.id).values(**values))
    db.session.commit()


def test_a_second_page_reuses_the_cards_of_the_first(app, client, listed, ctx):
    listed("Картофель")
    cache = fragment_cache(app)
    client.get("/products")
    hits = cache.hits
    client.get("/products")
    assert cache.hits > hits


def test_a_new_name_price_photo_or_badge_shows_at_once(client, listed, ctx):
    product = listed("Картофель", price_minor=45000)
    card = card_of(client, product)
    assert "Картофель" in card and "₸450" in card and "img-placeholder" in card and "badge" not in card
    edit(product, name="Картофель молодой", price_minor=39000)
    card = card_of(client, product)
    assert "Картофель молодой" in card and "₸390" in card
    add_photo(product, width=800, height=600)
    assert re.search(r'<img [^>]*width="400" height="300"', card_of(client, product))
    certification = certify(product.producer, issuer="Kyrgyz PGS Council")
    assert "Kyrgyz PGS Council" in card_of(client, product)
    certification.status = CertificationStatus.EXPIRED
    db.session.commit()
    assert "Kyrgyz PGS Council" not in card_of(client, product)


def test_the_producers_new_name_shows_on_every_card(client, listed, ctx):
    product = listed("Мёд")
    card_of(client, product)
    product.producer.name = "Пасека Асель"
    db.session.commit()
    assert "Пасека Асель" in card_of(client, product)


def test_what_is_left_for_the_day_follows_each_sale(client, listed, market, ctx):
    product = listed("Курут")
    day = MarketDayFactory(market=market)
    OfferFactory(product=product, market_day=day, quantity_milli=7000)
    url = f"/products?market_day={day.id}"
    assert "7\xa0kg left" in card_of(client, product, url)
    slot_id = db.session.scalar(select(PickupSlot.id).where(PickupSlot.market_day_id == day.id))
    for quantity, left in ((2000, "5\xa0kg left"), (5000, "Sold out for this day")):
        orders.place_order(UserFactory(), day.id, {product.id: quantity}, slot_id=slot_id,
                           payment_method=PaymentMethod.CASH, phone="+7 701 000 00 00",
                           idempotency_key=uuid.uuid4().hex)
        db.session.commit()
        card = card_of(client, product, url)
        assert left in card and card.count("left") + card.count("Sold out") == 1


def test_each_language_gets_its_own_card(client, listed, ctx):
    product = listed("Айран", price_minor=15000)
    certify(product.producer)
    english = card_of(client, product, **{"Accept-Language": "en"})
    russian = card_of(client, product, **{"Accept-Language": "ru"})
    assert "PGS organic" in english and "PGS organic" not in russian
    assert english != russian
    assert card_of(client, product, **{"Accept-Language": "en"}) == english
