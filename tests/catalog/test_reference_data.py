"""The markets, categories and market days a list page shows are kept per worker (web.reference)
and never hide a write: a market renamed, a category added or a day cancelled shows on the next
request, also on another app sharing the catalog version, and nothing is kept while the shared
cache is away."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace import create_app
from marketplace.core.extensions import db
from marketplace.markets.models import Market, MarketDay, MarketDayStatus
from marketplace.producers.models import Category
from tests.catalog.conftest import count_queries
from tests.deployment.test_faults import own_redis  # noqa: F401 (fixture)
from tests.factories import CategoryFactory, MarketDayFactory, MarketFactory, UserFactory


@pytest.fixture
def shop(ctx, listed, market):
    listed("Мёд горный")
    CategoryFactory(slug="honey", name="Honey")
    day = MarketDayFactory(market=market)
    return market, day


def _reads_markets(statements) -> bool:
    return any("market.address" in statement for statement in statements)


def _customer(app, login):
    with app.app_context():
        UserFactory(email="dana@example.test")
    login("dana@example.test")


def test_a_warm_list_reads_no_markets_categories_or_days(kept, client, login, shop):
    _customer(kept, login)
    with count_queries(kept) as cold:
        first = client.get("/products")
    with count_queries(kept) as warm:
        second = client.get("/products")
    assert "Green Bazaar" in second.text and "Honey" in second.text and first.text.count("<option") == \
        second.text.count("<option")
    assert len(warm) == len(cold) - 3, "\n\n".join(warm)


def test_a_renamed_market_a_new_category_and_a_cancelled_day_show_on_the_next_request(kept, client, login, shop):
    market, day = shop
    _customer(kept, login)
    client.get("/products")
    market.name = "Green Bazaar of Almaty"
    CategoryFactory(slug="cheese", name="Cheese")
    db.session.get(MarketDay, day.id).status = MarketDayStatus.CANCELLED
    db.session.commit()
    page = client.get("/products").text
    assert "Green Bazaar of Almaty" in page and 'value="cheese"' in page
    assert f'<option value="{day.id}"' not in page


def test_a_market_that_closes_leaves_the_home_page_and_the_markets_list(kept, client, shop):
    other = MarketFactory(name="Osh Bazaar", slug="osh-bazaar")
    assert "osh-bazaar" in client.get("/").text and "Osh Bazaar" in client.get("/markets").text
    db.session.get(Market, other.id).active = False
    db.session.commit()
    assert "osh-bazaar" not in client.get("/").text and "Osh Bazaar" not in client.get("/markets").text


def test_off_under_testing_by_default(app, client, shop):
    client.get("/products")
    with count_queries(app) as statements:
        client.get("/products")
    assert _reads_markets(statements)
    assert "reference-data" not in app.extensions


def test_two_apps_sharing_the_version_see_each_other_s_writes(database_url, tmp_path, own_redis):  # noqa: F811
    settings = {"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "MEDIA_ROOT": str(tmp_path),
                "REDIS_URL": own_redis.url, "REFERENCE_DATA_SECONDS": 60}
    first, second = create_app(settings), create_app(settings)
    try:
        with first.app_context():
            MarketFactory(name="Green Bazaar", slug="green-bazaar")
        visitor = second.test_client()
        assert "Green Bazaar" in visitor.get("/markets").text
        with count_queries(second) as statements:
            visitor.get("/markets")
        assert not _reads_markets(statements)

        with first.app_context():
            db.session.scalar(select(Market)).name = "Green Bazaar of Almaty"
            CategoryFactory(slug="cheese", name="Cheese")
            db.session.commit()
        assert "Green Bazaar of Almaty" in visitor.get("/markets").text
        assert 'value="cheese"' in visitor.get("/products").text

        # The shared cache away: nothing kept is trusted, every request reads the database.
        own_redis.stop()
        with first.app_context():
            db.session.scalar(select(Category)).name = "Goat cheese"
            db.session.commit()
        assert "Goat cheese" in visitor.get("/products").text
        with first.app_context():
            db.session.scalar(select(Category)).name = "Sheep cheese"
            db.session.commit()
        assert "Sheep cheese" in visitor.get("/products").text
    finally:
        for app in (first, second):
            with app.app_context():
                db.engine.dispose()
