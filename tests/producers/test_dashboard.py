"""The producer's overview: coming market days with what is reserved, open orders, certificates, markets."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

from PIL import Image as PILImage

from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.markets.models import MarketDay, Vendor, VendorStatus
from marketplace.media.services import save_image
from marketplace.producers.models import Offer, Producer
from marketplace.trust.models import (
    Certification,
    CertificationScheme,
    CertificationStatus,
)
from tests.factories import ProducerFactory, ProductFactory
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
    assert "10\u00a0jars" in page  # standing stock of honey
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


def _with_photo(producer_id: int) -> None:
    picture = io.BytesIO()
    PILImage.new("RGB", (64, 48), (90, 140, 60)).save(picture, "PNG")
    picture.seek(0)
    producer = db.session.get(Producer, producer_id)
    producer.photo = save_image(picture, producer.user_id, alt=producer.name)
    db.session.commit()


def test_a_producer_selling_already_sees_the_next_days_orders_before_the_checklist(app, shop, client, login):
    """Story, photo, product and market done; only the optional certificate left: the checklist
    folds into one line below the next market day, whose orders come first on the phone."""
    with app.app_context():
        _with_photo(shop.producer)
        db.session.add(Offer(product_id=shop.potatoes, market_day_id=shop.day1, quantity_milli=20_000))
        db.session.commit()
        add_order(shop.potatoes, shop.day1, 2_500, shop.customer)
    login(shop.owner_email)
    page = client.get("/shop/").get_data(as_text=True)
    assert page.index('id="next-day-title"') < page.index("Getting started")
    folded = re.search(r"<details class=\"onboarding onboarding-folded\">\s*<summary>([^<]+)</summary>", page)
    assert folded and folded.group(1) == "Getting started: 4 of 5 done"
    assert 'id="start-title"' not in page


def test_a_producer_with_every_step_done_has_no_checklist(app, shop, client, login):
    with app.app_context():
        _with_photo(shop.producer)
        db.session.add(Certification(producer_id=shop.producer, scheme=CertificationScheme.HALAL, issuer="Halal KZ",
                                     valid_from=date(2025, 1, 1), valid_until=date(2027, 1, 1)))
        db.session.commit()
    login(shop.owner_email)
    assert "Getting started" not in client.get("/shop/").get_data(as_text=True)


def test_a_new_producer_starts_with_the_checklist_on_top(app, shop, client, login):
    login(shop.rival_email)  # no photo yet
    page = client.get("/shop/").get_data(as_text=True)
    assert page.index('id="start-title"') < page.index('id="next-day-title"')


def test_what_i_bring_from_the_next_day_opens_when_its_orders_are_closed(app, shop, client, login):
    """On market-day morning the next day is past its cutoff: the dashboard's "What I bring" must
    open the form (for the next day still taking orders), not "Page not found" (tryout of issue 21)."""
    with app.app_context():
        day1 = db.session.get(MarketDay, shop.day1)
        day1.cutoff_at = utcnow() - timedelta(hours=1)
        db.session.add(Offer(product_id=shop.potatoes, market_day_id=shop.day1, quantity_milli=20_000))
        db.session.commit()
    login(shop.owner_email)
    page = client.get("/shop/").get_data(as_text=True)
    next_day = page[page.index('id="next-day-title"'):page.index('id="sales-title"')]
    links = re.findall(r'href="(/shop/availability[^"]*)"', next_day)
    assert links, "the next day offers What I bring"
    for link in links:
        answer = client.get(link.replace("&amp;", "&"))
        assert answer.status_code == 200, f"{link} answered {answer.status_code}"
        assert "What I bring" in answer.get_data(as_text=True)


def test_after_applying_the_dashboard_says_the_application_is_waiting(app, shop, client, login):
    """A new producer who applied read "No coming market days ... Apply to a market" again, as if
    nothing had happened (tryout of issue 21): the dashboard names the market deciding."""
    with app.app_context():
        newcomer = ProducerFactory(name="New Farm", user__email="new@example.test")
        ProductFactory(producer=newcomer, name="Морковь")
        db.session.commit()
    login("new@example.test")
    before = client.get("/shop/").get_data(as_text=True)
    assert "Apply to a market" in before
    client.post(f"/shop/markets/{shop.other_market}/apply", data={"message": "Морковь"})
    page = client.get("/shop/").get_data(as_text=True)
    assert "Waiting for the organizer of Far Market to decide." in page
    assert "Apply to a market" not in page and "No coming market days" not in page


def test_orders_to_prepare_lead_with_the_coming_days_and_fold_the_days_held(app, shop, client, login):
    """"Orders to prepare" listed last Saturday's closed day above next Saturday's (tryout of
    issue 21): the days still to prepare come first, soonest first; the days held are folded."""
    with app.app_context():
        add_order(shop.potatoes, shop.past, 1_000, shop.customer, status="picked_up")
        db.session.add(Offer(product_id=shop.potatoes, market_day_id=shop.day2, quantity_milli=5_000))
        db.session.add(Offer(product_id=shop.dill, market_day_id=shop.day1, quantity_milli=5_000))
        db.session.commit()
        add_order(shop.potatoes, shop.day2, 1_000, shop.customer)
        add_order(shop.dill, shop.day1, 1_000, shop.customer)
    login(shop.owner_email)
    page = client.get("/shop/orders").get_data(as_text=True)
    links = [int(day) for day in re.findall(r'href="/shop/orders/days/(\d+)"', page)]
    assert links == [shop.day1, shop.day2, shop.past]
    held = page[page.index('<details class="past-days">'):]
    held = held[:held.index("</details>")]
    assert "1 market day held" in held and f"/shop/orders/days/{shop.past}" in held
