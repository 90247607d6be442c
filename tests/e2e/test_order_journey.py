"""A customer fills a basket from two producers, checks out for cash at pickup, sees the pickup
code and its QR, gets the email, and cancels: the stock is back. The producer's pick list shows
the order meanwhile."""
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.harness import go_to, login_as, snap

pytestmark = pytest.mark.e2e

POTATOES = "Картофель молодой"  # Gulnara Sadykova (producer@aimak.test), brought per market day, by weight
HONEY = "Мёд донниковый"  # Asel Bekova Honey, standing inventory, by the jar


def open_product(page, name):
    header = page.get_by_role("banner")
    header.get_by_label("Search products").fill(name)
    header.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name=f"Results for “{name}”")).to_be_visible()
    # The product's card (not the "Remove filter" chip that repeats the words searched for).
    page.get_by_role("main").get_by_role("link", name=re.compile("^" + re.escape(name))).first.click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def stock_held(app, market_day_id):
    """(potatoes reserved on that day, honey jars reserved): what the customer cannot see directly."""
    from marketplace.core.extensions import db
    from marketplace.producers.models import Offer, Product

    with app.app_context():
        potatoes = db.session.scalar(select(Offer.reserved_milli).join(Product).where(
            Product.name == POTATOES, Offer.market_day_id == market_day_id))
        honey = db.session.scalar(select(Product.inventory_reserved_milli).where(Product.name == HONEY))
        return potatoes, honey


def test_customer_orders_from_two_producers_for_cash_then_cancels(page, new_page, live_server, viewport):
    login_as(page, live_server.url, "customer@aimak.test")

    open_product(page, POTATOES)
    day = page.get_by_role("group", name="Market day").get_by_role("radio").first
    expect(day).to_be_checked()
    day_id = int(day.get_attribute("value"))
    market_name = page.locator(".day-chip-market").first.inner_text().strip()
    page.get_by_label("Quantity (kg)").fill("1,5")
    page.get_by_role("button", name="Add to basket").click()
    expect(page.get_by_role("status").get_by_text(f"{POTATOES} is in your basket")).to_be_visible()

    open_product(page, HONEY)
    page.locator(f'input[name=market_day_id][value="{day_id}"]').check()
    page.get_by_label("Quantity (jar)").fill("2")
    page.get_by_role("button", name="Add to basket").click()
    expect(page.get_by_role("status").get_by_text(f"{HONEY} is in your basket")).to_be_visible()
    page.get_by_role("banner").get_by_role("link", name=re.compile("^Basket")).click()
    expect(page.get_by_role("heading", name="Gulnara Sadykova")).to_be_visible()
    expect(page.get_by_role("heading", name="Asel Bekova Honey")).to_be_visible()
    snap(page, "basket")
    held_before = stock_held(live_server.app, day_id)

    page.get_by_role("link", name="Checkout").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    page.get_by_role("group", name="Pickup time").get_by_role("radio").first.check()
    page.get_by_label("Cash at pickup").check()
    page.get_by_label("Phone number").fill("+7 701 555 12 34")
    snap(page, "checkout")
    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_text("Thank you! Your order is placed.")).to_be_visible()
    qr = page.get_by_role("img", name=re.compile("QR code of pickup code"))
    expect(qr).to_be_visible()
    code = qr.locator("title").text_content().rsplit(" ", 1)[1]
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{6}", code)
    expect(page.get_by_text(code, exact=True)).to_be_visible()
    assert qr.evaluate("(el) => el.tagName.toLowerCase()") == "svg"
    snap(page, "order-placed")
    assert stock_held(live_server.app, day_id) == (held_before[0] + 1500, held_before[1] + 2000)

    from marketplace.core.extensions import db
    from marketplace.notifications.models import OutboxEmail

    with live_server.app.app_context():
        emails = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == "customer@aimak.test",
                                                              OutboxEmail.template == "order_confirmed")).all()
        assert [e for e in emails if code in e.body_text and code in e.subject]

    producer = new_page()
    login_as(producer, live_server.url, "producer@aimak.test")
    go_to(producer, "Orders to prepare")
    # Other journeys in this run may have orders on other days of the same market: the link of this day.
    producer.get_by_role("link", name=re.compile(re.escape(market_name))).and_(
        producer.locator(f'a[href$="/shop/orders/days/{day_id}"]')).click()
    order_card = producer.get_by_role("article").filter(has_text=code)
    expect(order_card).to_be_visible()
    expect(order_card.get_by_text(f"{POTATOES} — 1.5\u00a0kg")).to_be_visible()
    expect(order_card.get_by_text(HONEY)).to_have_count(0)  # another producer's line
    snap(producer, "pick-list")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel this order").click()
    expect(page.get_by_text("Your order is cancelled.")).to_be_visible()
    snap(page, "order-cancelled")
    assert stock_held(live_server.app, day_id) == held_before

    go_to(page, "My orders")
    expect(page.get_by_role("listitem").filter(has_text=code).get_by_text("cancelled")).to_be_visible()
