"""Owners only: every /shop route answers 404 to another producer and to a customer."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.markets.models import Vendor
from marketplace.producers.models import Offer, Product, ProductPhoto
from tests.media.imagedata import picture


@pytest.fixture
def owned(app, shop, client, login):
    """Our producer's product with a photo and our application, made through the real routes."""
    login(shop.owner_email)
    client.post(f"/shop/products/{shop.potatoes}/photos",
                data={"photo": (io.BytesIO(picture()), "фото.png")},
                content_type="multipart/form-data")
    client.post(f"/shop/markets/{shop.other_market}/apply", data={"message": "Hello"})
    client.post("/logout")
    with app.app_context():
        photo = db.session.scalar(select(ProductPhoto).where(ProductPhoto.product_id == shop.potatoes))
        vendor = db.session.scalar(select(Vendor).where(Vendor.market_id == shop.other_market))
        assert photo is not None and vendor is not None
        return {"photo": photo.id, "vendor": vendor.id}


def routes(shop, owned):
    p, ph, v = shop.potatoes, owned["photo"], owned["vendor"]
    return [
        ("GET", f"/shop/products/{p}/edit", None),
        ("POST", f"/shop/products/{p}/edit", {"name": "Stolen", "category_id": shop.vegetables, "unit": "kg",
                                             "price": "1", "stock_mode": "per_market_day"}),
        ("POST", f"/shop/products/{p}/deactivate", {}),
        ("POST", f"/shop/products/{p}/reactivate", {}),
        ("POST", f"/shop/products/{p}/delete", {}),
        ("POST", f"/shop/products/{p}/photos", {}),
        ("POST", f"/shop/products/{p}/photos/{ph}/up", {}),
        ("POST", f"/shop/products/{p}/photos/{ph}/down", {}),
        ("POST", f"/shop/products/{p}/photos/{ph}/remove", {}),
        ("GET", f"/shop/applications/{v}", None),
    ]


def unchanged(app, shop, owned):
    with app.app_context():
        product = db.session.get(Product, shop.potatoes)
        assert product.name == "Картофель" and product.active
        assert db.session.get(ProductPhoto, owned["photo"]) is not None


def test_another_producer_gets_404_on_every_object_route(app, shop, owned, client, login):
    login(shop.rival_email)
    for method, url, data in routes(shop, owned):
        response = client.get(url) if method == "GET" else client.post(url, data=data)
        assert response.status_code == 404, (method, url)
    unchanged(app, shop, owned)


def test_another_producer_cannot_reach_our_photo_through_their_own_product(app, shop, owned, client, login):
    login(shop.rival_email)
    url = f"/shop/products/{shop.rival_product}/photos/{owned['photo']}/remove"
    assert client.post(url).status_code == 404
    unchanged(app, shop, owned)


def test_another_producer_cannot_write_our_grid_cells(app, shop, client, login):
    login(shop.rival_email)
    response = client.post("/shop/availability", data={
        f"q-{shop.day1}-{shop.potatoes}": "1", f"q-{shop.day1}-{shop.rival_product}": "7"})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Offer).where(Offer.product_id == shop.potatoes,
                                                     Offer.market_day_id == shop.day1)) is None
        assert db.session.get(Offer, shop.rival_offer).quantity_milli == 5_000  # nothing of theirs saved either


def test_grid_cells_of_a_market_where_we_are_not_approved_are_404(app, shop, client, login):
    login(shop.owner_email)
    response = client.post("/shop/availability", data={f"q-{shop.other_day}-{shop.potatoes}": "3"})
    assert response.status_code == 404
    assert client.post("/shop/availability", data={"copy": str(shop.other_day)}).status_code == 404


@pytest.mark.parametrize("url", ["/shop/", "/shop/profile", "/shop/products", "/shop/products/new",
                                 "/shop/availability", "/shop/markets", "/shop/products.csv",
                                 "/shop/products/import"])
def test_customer_gets_404_on_shop_pages(shop, client, login, url):
    login(shop.customer_email)
    assert client.get(url).status_code == 404


def test_customer_gets_404_on_object_routes(app, shop, owned, client, login):
    login(shop.customer_email)
    for method, url, data in routes(shop, owned) + [("POST", f"/shop/markets/{shop.market}/apply", {"message": "x"}),
                                                    ("POST", "/shop/availability", {})]:
        response = client.get(url) if method == "GET" else client.post(url, data=data)
        assert response.status_code == 404, (method, url)
    unchanged(app, shop, owned)


def test_visitor_is_sent_to_log_in(shop, client):
    response = client.get("/shop/products")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_services_refuse_an_actor_who_does_not_own_the_producer(ctx, shop):
    from marketplace.accounts.models import User
    from marketplace.core.errors import NotAllowed
    from marketplace.markets.models import Market
    from marketplace.producers import services
    from marketplace.producers.models import Producer

    ours = db.session.get(Producer, shop.producer)
    product = db.session.get(Product, shop.potatoes)
    stranger = db.session.get(User, db.session.get(Producer, shop.rival).user_id)
    attempts = [
        lambda: services.set_product_active(product, stranger, False),
        lambda: services.delete_product(product, stranger),
        lambda: services.remove_product_photo(product, stranger, 1),
        lambda: services.save_availability(ours, stranger, {}),
        lambda: services.apply_to_market(ours, stranger, db.session.get(Market, shop.other_market), ""),
        lambda: services.remove_profile_photo(ours, stranger),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowed):
            attempt()
        db.session.rollback()
    assert db.session.get(Product, shop.potatoes).active


@pytest.mark.parametrize("url", ["/shop/products/99999999999999999999/edit", "/shop/applications/99999999999999999999",
                                 "/shop/products/0/edit"])
def test_absurd_ids_are_404_not_500(shop, client, login, url):
    login(shop.owner_email)
    assert client.get(url).status_code == 404
    assert client.post("/shop/products/99999999999999999999/photos/1/up").status_code == 404
    assert client.post("/shop/markets/99999999999999999999/apply", data={"message": "x"}).status_code == 404
