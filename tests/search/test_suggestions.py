"""Suggestions as you type (/search/suggest) and the "did you mean" line of the product list."""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from marketplace.search import views
from tests.catalog.conftest import names_on


@pytest.fixture(autouse=True)
def _fresh_answers():
    views._suggestions.entries.clear()
    yield
    views._suggestions.entries.clear()


def suggestions(client, q):
    response = client.get("/search/suggest", query_string={"q": q})
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()["suggestions"]


def test_the_last_word_is_completed_from_the_products_words(client, listed):
    listed("Картофель молодой")
    listed("Курут")
    assert suggestions(client, "карт")[0] == "картофель"
    assert "курут" in suggestions(client, "ку")
    assert suggestions(client, "молодой карт")[0] == "молодой картофель"  # the words before are kept


def test_synonyms_of_a_product_are_suggested_and_latin_finds_cyrillic(client, listed):
    listed("Картофель молодой")
    assert "potato" in suggestions(client, "pota")  # a word of its group, though not in its name
    assert "картофель" in suggestions(client, "kartof")  # typed in Latin letters


def test_too_little_or_nothing_typed_gets_no_suggestion(client, listed):
    listed("Картофель")
    for q in ("", "к", " ", "%", "_", "\\", "😀", "1"):
        assert suggestions(client, q) == [], q


def test_hostile_input_is_just_text(client, listed):
    listed("Картофель")
    for q in ("к%", "ка_", "'; DROP TABLE search_word; --", "\u202eкар", "к" * 10_000, "\x00кар"):
        assert isinstance(suggestions(client, q), list), q
    assert suggestions(client, "\u202eкар")[0] == "картофель"
    assert client.get("/search/suggest", query_string={"q": "кар"}).headers["Cache-Control"]


def test_a_typo_shows_what_was_meant_as_a_link(client, listed):
    listed("Картофель молодой")
    html = client.get("/products", query_string={"q": "картофль"}).get_data(as_text=True)
    assert "Did you mean:" in html and "q=%D0%BA%D0%B0%D1%80%D1%82%D0%BE%D1%84%D0%B5%D0%BB%D1%8C" in html
    assert names_on(client.get("/products", query_string={"q": "картофль"})) == ["Картофель молодой"]


def test_nothing_found_still_offers_the_correction(client, listed):
    listed("Картофель молодой")
    response = client.get("/products", query_string={"q": "картофль", "kind": "craftsman"})
    html = response.get_data(as_text=True)
    assert names_on(response) == [] and "Nothing found." in html and "Did you mean:" in html
    assert "Did you mean:" not in client.get("/products", query_string={"q": "картофель"}).get_data(as_text=True)


def test_a_word_that_only_sounds_like_what_is_typed_is_not_suggested(client, listed):
    listed("Молоко коровье", description="сүт")
    assert "sut" not in suggestions(client, "сүт") and "süt" not in suggestions(client, "сүт")


def test_nothing_found_at_one_market_says_what_the_others_have(client, listed, ctx):
    from tests.factories import MarketFactory, ProducerFactory, VendorFactory

    other = MarketFactory(slug="osh-bazaar")
    VendorFactory(market=other, producer=ProducerFactory())  # a market with a vendor, but no honey
    listed("Мёд горный")
    html = client.get("/products", query_string={"q": "мёд", "market": "osh-bazaar"}).get_data(as_text=True)
    assert "Nothing found." in html and "1 product at other markets" in html
    assert "at other markets" not in client.get("/products", query_string={"q": "мёд"}).get_data(as_text=True)


def test_a_suggestion_tapped_finds_something_when_words_came_before_it(client, listed):
    # Found in the tryout (demo, both databases): "fresh mi" offers "fresh milk" and "мёд с па"
    # offers "мед с пакет", "мед с пачка"; each tap ends on "Nothing found". Only the last word is
    # completed, from the whole word list, whether or not a product holds it beside the words before.
    listed("Молоко коровье", description="Цельное, утреннего надоя.")
    listed("Мята", description="Свежая мята.")
    listed("Мёд горный", description="Банка 1 кг, в пакете.")
    listed("Чай травяной", description="Пачка 100 г.")
    for typed in ("свежая мо", "молоко мя", "мёд с па"):
        offered = suggestions(client, typed)
        nothing = [s for s in offered if not names_on(client.get("/products", query_string={"q": s}))]
        assert nothing == [], (typed, offered)


def test_a_phrase_with_a_word_no_product_holds_still_leads_to_the_products_of_its_other_words(client, listed):
    # Found in the tryout: "мёд с пасеки" (and "fresh milk") says "Nothing found." with no
    # "did you mean" and only "Without “Words: мёд с пасеки”" (every product) to loosen it, though
    # "мёд" finds every honey. Every word must be found (test_every_word_must_be_found); when that
    # finds nothing, the page should offer the words that do find something.
    listed("Мёд горный")
    response = client.get("/products", query_string={"q": "мёд с пасеки"})
    assert names_on(response) == [] and "Nothing found." in response.get_data(as_text=True)
    offered = [parse_qs(urlsplit(html.unescape(href)).query).get("q", [""])[0]
               for href in re.findall(r'href="([^"]*\?[^"]*)"', response.get_data(as_text=True))]
    leads_to_honey = [q for q in offered if q and names_on(client.get("/products", query_string={"q": q}))]
    assert leads_to_honey, offered


def test_the_nothing_found_page_names_the_word_no_product_holds_and_counts_the_others(client, listed):
    listed("Мёд горный")
    listed("Мёд акациевый")
    listed("Зефиркин секретный", active=False)
    html = client.get("/products", query_string={"q": "мёд с пасеки"}).get_data(as_text=True)
    assert "No product has “пасеки”." in html and "2 products with “мёд с”" in html
    # A word only a product taken off sale holds is a word no product holds; the honey is still offered.
    html = client.get("/products", query_string={"q": "мёд зефиркин"}).get_data(as_text=True)
    assert "No product has “зефиркин”." in html and "2 products with “мёд”" in html
    # No word is held by nothing (both are sold, never together): nothing to drop, nothing offered.
    listed("Курут")
    html = client.get("/products", query_string={"q": "мёд курут"}).get_data(as_text=True)
    assert "Nothing found." in html and "No product has" not in html
