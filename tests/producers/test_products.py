"""Products through the shop's pages: prices, stock, photos, deactivation, deletion."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.media.models import Image
from marketplace.producers.models import Offer, Product, ProductPhoto, StockMode
from tests.media.imagedata import picture, png_bomb
from tests.producers.conftest import add_order


def form(shop, **changes):
    data = {"name": "Морковь", "category_id": str(shop.vegetables), "unit": "kg", "price": "380",
            "stock_mode": "per_market_day", "description": "Сладкая"}
    data.update(changes)
    return data


def product_named(name: str) -> Product | None:
    return db.session.scalar(select(Product).where(Product.name == name))


def media_files(app) -> list[Path]:
    return sorted(p for p in Path(app.config["MEDIA_ROOT"]).rglob("*") if p.is_file())


@pytest.mark.parametrize("price", ["-5", "abc", "1e9", "12,505", "", "12.5.0", "1 000 000 000"])
def test_bad_prices_are_refused_beside_the_field(app, shop, client, login, price):
    login(shop.owner_email)
    response = client.post("/shop/products/new", data=form(shop, price=price))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="price-errors"' in page
    with app.app_context():
        assert product_named("Морковь") is None


@pytest.mark.parametrize("price,minor", [("12,50", 1250), ("12.50", 1250), ("450", 45000), ("0,5", 50)])
def test_good_prices_are_stored_in_minor_units(app, shop, client, login, price, minor):
    login(shop.owner_email)
    response = client.post("/shop/products/new", data=form(shop, price=price))
    assert response.status_code == 302
    with app.app_context():
        product = product_named("Морковь")
        assert product.price_minor == minor and product.currency == "KZT"
        assert product.active and product.stock_mode == StockMode.PER_MARKET_DAY
        # searchable by its name, description and producer; its category by the category's group,
        # whose words are the category's names in every language (a word no longer stands alone,
        # so "сүт" finds milk, not every dairy product)
        name, other = product.search_text.split(" | ")
        assert name.split()[0] == "морковь" and "~carrot" in name.split()
        assert {"сладкая", "gulnara", "farm", "~vegetables"} <= set(other.split())


def test_create_with_a_photo_whose_name_is_cyrillic(app, shop, client, login):
    login(shop.owner_email)
    data = form(shop, photo=(io.BytesIO(picture("JPEG")), "морковь с грядки.jpg"))
    response = client.post("/shop/products/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        product = product_named("Морковь")
        assert len(product.photos) == 1
        key = product.photos[0].image.key
        assert len(key) == 32 and "морковь" not in key
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/media/i/{key}_400.jpg" in page


def test_text_file_renamed_png_is_refused_with_a_message_and_nothing_saved(app, shop, client, login):
    login(shop.owner_email)
    before = media_files(app)
    data = form(shop, photo=(io.BytesIO(b"I am a text file\n" * 50), "photo.png"))
    response = client.post("/shop/products/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="photo-errors"' in page and "not an image we can read" in page
    with app.app_context():
        assert product_named("Морковь") is None
        assert db.session.scalar(select(func.count(Image.id))) == 0
    assert media_files(app) == before


def test_decompression_bomb_is_refused_without_a_500(app, shop, client, login):
    login(shop.owner_email)
    data = form(shop, photo=(io.BytesIO(png_bomb()), "bomb.png"))
    response = client.post("/shop/products/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "too many pixels" in response.get_data(as_text=True)
    with app.app_context():
        assert product_named("Морковь") is None


def test_a_20_mb_upload_gets_413_and_stores_nothing(app, shop, client, login):
    login(shop.owner_email)
    before = media_files(app)
    big = picture("PNG") + b"\0" * (20 * 1024 * 1024)
    data = form(shop, photo=(io.BytesIO(big), "big.png"))
    response = client.post("/shop/products/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True).lower()
    with app.app_context():
        assert product_named("Морковь") is None
        assert db.session.scalar(select(func.count(Image.id))) == 0
    assert media_files(app) == before


def test_sold_by_weight_needs_a_weighable_unit(app, shop, client, login):
    login(shop.owner_email)
    response = client.post("/shop/products/new", data=form(shop, unit="piece", sold_by_weight="y"))
    assert 'id="sold_by_weight-errors"' in response.get_data(as_text=True)
    with app.app_context():
        assert product_named("Морковь") is None


def test_inventory_product_with_its_standing_quantity(app, shop, client, login):
    login(shop.owner_email)
    response = client.post("/shop/products/new", data=form(
        shop, name="Шырдак", unit="piece", price="12000", stock_mode="inventory", inventory="3"))
    assert response.status_code == 302
    with app.app_context():
        product = product_named("Шырдак")
        assert product.stock_mode == StockMode.INVENTORY and product.inventory_milli == 3000
    refused = client.post("/shop/products/new", data=form(
        shop, name="Felt", unit="piece", stock_mode="inventory", inventory="1,5"))
    assert 'id="inventory-errors"' in refused.get_data(as_text=True)


def test_edit_changes_the_product_and_its_search_text(app, shop, client, login):
    login(shop.owner_email)
    page = client.get(f"/shop/products/{shop.potatoes}/edit").get_data(as_text=True)
    assert 'value="450"' in page  # the price is shown as the producer typed it
    response = client.post(f"/shop/products/{shop.potatoes}/edit", data=form(
        shop, name="Картофель молодой", unit="kg", sold_by_weight="y", price="480,50"))
    assert response.status_code == 302
    with app.app_context():
        product = db.session.get(Product, shop.potatoes)
        assert product.name == "Картофель молодой" and product.price_minor == 48050
        assert product.search_text.startswith(" картофель ") and " молодой " in product.search_text.split(" | ")[0]


def test_standing_stock_cannot_go_below_what_is_reserved(app, shop, client, login):
    with app.app_context():
        db.session.execute(Product.__table__.update().where(Product.id == shop.honey)
                           .values(inventory_reserved_milli=4000))
        db.session.commit()
    login(shop.owner_email)
    data = form(shop, name="Мёд", category_id=str(shop.honey_category), unit="jar", price="4500",
                stock_mode="inventory", inventory="3")
    response = client.post(f"/shop/products/{shop.honey}/edit", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="inventory-errors"' in page and "already reserved" in page
    with app.app_context():
        assert db.session.get(Product, shop.honey).inventory_milli == 10_000
    data["inventory"] = "4"
    assert client.post(f"/shop/products/{shop.honey}/edit", data=data).status_code == 302
    with app.app_context():
        assert db.session.get(Product, shop.honey).inventory_milli == 4000


def test_unit_cannot_change_while_customers_have_reservations(app, shop, client, login):
    with app.app_context():
        add_order(shop.potatoes, shop.past, 1000, shop.customer)
        db.session.execute(Offer.__table__.update().where(Offer.product_id == shop.potatoes)
                           .values(reserved_milli=1000))
        db.session.commit()
    login(shop.owner_email)
    response = client.post(f"/shop/products/{shop.potatoes}/edit", data=form(
        shop, name="Картофель", unit="g", sold_by_weight="y", price="1"))
    assert 'id="unit-errors"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Product, shop.potatoes).unit.value == "kg"


def test_deactivate_and_reactivate(app, shop, client, login):
    login(shop.owner_email)
    assert client.post(f"/shop/products/{shop.dill}/deactivate").status_code == 302
    with app.app_context():
        assert db.session.get(Product, shop.dill).active is False
    assert client.post(f"/shop/products/{shop.dill}/reactivate").status_code == 302
    with app.app_context():
        assert db.session.get(Product, shop.dill).active is True
    assert client.get(f"/shop/products/{shop.dill}/deactivate").status_code == 405  # a GET changes nothing


def test_a_product_with_orders_is_never_deleted(app, shop, client, login):
    with app.app_context():
        add_order(shop.potatoes, shop.past, 1000, shop.customer, status="picked_up")
    login(shop.owner_email)
    response = client.post(f"/shop/products/{shop.potatoes}/delete", follow_redirects=True)
    assert "cannot be deleted" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Product, shop.potatoes) is not None


def test_a_product_without_orders_is_deleted_with_its_offers_and_photos(app, shop, client, login):
    login(shop.owner_email)
    client.post(f"/shop/products/{shop.dill}/photos", data={"photo": (io.BytesIO(picture()), "a.png")},
                content_type="multipart/form-data")
    with app.app_context():
        key = db.session.scalar(select(ProductPhoto).where(ProductPhoto.product_id == shop.dill)).image.key
    files = [p for p in media_files(app) if key in p.name]
    assert len(files) == 2
    assert client.post(f"/shop/products/{shop.dill}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(Product, shop.dill) is None
        assert db.session.scalar(select(func.count(Offer.id)).where(Offer.product_id == shop.dill)) == 0
        assert db.session.scalar(select(func.count(Image.id))) == 0
    assert not any(p.exists() for p in files)


def test_products_list_shows_active_and_hidden_products(app, shop, client, login):
    login(shop.owner_email)
    client.post(f"/shop/products/{shop.dill}/deactivate")
    page = client.get("/shop/products").get_data(as_text=True)
    assert "Картофель" in page and "Укроп" in page and "Rival carrots" not in page
    assert "Show to customers" in page


def test_413_also_when_csrf_protection_reads_the_form_first(app, shop, client, login, monkeypatch):
    login(shop.owner_email)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    before = media_files(app)
    data = form(shop, photo=(io.BytesIO(b"\xff\xd8\xff" + b"\0" * (20 * 1024 * 1024)), "огромное.jpg"))
    response = client.post("/shop/products/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert media_files(app) == before
