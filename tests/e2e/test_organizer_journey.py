"""An organizer creates a market, gives it a weekly schedule with pickup slots, approves a
producer who applied through their shop, and cancels a market day that a customer has ordered
for: the producer and the customer each get one email, and the stock is back."""
import re
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.harness import go_to, login_as, snap

pytestmark = pytest.mark.e2e

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
POTATOES = "Картофель молодой"  # Gulnara Sadykova (producer@aimak.test), brought per market day


def emails(app, to, template):
    from marketplace.core.extensions import db
    from marketplace.notifications.models import OutboxEmail

    with app.app_context():
        rows = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == to, OutboxEmail.template == template))
        return [(row.subject, row.body_text) for row in rows]


def potatoes_reserved(app, market_day_id):
    from marketplace.core.extensions import db
    from marketplace.producers.models import Offer, Product

    with app.app_context():
        return db.session.scalar(select(Offer.reserved_milli).join(Product).where(
            Product.name == POTATOES, Offer.market_day_id == market_day_id))


def first_day_of(app, market_name):
    from marketplace.core.extensions import db
    from marketplace.markets.models import Market, MarketDay

    with app.app_context():
        return db.session.scalar(select(MarketDay).join(Market).where(Market.name == market_name)
                                 .order_by(MarketDay.date).limit(1))


