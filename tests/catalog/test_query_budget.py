"""The product list runs a small, fixed number of SQL queries whatever the page size and filters."""
from __future__ import annotations

import pytest

from marketplace.producers.models import StockMode
from tests.catalog.conftest import add_photo, certify, count_queries, names_on
from tests.factories import (
    CategoryFactory,
    MarketDayFactory,
    OfferFactory,
    ProducerFactory,
    UserFactory,
)

BUDGET = 10

FILTER_SETS = [
    {},
    {"q": "мёд степной"},
    {"q": "мед", "sort": "price"},
    {"category": "honey", "market": "green-bazaar", "sort": "trust"},
    {"market_day": "{day}", "available": "1"},
    {"badge": "organic_pgs", "kind": "farmer", "sort": "newest"},
    {"q": "мед", "category": "honey", "market": "green-bazaar", "market_day": "{day}", "badge": "organic_pgs",
     "kind": "farmer", "available": "1", "sort": "price_desc", "page": "2"},
    {"q": "ничего такого"},
]


@pytest.fixture
def catalog(listed, market, ctx):
    """Sixty products of twelve certified producers, each with two photos and offers."""
    honey = CategoryFactory(slug="honey", name="Honey")
    day = MarketDayFactory(market=market)
    for p in range(12):
        producer = ProducerFactory(trust_score=p)
        certify(producer)
        for i in range(5):
            product = listed(f"Мёд степной {p}-{i}", producer=producer, category=honey, price_minor=100 * i + p,
                             stock_mode=StockMode.INVENTORY if i == 4 else StockMode.PER_MARKET_DAY,
                             inventory_milli=3000)
            add_photo(product)
            add_photo(product, position=1)
            OfferFactory(product=product, market_day=day, price_minor=999)
    return day


@pytest.mark.parametrize("page_size", [2, 24, 60])
@pytest.mark.parametrize("args", FILTER_SETS)
def test_product_list_stays_within_budget(client, app, monkeypatch, catalog, page_size, args):
    monkeypatch.setitem(app.config, "PAGE_SIZE", page_size)
    day_id = catalog.id
    query = {key: value.format(day=day_id) for key, value in args.items()}
    with count_queries(app) as statements:
        response = client.get("/products", query_string=query)
    assert response.status_code == 200
    assert len(statements) <= BUDGET, "\n\n".join(statements)


def test_budget_holds_for_a_logged_in_customer_too(client, app, login, catalog):
    with app.app_context():
        UserFactory(email="dana@example.test")
    login("dana@example.test")
    day_id = catalog.id
    with count_queries(app) as statements:
        response = client.get("/products", query_string={"q": "мед", "market_day": day_id, "available": "1"})
    assert names_on(response)
    assert len(statements) <= BUDGET, "\n\n".join(statements)


def test_more_rows_do_not_mean_more_queries(client, app, monkeypatch, catalog):
    """The same page with 2 and with 60 rows runs exactly as many queries: nothing per row."""
    counts, day_id = [], catalog.id
    for size in (2, 60):
        monkeypatch.setitem(app.config, "PAGE_SIZE", size)
        with count_queries(app) as statements:
            response = client.get("/products", query_string={"q": "мед", "market_day": day_id})
        assert len(names_on(response)) == size
        assert "60 products" in response.get_data(as_text=True)  # photos joined in do not multiply rows
        counts.append(len(statements))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("page", ["/", "/markets", "/markets/green-bazaar", "/products/{product}",
                                  "/producers/{producer}"])
def test_other_catalog_pages_do_not_query_per_row(client, app, catalog, page, ctx):
    from sqlalchemy import select

    from marketplace.core.extensions import db
    from marketplace.producers.models import Product

    product = db.session.scalars(select(Product).order_by(Product.id)).first()
    url = page.format(product=product.id, producer=product.producer.slug)
    db.session.rollback()
    with count_queries(app) as statements:
        response = client.get(url)
    assert response.status_code == 200
    assert len(statements) <= 10, "\n\n".join(statements)


#: With the markets, categories and market days kept (web.reference), a list page reads none of them.
WARM_BUDGET = BUDGET - 3


@pytest.mark.parametrize("args", FILTER_SETS)
def test_a_warm_list_runs_three_statements_fewer(client, app, kept, catalog, args):
    query = {key: value.format(day=catalog.id) for key, value in args.items()}
    with count_queries(app) as cold:
        client.get("/products", query_string=query)
    with count_queries(app) as warm:
        response = client.get("/products", query_string=query)
    assert response.status_code == 200
    assert len(warm) == len(cold) - 3 and len(warm) <= WARM_BUDGET, "\n\n".join(warm)
