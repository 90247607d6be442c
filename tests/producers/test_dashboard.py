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
    day1 = page[page.index(f'id="day-{shop.day1}"'):page.index(f'id="day-{shop.day2}"')]
    assert "Картофель" in day1 and "20\u00a0kg" in day1 and "3.5\u00a0kg" in day1
    day2 = page[page.index(f'id="day-{shop.day2}"'):]
    assert "Укроп" in day2 and "9\u00a0bunch" in day2
    assert re.search(r'<span class="stat">1</span>\s*(<a [^>]*>)?open orders', page)
    assert "PGS organic" in page and "being checked" in page
    assert "Far Market" in page and "not accepted" in page and "Full this year" in page
    assert "10\u00a0jar" in page  # standing stock of honey


def test_dashboard_of_a_new_producer_guides_them(app, shop, client, login):
    with app.app_context():
        db.session.query(Offer).delete()
        db.session.commit()
    login(shop.rival_email)
    page = client.get("/shop/").get_data(as_text=True)
    assert "You have not said what you bring yet" in page
    assert "Gulnara" not in page
