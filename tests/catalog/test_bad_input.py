"""Whatever the query string or URL, the catalog answers with a page (200) or 400/404, never a 500."""
from __future__ import annotations

import pytest

from tests.catalog.conftest import names_on

NASTY_VALUES = [
    "' OR 1=1 --", "'; DROP TABLE product; --", "\" UNION SELECT password_hash FROM user --",
    "%", "%%", "_", "__", "\\", "\\%", "%_%", "[a-z]*", "*", "x" * 5000, "я" * 5000,
    "\x00", "a\x00b", "\u202e\u200b", "😀", "\ud7ff", "<script>alert(1)</script>", "{{ 7*7 }}",
    "-1", "0", "abc", "1e9", "99999999999999999999999999999999", "2147483648", "1.5", " ", "",
]
KEYS = ["q", "category", "market", "market_day", "badge", "kind", "producer", "available", "sort", "page"]


@pytest.mark.parametrize("key", KEYS)
def test_any_value_of_any_argument_gives_a_normal_page(client, listed, key):
    listed("Картофель")
    for value in NASTY_VALUES:
        response = client.get("/products", query_string={key: value})
        assert response.status_code == 200, (key, value, response.status_code)
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_everything_bad_at_once_and_repeated_arguments(client, listed):
    listed("Картофель")
    response = client.get("/products?q=%25&q=_&page=-1&page=abc&market_day=-5&sort=price;drop&kind=%00"
                          "&badge=organic_pgs'--&available=maybe&category=" + "c" * 5000)
    assert response.status_code == 200


def test_raw_invalid_utf8_and_percent_encoding(client, listed):
    listed("Картофель")
    for raw in ["q=%ff%fe", "q=%", "q=%zz", "page=%00", "q=%C0%AF", "market_day=%EF%BC%91"]:
        assert client.get(f"/products?{raw}").status_code == 200, raw


@pytest.mark.parametrize("page", ["-1", "0", "abc", "1.5", "", "99999999", "10" * 30])
def test_odd_page_numbers(client, listed, page):
    listed("Картофель")
    response = client.get("/products", query_string={"page": page})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert names_on(response) == ["Картофель"] or "past the end" in html


def test_a_page_past_the_end_offers_the_first(client, listed):
    listed("Картофель")
    html = client.get("/products?q=картофель&page=7").get_data(as_text=True)
    assert "past the end" in html
    assert 'href="/products?q=%D0%BA%D0%B0%D1%80%D1%82%D0%BE%D1%84%D0%B5%D0%BB%D1%8C"' in html


def test_long_search_is_cut_not_refused(client, listed):
    listed("Картофель")
    response = client.get("/products", query_string={"q": "картофель " + "x" * 5000})
    assert response.status_code == 200
    assert names_on(response) == []
    assert len(response.get_data(as_text=True)) < 200_000


def test_sql_in_the_search_is_just_words(client, listed):
    listed("Картофель")
    listed("Сорт 'OR' картофеля")
    # Its words are searched ("or"; numbers and punctuation are not words): only the
    # product that holds "OR" is found, never every product.
    assert names_on(client.get("/products", query_string={"q": "' OR 1=1 --"})) == ["Сорт 'OR' картофеля"]
    assert names_on(client.get("/products", query_string={"q": "'or'"})) == ["Сорт 'OR' картофеля"]
    assert names_on(client.get("/products", query_string={"q": "1=1 --"})) == []
    assert names_on(client.get("/products", query_string={"q": "'; DROP TABLE product; --"})) == []


@pytest.mark.parametrize("url", [
    "/products/0", "/products/-1", "/products/abc", "/products/99999999999999999999999999",
    "/products/2147483648", "/producers/no-such-farm", "/producers/%00", "/producers/" + "x" * 3000,
    "/producers/'%20OR%201=1", "/markets/no-such-market", "/markets/%00", "/markets/" + "%25" * 500,
])
def test_unknown_or_nasty_ids_and_slugs_are_404(client, listed, url):
    listed("Картофель")
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", ["/", "/markets", "/markets/green-bazaar", "/producers/{slug}"])
def test_other_pages_ignore_junk_arguments(client, listed, url):
    product = listed("Картофель")
    full = url.format(slug=product.producer.slug)
    for args in ({"page": "-1"}, {"page": "abc"}, {"page": "9" * 40}, {"x": "\x00"}, {"page": "%"}):
        assert client.get(full, query_string=args).status_code == 200, (full, args)
