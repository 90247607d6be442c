"""Only active products of approved vendors of active markets are listed, anywhere."""
from __future__ import annotations

import pytest

from marketplace.core.extensions import db
from marketplace.markets.models import VendorStatus
from tests.catalog.conftest import names_on
from tests.factories import MarketFactory, ProducerFactory, VendorFactory


@pytest.mark.parametrize("status", [VendorStatus.APPLIED, VendorStatus.REJECTED, VendorStatus.SUSPENDED])
def test_products_of_vendors_not_approved_are_invisible(client, listed, status):
    visible = listed("Картофель одобренный")
    hidden = listed("Картофель скрытый", vendor_status=status)
    assert names_on(client.get("/products?q=картофель")) == ["Картофель одобренный"]
    assert client.get(f"/products/{hidden.id}").status_code == 404
    assert client.get(f"/products/{visible.id}").status_code == 200
    assert client.get(f"/producers/{hidden.producer.slug}").status_code == 404
    assert hidden.producer.name not in client.get("/").get_data(as_text=True)


def test_producer_without_any_market_is_invisible(client, ctx):
    from tests.factories import ProductFactory

    product = ProductFactory(name="Ничейный мёд")
    assert names_on(client.get("/products")) == []
    assert client.get(f"/products/{product.id}").status_code == 404


def test_inactive_product_and_inactive_market_are_invisible(client, listed, market):
    off = listed("Снятый с продажи", active=False)
    closed_market = MarketFactory(active=False)
    only_closed = listed("Только на закрытом рынке", at=closed_market)
    listed("На продаже")
    assert names_on(client.get("/products")) == ["На продаже"]
    assert client.get(f"/products/{off.id}").status_code == 404
    assert client.get(f"/products/{only_closed.id}").status_code == 404
    assert client.get(f"/markets/{closed_market.slug}").status_code == 404


def test_market_filter_lists_only_vendors_approved_at_that_market(client, listed, market, ctx):
    other = MarketFactory(slug="other-market")
    both = ProducerFactory()
    listed("Там и тут", producer=both)
    VendorFactory(market=other, producer=both, status=VendorStatus.APPROVED)
    # Approved elsewhere, only applied here: visible in general, not under this market.
    applied_here = ProducerFactory()
    listed("Только там", producer=applied_here, at=other)
    VendorFactory(market=market, producer=applied_here, status=VendorStatus.APPLIED)
    assert sorted(names_on(client.get("/products"))) == ["Там и тут", "Только там"]
    assert names_on(client.get(f"/products?market={market.slug}")) == ["Там и тут"]
    assert sorted(names_on(client.get("/products?market=other-market"))) == ["Там и тут", "Только там"]


def test_suspending_a_vendor_hides_its_products_at_once(client, listed, ctx):
    product = listed("Курт")
    assert names_on(client.get("/products")) == ["Курт"]
    from sqlalchemy import update

    from marketplace.markets.models import Vendor

    db.session.execute(update(Vendor).values(status=VendorStatus.SUSPENDED))
    db.session.commit()
    assert names_on(client.get("/products")) == []
    assert client.get(f"/products/{product.id}").status_code == 404


def test_market_page_lists_only_approved_producers(client, listed, market):
    listed("Айран", producer=ProducerFactory(name="Одобренная ферма"))
    listed("Сыр", producer=ProducerFactory(name="Ферма-заявитель"), vendor_status=VendorStatus.APPLIED)
    html = client.get(f"/markets/{market.slug}").get_data(as_text=True)
    assert "Одобренная ферма" in html
    assert "Ферма-заявитель" not in html
