"""Applying to sell at a market and following the application."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from marketplace.core.errors import InvalidState
from marketplace.core.extensions import db
from marketplace.markets.models import Market, Vendor, VendorStatus
from marketplace.producers import services
from tests.factories import ProducerFactory, ProductFactory


def vendor_at(market_id, producer_id) -> Vendor | None:
    return db.session.scalar(select(Vendor).where(Vendor.market_id == market_id, Vendor.producer_id == producer_id))


def test_markets_list_shows_each_market_with_our_standing(shop, client, login):
    login(shop.owner_email)
    page = client.get("/shop/markets").get_data(as_text=True)
    assert "Bazaar" in page and "approved" in page
    assert "Far Market" in page and f"/shop/markets/{shop.other_market}/apply" in page


def test_apply_creates_an_application_with_a_message(app, shop, client, login):
    login(shop.owner_email)
    assert client.get(f"/shop/markets/{shop.other_market}/apply").status_code == 200
    response = client.post(f"/shop/markets/{shop.other_market}/apply", data={"message": "Картофель и укроп"})
    assert response.status_code == 302
    with app.app_context():
        vendor = vendor_at(shop.other_market, shop.producer)
        assert vendor.status == VendorStatus.APPLIED and vendor.message == "Картофель и укроп"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "waiting for an answer" in page
    again = client.post(f"/shop/markets/{shop.other_market}/apply", data={"message": "again"}, follow_redirects=True)
    assert "already applied" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Vendor).where(Vendor.market_id == shop.other_market)).all().__len__() == 1


def test_a_refusal_shows_its_reason_and_one_may_apply_again(app, shop, client, login):
    login(shop.owner_email)
    client.post(f"/shop/markets/{shop.other_market}/apply", data={"message": "first"})
    with app.app_context():
        vendor = vendor_at(shop.other_market, shop.producer)
        vendor.status, vendor.decision_reason = VendorStatus.REJECTED, "No stall left this season"
        db.session.commit()
        vendor_id = vendor.id
    page = client.get(f"/shop/applications/{vendor_id}").get_data(as_text=True)
    assert "not accepted" in page and "No stall left this season" in page
    client.post(f"/shop/markets/{shop.other_market}/apply", data={"message": "second"})
    with app.app_context():
        vendor = vendor_at(shop.other_market, shop.producer)
        assert (vendor.status, vendor.message, vendor.decision_reason) == (VendorStatus.APPLIED, "second", "")


def test_approved_or_suspended_vendors_cannot_apply_again(app, shop, client, login):
    login(shop.owner_email)
    page = client.post(f"/shop/markets/{shop.market}/apply", data={"message": "x"},
                       follow_redirects=True).get_data(as_text=True)
    assert "already sell at this market" in page
    with app.app_context():
        db.session.execute(update(Vendor).where(Vendor.market_id == shop.market, Vendor.producer_id == shop.producer)
                           .values(status=VendorStatus.SUSPENDED))
        db.session.commit()
    page = client.post(f"/shop/markets/{shop.market}/apply", data={"message": "x"},
                       follow_redirects=True).get_data(as_text=True)
    assert "suspended" in page
    with app.app_context():
        assert vendor_at(shop.market, shop.producer).status == VendorStatus.SUSPENDED


def test_inactive_or_unknown_market_is_404(app, shop, client, login):
    with app.app_context():
        db.session.execute(update(Market).where(Market.id == shop.other_market).values(active=False))
        db.session.commit()
    login(shop.owner_email)
    assert client.post(f"/shop/markets/{shop.other_market}/apply", data={"message": "x"}).status_code == 404
    assert client.get("/shop/markets/999999/apply").status_code == 404


def test_an_empty_profile_cannot_apply_whatever_the_page(app, shop):
    """Organizers decide on what they can see: the service refuses an application without a story
    or a product, so no page and no command can send one (it was only checked by the form's page)."""
    with app.app_context():
        empty = ProducerFactory(story="")
        market = db.session.get(Market, shop.other_market)
        with pytest.raises(InvalidState, match="tell your story"):
            services.apply_to_market(empty, empty.user, market, "hello")
        empty.story = "Our orchard."
        with pytest.raises(InvalidState, match="add at least one product"):
            services.apply_to_market(empty, empty.user, market, "hello")
        ProductFactory(producer=empty)
        assert services.apply_to_market(empty, empty.user, market, "hello").status == VendorStatus.APPLIED


def test_the_application_page_sends_an_empty_profile_back_with_the_reason(app, shop, client, login):
    with app.app_context():
        ProducerFactory(story="", user__email="empty@example.test")
        db.session.commit()
    login("empty@example.test")
    page = client.get(f"/shop/markets/{shop.other_market}/apply", follow_redirects=True).get_data(as_text=True)
    assert "Before you apply, tell your story" in page and 'name="message"' not in page
