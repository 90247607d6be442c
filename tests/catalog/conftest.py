"""Helpers for catalog tests: products that are (or are not) on sale, and a query counter."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from marketplace.core.extensions import db
from marketplace.markets.models import VendorStatus
from marketplace.media.models import Image
from marketplace.producers.models import ProductPhoto
from marketplace.trust.models import (
    Certification,
    CertificationScheme,
    CertificationStatus,
)
from tests.factories import (
    MarketDayFactory,
    MarketFactory,
    ProducerFactory,
    ProductFactory,
    VendorFactory,
    today,
)
from tests.query_counter import count_queries


@pytest.fixture
def kept(app):
    """The markets, categories and market days kept per worker as in production (web.reference;
    off under testing by default)."""
    app.config["REFERENCE_DATA_SECONDS"] = 60
    app.extensions.pop("reference-data", None)
    yield app
    app.config.pop("REFERENCE_DATA_SECONDS")
    app.extensions.pop("reference-data", None)


@pytest.fixture
def market(ctx):
    return MarketFactory(name="Green Bazaar", slug="green-bazaar")


@pytest.fixture
def listed(ctx, market):
    """listed(name=..., producer=None, vendor_status=APPROVED, **product fields) -> a product on sale at `market`."""

    def _make(name: str, producer=None, vendor_status=VendorStatus.APPROVED, at=None, **fields):
        target = at or market
        if producer is None:
            producer = ProducerFactory()
        if not any(v.market_id == target.id for v in _vendors(producer)):
            VendorFactory(market=target, producer=producer, status=vendor_status)
        return ProductFactory(name=name, producer=producer, **fields)

    return _make


def _vendors(producer):
    from sqlalchemy import select

    from marketplace.markets.models import Vendor

    return list(db.session.scalars(select(Vendor).where(Vendor.producer_id == producer.id)))


def add_photo(product, width=1600, height=1200, position=0):
    image = Image(key=secrets.token_hex(16), width=width, height=height, alt="")
    db.session.add(image)
    db.session.flush()
    db.session.add(ProductPhoto(product_id=product.id, image_id=image.id, position=position))
    db.session.commit()
    return image


def certify(producer, scheme=CertificationScheme.ORGANIC_PGS, status=CertificationStatus.VERIFIED,
            valid_from=None, valid_until=None, issuer="Kyrgyz PGS Council"):
    certification = Certification(
        producer_id=producer.id, scheme=scheme, issuer=issuer, number="PGS-17", status=status,
        valid_from=valid_from or today() - timedelta(days=30),
        valid_until=valid_until or today() + timedelta(days=300))
    db.session.add(certification)
    db.session.commit()
    return certification


def names_on(response) -> list[str]:
    """The product names on a product list page, in order."""
    import re

    html = response.get_data(as_text=True)
    return [re.sub(r"&#39;", "'", m) for m in re.findall(r'<strong class="product-name">([^<]*)</strong>', html)]


__all__ = ["add_photo", "certify", "count_queries", "names_on", "MarketDayFactory"]
