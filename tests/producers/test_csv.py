"""CSV export, and an import that changes everything or nothing."""
from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.producers.models import Product, StockMode


def upload(client, content: bytes, name="товары.csv"):
    return client.post("/shop/products/import", data={"file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def own_products(producer_id):
    return {p.name: p for p in db.session.scalars(select(Product).where(Product.producer_id == producer_id))}


def test_export_lists_only_our_products(shop, client, login):
    login(shop.owner_email)
    response = client.get("/shop/products.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["name"] for row in rows} == {"Картофель", "Укроп", "Мёд"}
    potatoes = next(row for row in rows if row["name"] == "Картофель")
    assert (potatoes["price"], potatoes["unit"], potatoes["sold_by_weight"], potatoes["category"]) == (
        "450", "kg", "yes", "vegetables")
    honey = next(row for row in rows if row["name"] == "Мёд")
    assert (honey["stock_mode"], honey["inventory"]) == ("inventory", "10")


def test_export_defuses_spreadsheet_formulas(app, shop, client, login):
    with app.app_context():
        db.session.get(Product, shop.dill).name = "=HYPERLINK(\"http://evil\")"
        db.session.commit()
    login(shop.owner_email)
    text = client.get("/shop/products.csv").get_data().decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_exported_file_imports_back_unchanged(app, shop, client, login):
    login(shop.owner_email)
    exported = client.get("/shop/products.csv").get_data()
    response = upload(client, exported)
    assert response.status_code == 302
    assert "0 new, 3 changed" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        products = own_products(shop.producer)
        assert products["Картофель"].price_minor == 45000 and products["Мёд"].inventory_milli == 10_000


def test_import_adds_and_changes_products(app, shop, client, login):
    login(shop.owner_email)
    content = (
        "id,name,category,unit,price,sold_by_weight,stock_mode,inventory,description\n"
        f"{shop.potatoes},Картофель молодой,vegetables,kg,\"480,50\",yes,,,Новый урожай\n"
        ",Укроп,,,250,,,,\n"
        ",Варенье,honey,jar,1200,no,inventory,12,Облепиха\n"
    ).encode()
    response = upload(client, content)
    assert response.status_code == 302
    with app.app_context():
        products = own_products(shop.producer)
        assert products["Картофель молодой"].price_minor == 48050
        name, other = products["Картофель молодой"].search_text.split(" | ")
        assert name.split()[0] == "картофель" and {"новый", "урожай"} <= set(other.split())
        assert products["Укроп"].price_minor == 25000 and products["Укроп"].id == shop.dill  # matched by name
        jam = products["Варенье"]
        assert (jam.stock_mode, jam.inventory_milli, jam.currency) == (StockMode.INVENTORY, 12_000, "KZT")


def test_semicolon_separated_file_from_a_russian_spreadsheet(app, shop, client, login):
    login(shop.owner_email)
    response = upload(client, "name;category;unit;price\r\nЛук;Vegetables;kg;35,00\r\n".encode("utf-8-sig"))
    assert response.status_code == 302
    with app.app_context():
        assert own_products(shop.producer)["Лук"].price_minor == 3500


def test_any_bad_row_imports_nothing_and_every_bad_row_is_listed(app, shop, client, login):
    login(shop.owner_email)
    content = (
        "id,name,category,unit,price,stock_mode,inventory\n"
        ",Лук,vegetables,kg,35,,\n"                       # line 2: fine
        ",Чеснок,vegetables,kg,-5,,\n"                    # line 3: negative price
        ",Перец,fruitcake,kg,10,,\n"                      # line 4: unknown category
        f"{shop.rival_product},Чужое,vegetables,kg,1,,\n"  # line 5: another producer's id
        ",Соль,vegetables,tonne,1,,\n"                    # line 6: unknown unit
        ",Тыква,vegetables,kg,\"12,505\",,\n"             # line 7: three decimals
        ",Лук,vegetables,kg,36,,\n"                       # line 8: same product twice
        ",Кувшин,vegetables,piece,1,inventory,\"1,5\"\n"  # line 9: pieces are whole
    ).encode()
    response = upload(client, content)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Nothing was imported" in page
    for line in (3, 4, 5, 6, 7, 8, 9):
        assert f"<td>{line}</td>" in page, line
    assert "<td>2</td>" not in page
    assert "There is no product with id" in page and "Unknown category" in page and "already on line 2" in page
    with app.app_context():
        assert set(own_products(shop.producer)) == {"Картофель", "Укроп", "Мёд"}
        assert db.session.scalar(select(func.count(Product.id))) == 4


def test_a_new_product_needs_the_required_columns(app, shop, client, login):
    login(shop.owner_email)
    page = upload(client, "name,price\nЛук,35\n".encode()).get_data(as_text=True)
    assert "<td>2</td>" in page and "A new product needs" in page


def test_standing_stock_below_reserved_is_a_bad_row(app, shop, client, login):
    with app.app_context():
        db.session.get(Product, shop.honey).inventory_reserved_milli = 5_000
        db.session.commit()
    login(shop.owner_email)
    page = upload(client, f"id,name,inventory\n{shop.honey},Мёд,4\n".encode()).get_data(as_text=True)
    assert "<td>2</td>" in page and "already reserved" in page
    with app.app_context():
        assert db.session.get(Product, shop.honey).inventory_milli == 10_000


def test_not_utf8_not_csv_and_empty_files_get_a_clear_message(app, shop, client, login):
    login(shop.owner_email)
    cases = [
        ("name,category,unit,price\nЛук,vegetables,kg,35\n".encode("cp1251"), "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file"),
        (b"Just a letter to the organizers.\nThanks!\n", "The first row must name the columns"),
        (b"", "The file is empty"),
        ("name,category,unit,price\n".encode(), "no products"),
    ]
    for content, message in cases:
        response = upload(client, content)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and 'id="file-errors"' in page and message in page, message
    page = client.post("/shop/products/import", data={}).get_data(as_text=True)
    assert "Choose a CSV file" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Product.id))) == 4
