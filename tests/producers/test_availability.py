"""What I bring: one coming market day at a time (a day picker), saved all or nothing."""
from __future__ import annotations

import threading

import pytest
from babel.dates import format_date
from sqlalchemy import select, update

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.markets.models import MarketDay, MarketDayStatus, Vendor, VendorStatus
from marketplace.producers import services
from marketplace.producers.models import Offer, Producer


def offer(product_id, day_id) -> Offer | None:
    return db.session.scalar(select(Offer).where(Offer.product_id == product_id, Offer.market_day_id == day_id))


def cell(day_id, product_id, kind="q"):
    return f"{kind}-{day_id}-{product_id}"


def test_grid_lists_coming_days_of_approved_markets_and_per_day_products(app, shop, client, login):
    with app.app_context():
        closed = db.session.get(MarketDay, shop.day2)
        closed_id = closed.id
    login(shop.owner_email)
    page = client.get("/shop/availability").get_data(as_text=True)
    assert f'name="{cell(shop.day1, shop.potatoes)}"' in page  # the next day first, alone
    assert f'name="{cell(shop.day2, shop.dill, "p")}"' not in page
    assert f'<option value="{shop.day2}"' in page  # the other coming day is in the day picker
    assert f'<option value="{shop.other_day}"' not in page  # not approved at that market
    assert f'<option value="{shop.past}"' not in page  # over
    assert f"q-{shop.day1}-{shop.honey}" not in page  # standing stock is not a per-day product
    assert "Rival carrots" not in page
    second = client.get(f"/shop/availability?day={shop.day2}").get_data(as_text=True)
    assert f'name="{cell(shop.day2, shop.dill, "p")}"' in second and f'name="{cell(shop.day1, shop.dill)}"' not in second
    assert client.get(f"/shop/availability?day={shop.other_day}").status_code == 404
    assert client.get(f"/shop/availability?day={shop.past}").status_code == 404
    with app.app_context():
        db.session.execute(update(MarketDay).where(MarketDay.id == closed_id)
                           .values(status=MarketDayStatus.CANCELLED))
        db.session.commit()
    assert client.get(f"/shop/availability?day={shop.day2}").status_code == 404


def test_one_post_saves_the_whole_day(app, shop, client, login):
    login(shop.owner_email)
    response = client.post("/shop/availability", data={
        "day": str(shop.day1),
        cell(shop.day1, shop.potatoes): "25,5", cell(shop.day1, shop.potatoes, "p"): "420",
        cell(shop.day1, shop.dill): "10", cell(shop.day1, shop.dill, "p"): "",
    })
    assert response.status_code == 302 and response.headers["Location"].endswith(f"?day={shop.day1}")
    assert "Saved: 2 changes." in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        first = offer(shop.potatoes, shop.day1)
        assert (first.quantity_milli, first.price_minor) == (25_500, 42000)
        assert (offer(shop.dill, shop.day1).quantity_milli, offer(shop.dill, shop.day1).price_minor) == (10_000, None)
    response = client.post("/shop/availability", data={"day": str(shop.day2), cell(shop.day2, shop.potatoes): "30",
                                                        cell(shop.day2, shop.dill): ""})
    assert "Saved: 1 change." in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert offer(shop.potatoes, shop.day2).quantity_milli == 30_000
        assert offer(shop.dill, shop.day2) is None  # empty cell, nothing to store
    page = client.get("/shop/availability").get_data(as_text=True)
    assert 'value="25.5"' in page and 'value="420"' in page


def test_a_cell_of_another_day_than_the_form_s_is_404(app, shop, client, login):
    login(shop.owner_email)
    response = client.post("/shop/availability", data={
        "day": str(shop.day1), cell(shop.day1, shop.potatoes): "3", cell(shop.day2, shop.potatoes): "4"})
    assert response.status_code == 404
    with app.app_context():
        assert offer(shop.potatoes, shop.day1) is None and offer(shop.potatoes, shop.day2) is None


