"""The shop on a 375-px phone (issue #20), as a new customer taps through it; every page is
checked by axe-core (no serious or critical violation) and weighed (under 100 KB without images).

- From home to a reserved order at their market: choose the market, a product from this week's,
  add without leaving the page (the header's badge counts), basket, log in, checkout with the
  first free slot chosen, the order with its stall, map and calendar file. Taps are counted and
  no repeated market-day card stands between the customer and the Add button.
- A basket at two markets in two currencies: both kept, each checked out on its own.
- After pickup: "Write a review" and "Order again" on My orders; order again fills the basket.
- Follow a market and keep a favourite with one tap; the account page lists them.
"""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.harness import audit, open_menu

pytestmark = pytest.mark.e2e

ASTANA = "Astana Farmers' Market"
BISHKEK = "Бишкек органик ярмаркасы"


@pytest.fixture
def phone(viewport):
    if not viewport.phone:
        pytest.skip("a phone journey (the desktop runs the other journeys)")
    return viewport


class Taps:
    """Counts what the customer does with a finger, and how far they scroll."""

    def __init__(self, page):
        self.page, self.count, self.started = page, 0, time.monotonic()

    def tap(self, locator):
        locator.scroll_into_view_if_needed()
        self.count += 1
        locator.tap()
        self.page.wait_for_load_state("load")

    def type(self, locator, text):
        self.count += 1
        locator.fill(text)

    def in_first_screen(self, locator):
        box = locator.bounding_box()
        scrolled = self.page.evaluate("window.scrollY")
        return box is not None and box["y"] + box["height"] + scrolled <= self.page.viewport_size["height"]


def _open_days_at(app, market_name: str):
    """Make sure the market's next day takes orders (the demo's days open six days ahead)."""
    from marketplace.core.db import utcnow
    from marketplace.core.extensions import db
    from marketplace.markets.models import Market, MarketDay

    with app.app_context():
        day = db.session.scalar(select(MarketDay).join(Market).where(Market.name == market_name,
                                                                     MarketDay.opens_at > utcnow())
                                .order_by(MarketDay.opens_at))
        if day.ordering_opens_at > utcnow():
            day.ordering_opens_at = utcnow() - timedelta(hours=1)
            db.session.commit()
        return day.id