def test_organizer_schedules_approves_and_cancels_a_day(page, new_page, live_server, viewport):
    app = live_server.app
    market_name = f"Rynok {viewport.name} {uuid.uuid4().hex[:6]}"
    # A weekday three days ahead at the market: its ordering window is open now.
    weekday = WEEKDAYS[(_local_today("Asia/Almaty") + timedelta(days=3)).weekday()]

    login_as(page, live_server.url, "organizer@aimak.test")
    go_to(page, "My markets")
    page.get_by_role("link", name="New market").click()
    page.get_by_label("Name", exact=True).fill(market_name)
    page.get_by_label("Description").fill("Vegetables and honey from the villages around.")
    page.get_by_label("Address").fill("Astana, Saryarka Ave 4")
    page.get_by_label("Latitude").fill("51.17")
    page.get_by_label("Longitude").fill("71.43")
    page.get_by_label("Time zone").fill("Asia/Almaty")
    page.get_by_label("Currency").fill("KZT")
    page.get_by_label("Commission (%)").fill("7,5")
    snap(page, "new-market")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Market created. Now give it a schedule.")).to_be_visible()
    expect(page.get_by_role("heading", name=market_name)).to_be_visible()

    page.get_by_role("link", name="Add one").click()
    expect(page.get_by_role("heading", name="New schedule")).to_be_visible()
    page.get_by_label("Every week on").check()
    page.get_by_label("Weekday").select_option(label=weekday)
    expect(page.get_by_label("Rule (RFC 5545 RRULE)")).to_be_hidden()  # markets.js shows only what the rule uses
    page.get_by_label("Opens at").fill("08:00")
    page.get_by_label("Closes at").fill("12:00")
    page.get_by_label("Weeks to plan ahead").fill("3")
    page.get_by_label("Pickup slot length (minutes)").fill("60")
    page.get_by_label("Orders per slot").fill("10")
    snap(page, "schedule")
    page.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_text(re.compile(r"Schedule saved: 3 days added"))).to_be_visible()
    expect(page.get_by_text(f"Every {weekday} · 08:00–12:00")).to_be_visible()
    snap(page, "market-with-days")

    producer = new_page()
    login_as(producer, live_server.url, "producer@aimak.test")
    go_to(producer, "My shop")
    producer.get_by_role("navigation", name="My shop").get_by_role("link", name="Markets").click()
    producer.get_by_role("listitem").filter(has_text=market_name).get_by_role("link", name="Apply to sell here").click()
    producer.get_by_label("Message to the organizers").fill("Potatoes and carrots every week.")
    producer.get_by_role("button", name="Apply to sell here").click()
    expect(producer.get_by_text(f"Your application to {market_name} is sent.")).to_be_visible()

    page.get_by_role("navigation", name="Market pages").get_by_role("link", name="Vendors").click()
    page.get_by_role("link", name=re.compile(r"^applied")).click()
    card = page.get_by_role("listitem").filter(has_text="Gulnara Sadykova")
    expect(card.get_by_text("Potatoes and carrots every week.")).to_be_visible()
    card.get_by_label("Stall number or place").fill("A-7")
    snap(page, "application")
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Gulnara Sadykova is now approved; we emailed them.")).to_be_visible()
    [(subject, body)] = [e for e in emails(app, "producer@aimak.test", "vendor_decision") if market_name in e[0]]
    assert "A-7" in body

    # The producer says what she brings to the first day; a customer orders it.
    day = first_day_of(app, market_name)
    producer.get_by_role("navigation", name="My shop").get_by_role("link", name="What I bring").click()
    producer.get_by_label("Market day").select_option(str(day.id))  # one market day at a time
    producer.get_by_role("group", name=re.compile(re.escape(market_name))).first.get_by_label(
        f"Quantity of {POTATOES} on").fill("30")
    producer.get_by_role("button", name="Save", exact=True).first.click()
    expect(producer.get_by_text(re.compile(r"Saved: \d+ change"))).to_be_visible()

    customer = new_page()
    login_as(customer, live_server.url, "customer@aimak.test")
    header = customer.get_by_role("banner")
    header.get_by_label("Search products").fill(POTATOES)
    header.get_by_role("button", name="Search", exact=True).click()
    customer.get_by_role("main").get_by_role("link", name=re.compile("^" + re.escape(POTATOES))).first.click()
    customer.locator(f'input[name=market_day_id][value="{day.id}"]').check()
    customer.get_by_label("Quantity (kg)").fill("2")
    customer.get_by_role("button", name="Add to basket").click()
    expect(customer.get_by_role("status").get_by_text(f"{POTATOES} is in your basket")).to_be_visible()
    customer.get_by_role("banner").get_by_role("link", name=re.compile("^Basket")).click()
    customer.locator(f"#basket-{day.id}").get_by_role("link", name="Checkout").click()
    customer.get_by_role("group", name="Pickup time").get_by_role("radio").first.check()
    customer.get_by_label("Cash at pickup").check()
    customer.get_by_label("Phone number").fill("+7 701 555 12 34")
    customer.get_by_role("button", name="Place order").click()
    expect(customer.get_by_text("Thank you! Your order is placed.")).to_be_visible()
    assert potatoes_reserved(app, day.id) == 2000

    # The organizer sees the order on the day, then cancels the day.
    page.get_by_role("navigation", name="Market pages").get_by_role("link", name="Overview").click()
    page.get_by_role("link", name=re.compile(WEEKDAYS[day.date.weekday()])).first.click()
    expect(page.get_by_text("1 order", exact=False).first).to_be_visible()
    page.get_by_role("link", name="Cancel this market day").click()  # its own page, away from the slots
    page.get_by_label("Reason").fill("Storm warning for the whole region")
    snap(page, "day-before-cancel")
    page.get_by_role("button", name="Cancel this market day").click()
    expect(page.get_by_text(re.compile("^The market day is cancelled; producers and customers are being told"))).to_be_visible()
    expect(page.get_by_text("Storm warning for the whole region")).to_be_visible()
    snap(page, "day-cancelled")

    assert potatoes_reserved(app, day.id) == 0
    producer_mails = [e for e in emails(app, "producer@aimak.test", "market_day_cancelled_producer")
                      if market_name in e[0]]
    assert len(producer_mails) == 1 and "Storm warning" in producer_mails[0][1]
    customer_mails = [e for e in emails(app, "customer@aimak.test", "order_cancelled")
                      if market_name in e[1] and "Storm warning for the whole region" in e[1]]
    assert len(customer_mails) == 1
    customer.reload()
    expect(customer.get_by_text(re.compile("cancelled", re.I)).first).to_be_visible()
    snap(customer, "customer-order-cancelled")


def _local_today(zone):
    from marketplace.core.db import utcnow

    return utcnow().astimezone(ZoneInfo(zone)).date()
