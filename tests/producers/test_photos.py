"""Up to five photos per product, in the order the producer chooses, plus one profile photo."""
from __future__ import annotations

import io

from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.producers.models import Producer, Product
from tests.media.imagedata import jpeg_with_gps, picture


def upload(client, product_id, color=(10, 20, 30), name="фото.png"):
    return client.post(f"/shop/products/{product_id}/photos",
                       data={"photo": (io.BytesIO(picture("PNG", color=color)), name)},
                       content_type="multipart/form-data")


def photo_ids(product_id):
    product = db.session.get(Product, product_id)
    return [photo.id for photo in product.photos]


def test_at_most_five_photos(app, shop, client, login):
    login(shop.owner_email)
    for i in range(5):
        assert upload(client, shop.potatoes, color=(i * 40, 0, 0)).status_code == 302
    response = upload(client, shop.potatoes)
    assert "at most 5 photos" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert len(photo_ids(shop.potatoes)) == 5


def test_reorder_and_remove(app, shop, client, login):
    login(shop.owner_email)
    for i in range(3):
        upload(client, shop.potatoes, color=(i * 60, 0, 0))
    with app.app_context():
        first, second, third = photo_ids(shop.potatoes)
    client.post(f"/shop/products/{shop.potatoes}/photos/{third}/up")
    with app.app_context():
        assert photo_ids(shop.potatoes) == [first, third, second]
    client.post(f"/shop/products/{shop.potatoes}/photos/{first}/down")
    with app.app_context():
        assert photo_ids(shop.potatoes) == [third, first, second]
    client.post(f"/shop/products/{shop.potatoes}/photos/{third}/up")  # already first: nothing moves
    client.post(f"/shop/products/{shop.potatoes}/photos/{first}/remove")
    with app.app_context():
        assert photo_ids(shop.potatoes) == [third, second]
        positions = [p.position for p in db.session.get(Product, shop.potatoes).photos]
        assert positions == [0, 1]


def test_bad_photo_upload_shows_a_message(app, shop, client, login):
    login(shop.owner_email)
    response = client.post(f"/shop/products/{shop.potatoes}/photos",
                           data={"photo": (io.BytesIO(b"%PDF-1.4 not an image"), "scan.png")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "not an image we can read" in response.get_data(as_text=True)
    with app.app_context():
        assert photo_ids(shop.potatoes) == []


def test_profile_photo_replaced_and_removed(app, shop, client, login):
    login(shop.owner_email)
    data = {"name": "Gulnara Farm", "kind": "farmer", "country": "KZ", "currency": "KZT"}
    response = client.post("/shop/profile", data={**data, "photo_file": (io.BytesIO(jpeg_with_gps()), "я.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        first = db.session.get(Producer, shop.producer).photo_id
        assert first is not None
    client.post("/shop/profile", data={**data, "photo_file": (io.BytesIO(picture()), "b.png")},
                content_type="multipart/form-data")
    with app.app_context():
        second = db.session.get(Producer, shop.producer).photo_id
        assert second not in (None, first)
    client.post("/shop/profile", data={**data, "remove_photo": "y"})
    with app.app_context():
        assert db.session.get(Producer, shop.producer).photo_id is None
        from marketplace.media.models import Image

        assert db.session.scalars(select(Image.id)).all() == []
