"""The producer's overview: coming market days with what is reserved, open orders, certificates, markets."""
from __future__ import annotations

import re
from datetime import date

from marketplace.core.extensions import db
from marketplace.markets.models import Vendor, VendorStatus
from marketplace.producers.models import Offer
from marketplace.trust.models import (
    Certification,
    CertificationScheme,
    CertificationStatus,
)
from tests.producers.conftest import add_order


def test_dashboard_shows_what_is_brought_and_reserved_per_coming_day(app, shop, client, login):
    with app.app_context():
        db.session.add(Offer(product_id=shop.potatoes, market_day_id=shop.day1, quantity_milli=20_000))
        db.session.add(Offer(product_id=shop.dill, market_day_id=shop.day2, quantity_milli=9_000))
        db.session.commit()
        add_order(shop.potatoes, shop.day1, 2_500, shop.customer)
        add_order(shop.potatoes, shop.day1, 1_000, shop.customer, status="picked_up")  # not open any more
        add_order(shop.rival_product, shop.day1, 1_000, shop.customer)  # another producer's order
        db.session.add(Certification(producer_id=shop.producer, scheme=CertificationScheme.ORGANIC_PGS,
                                     issuer="PGS Talas", valid_from=date(2025, 1, 1), valid_until=date(2027, 1, 1),
                                     status=CertificationStatus.PENDING))
        db.session.add(Vendor(market_id=shop.other_market, producer_id=shop.producer,
                              status=VendorStatus.REJECTED, decision_reason="Full this year"))
        db.session.commit()
    login(shop.owner_email)
    page = client.get("/shop/").get_data(as_text=True)
    # The next market day leads: what is ordered and what to bring, with the pick list one tap away.
    next_day = page[page.index('id="next-day-title"'):page.index('id="sales-title"')]
    assert "Картофель" in next_day and "20\u00a0kg" in next_day and "3.5\u00a0kg" in next_day
    assert "2</strong> orders" in next_day  # ours (open and handed over); the rival's is not ours
    assert f"/shop/orders/days/{shop.day1}" in next_day
    # Later days are one line each, linked to their day of "What I bring".
    later = page[page.index('id="later-title"'):]
    assert f"/shop/availability?day={shop.day2}" in later and "Укроп" not in later
    assert "10\u00a0jar" in page  # standing stock of honey
    # Certificates and markets live in the shop's tabs.
    for tab in ("Orders", "My sales", "Certificates", "Markets"):
        assert f">{tab}</a>" in page


def test_dashboard_shows_sales_of_the_last_weeks_as_a_chart_and_a_table(app, shop, client, login):
    with app.app_context():
        add_order(shop.potatoes, shop.past, 2_000, shop.customer, status="picked_up")
        add_order(shop.dill, shop.past, 1_000, shop.customer, status="picked_up")
        add_order(shop.potatoes, shop.past, 9_000, shop.customer, status="cancelled")  # not a sale
    login(shop.owner_email)
    page = client.get("/shop/").get_data(as_text=True)
    sales = page[page.index('id="sales-title"'):]
    assert "<svg" in sales and 'role="img"' in sales
    assert "<table" in sales and "Bazaar" in sales  # the same figures without the picture
    assert "Картофель" in sales and "Укроп" in sales
    assert ".00" not in sales and ",00" not in sales  # whole tenge


def test_onboarding_checklist_until_the_first_application(app, shop, client, login):
    login(shop.rival_email)
    page = client.get("/shop/").get_data(as_text=True)
    assert "Getting started" in page and "Add a photo of your farm or workshop" in page


def test_dashboard_of_a_new_producer_guides_them(app, shop, client, login):
    with app.app_context():
        db.session.query(Offer).delete()
        db.session.commit()
    login(shop.rival_email)
    page = client.get("/shop/").get_data(as_text=True)
    assert "You have not said what you bring yet" in page
    assert "Gulnara" not in page