def test_a_new_customer_reserves_at_their_market_in_a_few_taps(page, live_server, phone):
    _open_days_at(live_server.app, ASTANA)
    taps = Taps(page)
    page.goto("/")
    expect(page.get_by_role("heading", name="Where do you shop?")).to_be_visible()
    audit(page, "home-choose-market")

    taps.tap(page.get_by_role("button", name=re.compile("^" + re.escape(ASTANA))))
    expect(page.get_by_text("Your market:")).to_be_visible()
    week = page.get_by_role("region", name=re.compile("^This week"))
    first_product = week.get_by_role("listitem").first
    # Products with photos and prices lead the page: the first is on the first screen.
    assert taps.in_first_screen(first_product.locator("img")), "this week's first product is below the fold"
    expect(first_product).to_contain_text("₸")
    audit(page, "home-my-market")

    taps.tap(first_product.get_by_role("link"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    add = page.get_by_role("button", name="Add to basket")
    # The reserve block is at the top: the Add button is reachable without scrolling, and the
    # market days are a compact chooser, not repeated cards.
    assert taps.in_first_screen(add), "Add to basket is below the first screen"
    expect(page.locator(".availability-day")).to_have_count(0)
    expect(page.get_by_role("group", name="Market day").get_by_role("radio").first).to_be_checked()
    audit(page, "product")

    url = page.url
    taps.tap(add)
    expect(page.get_by_role("status").get_by_text("is in your basket")).to_be_visible()
    assert page.url == url  # stayed on the page
    badge = page.get_by_role("banner").get_by_role("link", name=re.compile("^Basket"))
    expect(badge).to_contain_text("1")
    audit(page, "product-added")

    taps.tap(page.get_by_role("status").get_by_role("link", name="Go to basket"))
    expect(page.get_by_role("heading", name="Your basket")).to_be_visible()
    audit(page, "basket")

    taps.tap(page.get_by_role("link", name="Checkout"))
    audit(page, "login")
    # A new customer logs in (or registers) first and comes back to the checkout.
    taps.type(page.get_by_label("Email", exact=True), "customer@aimak.test")
    taps.type(page.get_by_label("Password", exact=True), "aimak-demo-2026")
    taps.tap(page.get_by_role("button", name="Log in", exact=True))
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    slots = page.get_by_role("group", name="Pickup time").get_by_role("radio")
    expect(slots.first).to_be_checked()  # the first time with room
    # Every choice is a card at least 44 px high.
    for card in page.locator("label.choice-card").all():
        assert card.bounding_box()["height"] >= 44
    audit(page, "checkout")

    cash = page.get_by_role("radio", name=re.compile("^Cash at pickup"))
    if not cash.is_checked():  # the only way to pay is chosen already
        taps.tap(page.locator("label.choice-card").filter(has=cash))
    phone_field = page.get_by_label("Phone number")
    if not phone_field.input_value():
        taps.type(phone_field, "+7 701 555 12 34")
    taps.tap(page.get_by_role("button", name="Place order"))
    expect(page.get_by_text("Thank you! Your order is placed.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Stall \d+"))).to_be_visible()
    expect(page.get_by_role("link", name="Map")).to_be_visible()
    expect(page.get_by_role("link", name="Add to calendar")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Pay .*₸.* in cash at pickup"))).to_be_visible()
    audit(page, "order-placed")

    seconds = time.monotonic() - taps.started
    # Typing the email and password is most of it; the shop itself is a handful of taps.
    assert taps.count <= 10, f"{taps.count} taps"
    assert seconds < 60, f"{seconds:.0f} s of taps"

    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.startswith("BEGIN:VCALENDAR") and "DTSTART:" in text

    # The order list: items, pickup time and the money in words.
    open_menu(page).get_by_role("link", name="My orders").click()
    first = page.get_by_role("listitem").filter(has_text="Pickup").first
    expect(first).to_contain_text("in cash at pickup")
    audit(page, "my-orders")


def test_a_basket_at_two_markets_keeps_both(page, live_server, phone):
    app = live_server.app
    astana_day, bishkek_day = _open_days_at(app, ASTANA), _open_days_at(app, BISHKEK)
    for slug, day_id, words in (("astana", astana_day, "Мёд"), ("bishkek", bishkek_day, "Мёд горный")):
        page.goto(f"/products?market={slug}&q={words}")
        page.get_by_role("main").get_by_role("link", name=re.compile("^Мёд")).first.click()
        page.locator(f'input[name=market_day_id][value="{day_id}"]').check()
        page.get_by_role("button", name="Add to basket").click()
        expect(page.get_by_role("status").get_by_text("is in your basket")).to_be_visible()
    page.get_by_role("banner").get_by_role("link", name=re.compile("^Basket")).click()
    # Nothing was taken out: one basket per market day, each in its own currency and checkout.
    expect(page.locator(f"#basket-{astana_day}")).to_contain_text("₸")
    expect(page.locator(f"#basket-{bishkek_day}")).to_contain_text("KGS")
    expect(page.get_by_role("link", name=re.compile("^Checkout"))).to_have_count(2)
    expect(page.get_by_text("You have baskets for 2 market days")).to_be_visible()
    expect(page.locator(".flash-success")).to_have_count(0)
    audit(page, "two-baskets")


def test_after_pickup_the_customer_finds_review_and_order_again(page, live_server, phone):
    from marketplace.accounts.models import User
    from marketplace.core.db import utcnow
    from marketplace.core.extensions import db
    from marketplace.orders import services
    from marketplace.orders.models import Order, OrderStatus, PaymentMethod
    from marketplace.producers.models import Offer

    app = live_server.app
    day_id = _open_days_at(app, ASTANA)
    with app.app_context():
        customer = db.session.scalar(select(User).where(User.email == "customer@aimak.test"))
        offer = db.session.scalar(select(Offer).where(Offer.market_day_id == day_id,
                                                      Offer.quantity_milli - Offer.reserved_milli >= 1000))
        from marketplace.markets.models import MarketDay
        slot = db.session.get(MarketDay, day_id).slots[0]
        order = services.place_order(customer, day_id, {offer.product_id: 1000}, slot_id=slot.id,
                                     payment_method=PaymentMethod.CASH, phone="+7 701 000 00 00",
                                     idempotency_key=f"e2e-after-pickup-{time.time_ns()}")
        db.session.flush()
        order.status, order.picked_up_at = OrderStatus.PICKED_UP, utcnow()
        db.session.commit()
        order_id, product_id = order.id, offer.product_id

    from tests.e2e.harness import login_as
    login_as(page, live_server.url, "customer@aimak.test")
    open_menu(page).get_by_role("link", name="My orders").click()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("button", name="Order again")).first
    expect(card.get_by_role("link", name="Write a review")).to_be_visible()
    expect(card).to_contain_text("Paid")
    audit(page, "my-orders-after-pickup")

    card.get_by_role("link", name="Write a review").click()
    expect(page.get_by_role("link", name=re.compile("^Write a review of"))).to_be_visible()
    audit(page, "order-after-pickup")
    page.get_by_role("link", name=re.compile("^Write a review of")).first.click()
    expect(page).to_have_url(re.compile(rf"/trust/orders/{order_id}/producers/\d+/review"))
    audit(page, "write-a-review")

    page.goto(f"/orders/{order_id}")
    page.get_by_role("button", name="Order again").click()
    expect(page.get_by_role("heading", name="Your basket")).to_be_visible()
    expect(page.get_by_text("Back in your basket")).to_be_visible()
    expect(page.locator(f"[id^=basket-][id$='-{product_id}']").first).to_be_visible()
    audit(page, "order-again-basket")


def test_follow_a_market_and_keep_a_favourite(page, live_server, phone):
    from tests.e2e.harness import login_as

    login_as(page, live_server.url, "customer@aimak.test")
    page.goto("/markets/astana")
    page.get_by_role("button", name="Follow this market").click()
    expect(page.get_by_role("button", name="✓ Following")).to_be_visible()
    audit(page, "market-followed")
    page.get_by_role("main").get_by_role("link", name=re.compile("See all|See the")).first.click()
    audit(page, "market-products")
    page.get_by_role("main").locator("a.card-link").first.click()
    name = page.get_by_role("heading", level=1).inner_text()
    page.get_by_role("button", name=re.compile("Keep in favourites")).click()
    expect(page.get_by_role("button", name=re.compile("In your favourites"))).to_be_visible()
    open_menu(page).get_by_role("link", name="My account").click()
    followed = page.get_by_role("region", name="Favourites and follows")
    expect(followed.get_by_role("link", name=ASTANA)).to_be_visible()
    expect(followed.get_by_role("link", name=name)).to_be_visible()
    audit(page, "account-follows")


#: A small phone's first screen (iPhone SE, 8): what is seen without scrolling.
SMALL_PHONE = {"width": 375, "height": 667}
LOCALES = ["ru", "kk", "ky", "en"]


def _in_language(page, live_server, locale: str) -> None:
    page.context.add_cookies([{"name": "locale", "value": locale, "url": live_server.url}])


def _first_products_at(page, market: str, how_many: int) -> list[str]:
    page.goto(f"/products?market={market}")
    return [link.get_attribute("href") for link in page.get_by_role("main").locator("a.card-link").all()[:how_many]]


@pytest.mark.parametrize("locale", LOCALES)
def test_add_to_basket_is_on_the_first_screen_of_a_small_phone(page, live_server, phone, locale):
    """In every language, with a long producer name or category too (the Kyrgyz byline wraps)."""
    _open_days_at(live_server.app, ASTANA)
    _open_days_at(live_server.app, BISHKEK)
    page.set_viewport_size(SMALL_PHONE)
    _in_language(page, live_server, locale)
    taps = Taps(page)
    for href in _first_products_at(page, "astana", 3) + _first_products_at(page, "bishkek", 3):
        page.goto(href)
        add = page.locator("form.js-add-to-basket button[type=submit]")
        if add.count():
            assert taps.in_first_screen(add), f"{href} ({locale}): the Add button is below the first screen"


@pytest.mark.parametrize("locale", LOCALES)
def test_checkout_slots_do_not_push_the_order_button_far_down(page, live_server, phone, locale):
    """Ten pickup times are two columns of cards, not ten full-width cards to scroll past."""
    day_id = _open_days_at(live_server.app, ASTANA)
    page.set_viewport_size(SMALL_PHONE)
    from tests.e2e.harness import login_as
    login_as(page, live_server.url, "customer@aimak.test")  # the form in English; the account follows the cookie
    _in_language(page, live_server, locale)
    href = _first_products_at(page, "astana", 1)[0]
    page.goto(href)
    page.locator(f'input[name=market_day_id][value="{day_id}"]').check()
    page.locator("form.js-add-to-basket button[type=submit]").click()
    expect(page.locator(".add-result.ok")).to_be_visible()
    page.goto(f"/checkout?day={day_id}")
    slots = page.locator("fieldset.slot-cards label.choice-card")
    assert slots.count() >= 4
    tops = {round(card.bounding_box()["y"]) for card in slots.all()}
    assert len(tops) <= (slots.count() + 1) // 2, f"{slots.count()} pickup times in {len(tops)} rows"
    for card in slots.all():
        box = card.bounding_box()
        assert box["height"] >= 44 and box["x"] + box["width"] <= SMALL_PHONE["width"]
    audit(page, f"checkout-small-phone-{locale}")


def test_the_audit_fails_on_a_page_with_a_serious_violation(page, live_server, phone):
    """The axe check of every journey page can fail: a button without a name (critical) and
    grey-on-grey text (serious) are caught and named."""
    page.goto("/")
    page.evaluate("""() => {
        const main = document.querySelector('main');
        const button = document.createElement('button');  // no text, no label
        const faint = document.createElement('p');
        faint.textContent = 'Hard to read';
        faint.style.color = '#bbb';  // CSSOM, which the page's CSP allows
        faint.style.background = '#ccc';
        main.prepend(button, faint);
    }""")
    with pytest.raises(AssertionError, match=r"critical button-name(.|\n)*serious color-contrast|serious color-contrast(.|\n)*critical button-name"):
        audit(page, "planted-violations")
