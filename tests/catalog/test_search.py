"""Search by words: case-insensitive Cyrillic (Russian, Kazakh, Kyrgyz) and Latin, ё = е, literal % and _."""
from __future__ import annotations

import pytest

from tests.catalog.conftest import names_on
from tests.factories import CategoryFactory, ProducerFactory


def search(client, q, **args):
    response = client.get("/products", query_string={"q": q, **args})
    assert response.status_code == 200
    return names_on(response)


def test_upper_case_cyrillic_finds_lower_case(client, listed):
    listed("картофель молодой")
    listed("морковь")
    assert search(client, "КАРТОФЕЛЬ") == ["картофель молодой"]
    assert search(client, "Картофель") == ["картофель молодой"]


@pytest.mark.parametrize("query, name", [
    ("Қымыз", "қымыз сарыарқа"),          # Kazakh қ
    ("ҚЫМЫЗ", "қымыз сарыарқа"),
    ("ШЫРДАК", "Шырдак ручной работы"),    # Kyrgyz felt rug
    ("ӨРІК", "өрік кептірілген"),          # Kazakh ө, і
    ("ҮЙ", "үй ірімшігі"),                 # ү
    ("ҢҰҒҺӘ", "ңұғһә"),                    # the remaining letters, lower-cased only by Python
    ("kymyz", "Kymyz from Suusamyr"),
])
def test_kazakh_kyrgyz_and_latin_letters_fold(client, listed, query, name):
    listed(name)
    listed("другое")
    assert search(client, query) == [name]


def test_yo_finds_ye_and_ye_finds_yo(client, listed):
    listed("Мёд горный")
    listed("Мед липовый")
    assert sorted(search(client, "мёд")) == ["Мед липовый", "Мёд горный"]
    assert sorted(search(client, "МЕД")) == ["Мед липовый", "Мёд горный"]


def test_percent_underscore_and_backslash_find_nothing_not_everything(client, listed):
    listed("Сыр 45% жирности")
    listed("jam_apricot")
    listed("Мёд")
    for query in ("%", "%%", "_", "\\", "\\%", "%_%", "45%"):  # no word in them: numbers are not words
        assert search(client, query) == [], query
    # Around them, the words are searched as words.
    assert search(client, "сыр%") == ["Сыр 45% жирности"]
    assert search(client, "jam_apricot") == ["jam_apricot"]


def test_every_word_must_match_in_name_description_producer_or_category(client, listed, ctx):
    farm = ProducerFactory(name="Ата-Мекен")
    listed("Айран", producer=farm, description="Домашний, из коровьего молока",
           category=CategoryFactory(name="Молочное"))
    listed("Айран козий")
    assert search(client, "айран ата-мекен") == ["Айран"]      # producer name
    assert search(client, "коровьего айран") == ["Айран"]      # description
    assert search(client, "молочное") == ["Айран"]             # category
    assert search(client, "айран нетакогослова") == []


def test_relevance_puts_name_matches_first(client, listed, ctx):
    from datetime import timedelta

    from marketplace.core.extensions import db

    honey = listed("Мёд акациевый")
    jam = listed("Варенье", description="с мёдом и яблоками")
    jam.created_at = honey.created_at + timedelta(days=1)  # newer, and more trusted:
    jam.producer.trust_score = 99  # only the name match can put honey first
    db.session.commit()
    assert search(client, "мед") == ["Мёд акациевый", "Варенье"]
    assert search(client, "мед", sort="newest") == ["Варенье", "Мёд акациевый"]


def test_a_category_is_found_by_its_name_in_every_language(client, ctx):
    from tests.factories import (
        CategoryFactory,
        MarketDayFactory,
        OfferFactory,
        ProducerFactory,
        ProductFactory,
        VendorFactory,
    )

    day = MarketDayFactory()
    producer = ProducerFactory()
    VendorFactory(market=day.market, producer=producer)
    vegetables = CategoryFactory(slug="vegetables-x", name="Vegetables")
    product = ProductFactory(producer=producer, category=vegetables, name="Kartoshka")
    OfferFactory(product=product, market_day=day)
    for words in ("vegetables", "овощи", "көкөністер", "жашылчалар"):
        assert "Kartoshka" in client.get("/products", query_string={"q": words}).get_data(as_text=True), words


def test_search_follows_a_rename_and_a_deleted_product_at_once(client, listed, ctx):
    """On SQLite the words are looked up in a trigram index kept by triggers; on PostgreSQL
    in a trigram index on the column. Either way it is never behind the product table."""
    from marketplace.core.extensions import db
    from marketplace.producers.services import ProductData, update_product

    honey = listed("Мёд горный", description="с пасеки в Таласе")
    listed("Курут")
    assert search(client, "горный") == ["Мёд горный"]
    update_product(honey, honey.producer.user, ProductData(
        name="Мёд эспарцетовый", category_id=honey.category_id, unit=honey.unit, price_minor=honey.price_minor,
        sold_by_weight=honey.sold_by_weight, stock_mode=honey.stock_mode, description="с пасеки в Таласе"))
    db.session.commit()
    assert search(client, "горный") == []
    assert search(client, "эспарцет") == ["Мёд эспарцетовый"]
    assert search(client, "таласе") == ["Мёд эспарцетовый"]
    assert search(client, "ку") == ["Курут"]                 # the start of a word no product holds as typed
    db.session.delete(honey)
    db.session.commit()
    assert search(client, "эспарцет") == []
