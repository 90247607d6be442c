"""Issue 21's "Done when", shown with the demo: `seed_demo` leaves the back office with figures.

A producer's dashboard leads with today's orders and the sales of held days; the organizer's
Today goes to a pickup point with orders waiting, Settlement opens on a settlement with sales;
an application waits with the applicant's products and a certificate to preview; checkout
knows the demo customer's phone.
"""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.demo import DEMO_PASSWORD, seed_demo
from marketplace.markets.models import Market, MarketDay, MarketDayStatus, Vendor, VendorStatus
from marketplace.markets.services import local_today
from marketplace.orders.models import Order, OrderStatus


@pytest.fixture
def demo(app):
    with app.app_context():
        started = time.monotonic()
        seed_demo(weeks=1)
        db.session.commit()
        seconds = time.monotonic() - started
        stepnogorsk = db.session.scalar(select(Market).where(Market.slug == "stepnogorsk"))
        today = db.session.scalar(select(MarketDay).where(MarketDay.market_id == stepnogorsk.id,
                                                          MarketDay.date == local_today(stepnogorsk)))
        seeded = {"seconds": seconds, "market_id": stepnogorsk.id, "today_id": today.id}
        db.session.rollback()  # no read left open: the requests below write (SQLite has one writer)
    return seeded


def _as(client, email):
    client.post("/logout")
    response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302


def _page(client, url, follow=True):
    response = client.get(url, follow_redirects=follow)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_the_demo_has_held_days_a_day_today_and_an_application(demo, ctx, client):
    assert demo["seconds"] < 30  # the seed stays quick (pictures included)
    held = db.session.scalars(select(MarketDay).where(MarketDay.status == MarketDayStatus.CLOSED)).all()
    assert len(held) >= 2  # Stepnogorsk's last Saturdays, Astana's last Sunday
    handed = db.session.scalar(select(func.count(Order.id)).where(Order.status == OrderStatus.PICKED_UP))
    no_shows = db.session.scalar(select(func.count(Order.id)).where(Order.status == OrderStatus.NO_SHOW))
    assert handed >= 2 * len(held) and no_shows == 0
    waiting = db.session.scalars(select(Order).where(Order.market_day_id == demo["today_id"],
                                                     Order.status == OrderStatus.CONFIRMED)).all()
    assert len(waiting) == 2
    application = db.session.scalar(select(Vendor).where(Vendor.status == VendorStatus.APPLIED))
    assert application.market_id == demo["market_id"] and application.message
    # Checkout fills in the phone the demo customer keeps on her account.
    customer = db.session.scalar(select(User).where(User.email == "customer@aimak.test"))
    assert customer.phone == "+7 701 234 56 78"
    db.session.rollback()
    _as(client, "customer@aimak.test")
    assert "+7 701 234 56 78" in _page(client, "/account")


def test_the_producer_sees_todays_orders_and_the_sales_of_held_days(demo, client):
    _as(client, "producer@aimak.test")
    page = _page(client, "/shop/")
    next_day = page.index("Next market day")
    assert re.search(r"<strong>[1-9]\d*</strong> orders?", page[next_day:])
    assert "Sales per market day" in page and "No sales handed over" not in page
    total = re.search(r'class="sales-total"><strong>([^<]+)</strong>', page).group(1)
    assert re.search(r"[1-9]", total) and "₸" in total
    # What she sold comes before any later day: the order count is on the first screen.
    assert next_day < page.index("Sales of the last")


def test_the_organizer_reaches_today_and_the_settlement_and_decides_with_context(demo, client):
    _as(client, "organizer@aimak.test")
    today = client.get("/organize/today")  # one market day today: straight to its pickup point
    assert today.status_code == 302 and today.location.endswith(f"/organize/days/{demo['today_id']}/pickup")
    pickup = _page(client, today.location)
    assert re.search(r"<dt>To hand over</dt><dd>2</dd>", pickup) and re.search(r"<dt>Picked up</dt><dd>1</dd>", pickup)
    settlement = client.get("/organize/settlement")
    assert settlement.status_code == 302
    page = _page(client, settlement.location)
    assert "Степногорский фермерский рынок" in page and "No sales in this period" not in page
    assert "Gulnara Sadykova" in page

    # An application waits, and is decided with the applicant's products and certificate in view.
    with client.application.app_context():
        vendor_id = db.session.scalar(select(Vendor.id).where(Vendor.status == VendorStatus.APPLIED))
    page = _page(client, f"/organize/vendors/{vendor_id}")
    assert "Ерлан Жумабеков" in page and "Молоко коровье" in page and "Творог домашний" in page
    preview = re.search(r'<img src="([^"]+/preview[^"]*)"', page)
    assert preview, "the certificate's page is shown as a picture beside the decision"
    picture = client.get(preview.group(1))
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg" and len(picture.data) > 5_000
    assert "Approve" in page
    # Every picture of the applicant's products is there (a thumbnail size that is never made is not).
    pictures = re.findall(r'<img src="(/media/i/[^"]+)"', page)
    assert len(pictures) >= 5 and all(client.get(src).status_code == 200 for src in pictures)