def test_bad_cells_are_marked_and_nothing_is_saved(app, shop, client, login):
    login(shop.owner_email)
    response = client.post("/shop/availability", data={
        "day": str(shop.day1),
        cell(shop.day1, shop.potatoes): "20",
        cell(shop.day1, shop.dill): "2,5",  # bunches are whole
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="e-{shop.day1}-{shop.dill}"' in page and "whole number" in page
    second = client.post("/shop/availability", data={
        "day": str(shop.day2), cell(shop.day2, shop.potatoes): "-3", cell(shop.day2, shop.dill, "p"): "12,505"})
    assert f'id="e-{shop.day2}-{shop.potatoes}"' in second.get_data(as_text=True)
    assert f'id="e-{shop.day2}-{shop.dill}"' in second.get_data(as_text=True)
    assert 'value="20"' in page  # what was typed is kept
    with app.app_context():
        assert offer(shop.potatoes, shop.day1) is None


def reserve(offer_id: int, milli: int) -> bool:
    """Checkout's reservation: one conditional UPDATE (DESIGN rule 1)."""
    result = db.session.execute(
        update(Offer).where(Offer.id == offer_id, Offer.quantity_milli - Offer.reserved_milli >= milli)
        .values(reserved_milli=Offer.reserved_milli + milli))
    return result.rowcount == 1


def test_lowering_below_what_is_reserved_is_refused_and_nothing_saved(app, shop, client, login):
    with app.app_context():
        db.session.add(Offer(product_id=shop.potatoes, market_day_id=shop.day1, quantity_milli=20_000))
        db.session.add(Offer(product_id=shop.dill, market_day_id=shop.day1, quantity_milli=10_000))
        db.session.commit()
        assert reserve(offer(shop.potatoes, shop.day1).id, 8_000)
        db.session.commit()
    login(shop.owner_email)
    response = client.post("/shop/availability", data={
        "day": str(shop.day1), cell(shop.day1, shop.potatoes): "5", cell(shop.day1, shop.dill): "4"})
    page = response.get_data(as_text=True)
    assert f'id="e-{shop.day1}-{shop.potatoes}"' in page
    assert "already reserved 8" in page
    with app.app_context():
        assert offer(shop.potatoes, shop.day1).quantity_milli == 20_000
        assert offer(shop.dill, shop.day1).quantity_milli == 10_000  # the good cells were not saved either
    assert client.post("/shop/availability", data={cell(shop.day1, shop.potatoes): "8"}).status_code == 302
    with app.app_context():
        assert offer(shop.potatoes, shop.day1).quantity_milli == 8_000


def test_copy_from_the_previous_market_day_fills_the_day_without_saving(app, shop, client, login):
    login(shop.owner_email)
    assert "Same as last time" in client.get(f"/shop/availability?day={shop.day1}").get_data(as_text=True)
    response = client.post("/shop/availability", data={
        "day": str(shop.day1), "copy": str(shop.day1), cell(shop.day1, shop.potatoes): "", cell(shop.day1, shop.dill): ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Copied from" in page
    assert f'name="{cell(shop.day1, shop.potatoes)}" value="25"' in page
    assert f'name="{cell(shop.day1, shop.potatoes, "p")}" value="400"' in page
    assert f'name="{cell(shop.day1, shop.dill)}" value="12"' in page
    with app.app_context():
        assert offer(shop.potatoes, shop.day1) is None  # nothing saved until Save


def test_copy_when_there_is_no_earlier_day(app, shop, client, login):
    with app.app_context():
        db.session.execute(Offer.__table__.delete().where(Offer.market_day_id == shop.past))
        db.session.commit()
    login(shop.owner_email)
    page = client.post("/shop/availability", data={"copy": str(shop.day1)}).get_data(as_text=True)
    assert "no earlier market day" in page


def test_only_approved_vendors_see_a_grid(app, shop, client, login):
    with app.app_context():
        db.session.execute(update(Vendor).where(Vendor.producer_id == shop.producer)
                           .values(status=VendorStatus.SUSPENDED))
        db.session.commit()
    login(shop.owner_email)
    page = client.get("/shop/availability").get_data(as_text=True)
    assert "no market days taking orders" in page
    assert client.post("/shop/availability", data={cell(shop.day1, shop.potatoes): "3"}).status_code == 404


@pytest.mark.parametrize("run", range(4))
def test_lowering_races_a_reservation_and_never_undercuts_it(app, shop, run):
    """10 brought; a customer reserves 6 while the producer lowers to 5: exactly one of them wins."""
    with app.app_context():
        row = Offer(product_id=shop.potatoes, market_day_id=shop.day1, quantity_milli=10_000)
        db.session.add(row)
        db.session.commit()
        offer_id = row.id
    barrier = threading.Barrier(2)
    outcome = {}

    def customer():
        with app.app_context():
            barrier.wait()
            outcome["reserved"] = reserve(offer_id, 6_000)
            db.session.commit()

    def producer():
        with app.app_context():
            owner = db.session.get(Producer, shop.producer)
            actor = db.session.get(User, owner.user_id)
            barrier.wait()
            try:
                services.save_availability(owner, actor, {(shop.day1, shop.potatoes): ("5", "")})
                db.session.commit()
                outcome["lowered"] = True
            except services.GridErrors:
                db.session.rollback()
                outcome["lowered"] = False

    threads = [threading.Thread(target=customer), threading.Thread(target=producer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcome["reserved"] != outcome["lowered"], outcome
    with app.app_context():
        final = db.session.get(Offer, offer_id)
        assert final.reserved_milli <= final.quantity_milli
        assert (final.quantity_milli, final.reserved_milli) in ((5_000, 0), (10_000, 6_000))


def test_a_product_is_only_offered_at_markets_of_its_currency(app, shop, client, login):
    from tests.factories import MarketFactory, VendorFactory
    from tests.producers.conftest import day_on

    with app.app_context():
        bishkek = MarketFactory(name="Bishkek", currency="KGS", timezone="Asia/Bishkek")
        VendorFactory(market=bishkek, producer=db.session.get(Producer, shop.producer))
        som_day = day_on(bishkek, 5).id
    login(shop.owner_email)
    page = client.get(f"/shop/availability?day={som_day}").get_data(as_text=True)
    assert f'name="{cell(som_day, shop.potatoes)}"' not in page
    assert "Priced in KZT; this market sells in KGS." in page
    response = client.post("/shop/availability", data={"day": str(som_day), cell(som_day, shop.potatoes): "5"})
    assert f'id="e-{som_day}-{shop.potatoes}"' in response.get_data(as_text=True)
    with app.app_context():
        assert offer(shop.potatoes, som_day) is None


def test_standing_stock_of_every_product_in_one_form(app, shop, client, login):
    from marketplace.producers.models import Product

    login(shop.owner_email)
    page = client.get("/shop/availability").get_data(as_text=True)
    assert f'name="s-{shop.honey}"' in page and "Save stock" in page
    response = client.post("/shop/availability/stock", data={f"s-{shop.honey}": "12"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#stock")
    with app.app_context():
        assert db.session.get(Product, shop.honey).inventory_milli == 12_000
        db.session.execute(update(Product).where(Product.id == shop.honey).values(inventory_reserved_milli=5_000))
        db.session.commit()
    refused = client.post("/shop/availability/stock", data={f"s-{shop.honey}": "3"})
    assert refused.status_code == 400 and "already reserved 5" in refused.get_data(as_text=True)
    bad = client.post("/shop/availability/stock", data={f"s-{shop.honey}": "lots"})
    assert bad.status_code == 400
    with app.app_context():
        assert db.session.get(Product, shop.honey).inventory_milli == 12_000
    # Another producer's product, or a per-day one, is not this form's.
    assert client.post("/shop/availability/stock", data={f"s-{shop.rival_product}": "1"}).status_code == 404
    assert client.post("/shop/availability/stock", data={f"s-{shop.potatoes}": "1"}).status_code == 404


@pytest.mark.parametrize("locale, copied", [("ru", "Скопировано: "), ("en", "Copied from "), ("kk", " күнінен көшірілді")])
def test_the_copied_days_date_stands_alone_in_every_language(app, shop, client, login, locale, copied):
    """"Скопировано с понедельник 30 ноября" put a nominative date after a preposition (tryout of
    issue 21): the date stands on its own ("Скопировано: понедельник, 30 ноября")."""
    with app.app_context():
        past = db.session.get(MarketDay, shop.past)
        weekday = format_date(past.date, "EEEE", locale=locale)
    login(shop.owner_email)
    client.set_cookie("locale", locale)
    page = client.post("/shop/availability", data={
        "day": str(shop.day1), "copy": str(shop.day1), cell(shop.day1, shop.potatoes): "",
        cell(shop.day1, shop.dill): ""}).get_data(as_text=True)
    assert copied in page and f"{weekday}, " in page
    assert "Скопировано с " not in page
