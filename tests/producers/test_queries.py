"""The shop's pages cost the same number of queries whatever the number of products and days."""
from __future__ import annotations

import io
from contextlib import contextmanager

from sqlalchemy import event

from marketplace.core.extensions import db
from marketplace.producers.models import Offer, Product
from tests.factories import ProductFactory
from tests.media.imagedata import picture


@contextmanager
def counted(app):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def grow(app, shop, client, n: int) -> None:
    """n more per-day products, each with a photo and an offer on both coming days."""
    with app.app_context():
        producer = db.session.get(Product, shop.potatoes).producer
        ids = [ProductFactory(producer=producer, category_id=shop.vegetables).id for _ in range(n)]
        for product_id in ids:
            db.session.add(Offer(product_id=product_id, market_day_id=shop.day1, quantity_milli=3_000))
            db.session.add(Offer(product_id=product_id, market_day_id=shop.day2, quantity_milli=4_000))
        db.session.commit()
    for product_id in ids:
        client.post(f"/shop/products/{product_id}/photos", data={"photo": (io.BytesIO(picture(size=(40, 30))), "p.png")},
                    content_type="multipart/form-data")


def test_pages_do_not_query_per_row(app, shop, client, login):
    login(shop.owner_email)
    pages = ["/shop/", "/shop/products", "/shop/availability", "/shop/markets"]
    grow(app, shop, client, 2)
    before = {}
    for url in pages:
        with counted(app) as statements:
            assert client.get(url).status_code == 200
        before[url] = len(statements)
    grow(app, shop, client, 6)
    for url in pages:
        with counted(app) as statements:
            assert client.get(url).status_code == 200
        assert len(statements) == before[url], (url, before[url], len(statements))
