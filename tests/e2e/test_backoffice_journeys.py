"""The back office on a 375-px phone (issue 21), with axe-core on every page a person looks at.

Both journeys start from what `flask seed-demo` leaves (marketplace/demo_activity.py): market
days held at Stepnogorsk and Astana with orders handed over, a market day today at Stepnogorsk
with orders waiting, and Ерлан Жумабеков's application to Stepnogorsk with a certificate scan.

- The producer's market-day routine: the dashboard leads with today's orders (on the first
  screen of a 375×667 phone) and the sales of the held days; the pick list, a weight entered,
  "What I bring" for one day, My sales.
- The organizer's Saturday: Today (from the menu) → the pickup point → a hand-over → the
  day's no-shows → the settlement of the day; the settlement again in two taps from a catalog
  page and the other market's one tap further; an application decided with the applicant's
  products and certificate in view.
"""
import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.a11y import assert_accessible, assert_fits_the_phone
from tests.e2e.harness import go_to, login_as, snap

pytestmark = pytest.mark.e2e

PRODUCER = "producer@aimak.test"  # Gulnara Sadykova: Степногорск (Sat) and Astana (Sun)
ORGANIZER = "organizer@aimak.test"  # runs both of her markets
STEPNOGORSK = "Степногорский фермерский рынок"  # a market day today (the demo's)
ASTANA = "Астанинский фермерский рынок"
APPLICANT = "Ерлан Жумабеков"
POTATOES = "Картофель молодой"  # sold by weight, per market day
HONEY = "Мёд донниковый"  # by the jar: handed over without weighing
#: The first screen of a small phone (iPhone SE): what is seen without scrolling.
FIRST_SCREEN = 667


def _phone_only(viewport):
    if not viewport.phone:
        pytest.skip("a phone journey (the desktop pages are covered by the other journeys)")


def seeded_today(app, product_name: str):
    """The demo's market day today at Stepnogorsk and the code of its waiting order holding `product_name`."""
    from marketplace.core.extensions import db
    from marketplace.markets.models import Market, MarketDay
    from marketplace.markets.services import local_today
    from marketplace.orders.models import Order, OrderLine, OrderStatus

    with app.app_context():
        market = db.session.scalar(select(Market).where(Market.name == STEPNOGORSK))
        day = db.session.scalar(select(MarketDay).where(MarketDay.market_id == market.id,
                                                        MarketDay.date == local_today(market)))
        code = db.session.scalar(select(Order.pickup_code).join(OrderLine).where(
            Order.market_day_id == day.id, Order.status == OrderStatus.CONFIRMED,
            OrderLine.product_name == product_name))
        later = db.session.scalar(select(MarketDay.id).where(MarketDay.market_id == market.id,
                                                             MarketDay.date > day.date).order_by(MarketDay.date))
        return {"day_id": day.id, "later_day_id": later, "title": day.title, "code": code}


def test_producer_market_day_routine_on_a_phone(page, live_server, viewport):
    _phone_only(viewport)
    seeded = seeded_today(live_server.app, POTATOES)
    login_as(page, live_server.url, PRODUCER)
    go_to(page, "My shop")
    # Today's market day leads, its orders on the first screen; then the sales of the held days,
    # before any later day.
    next_day = page.get_by_role("heading", name=re.compile("^Next market day"))
    expect(next_day).to_be_visible()
    orders = page.locator(".next-day .figures li").first
    expect(orders).to_have_text(re.compile(r"^[1-9]\d* orders?$"))
    box = orders.bounding_box()
    assert box["y"] + box["height"] <= FIRST_SCREEN, f"the order count ends at {box['y'] + box['height']}px"
    sales = page.get_by_role("heading", name=re.compile("^Sales of the last"))
    expect(sales).to_be_visible()
    expect(page.get_by_role("img", name="Sales per market day")).to_be_visible()
    later = page.get_by_role("heading", name="Later market days")
    if later.count():
        assert sales.bounding_box()["y"] < later.bounding_box()["y"]
    page.get_by_text("Sales per market day as a table").click()  # the same figures without the picture
    expect(page.get_by_role("table").filter(has_text="Sales").first).to_be_visible()
    snap(page, "dashboard")
    assert_fits_the_phone(page)
    assert_accessible(page)

    page.get_by_role("link", name="Pick list", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Pick list"))).to_be_visible()
    order = page.get_by_role("article").filter(has_text=seeded["code"])
    order.get_by_label("Weighed (kg)").fill("1,95")
    order.get_by_role("button", name="Save weight").click()
    expect(page.get_by_role("article").filter(has_text=seeded["code"]).get_by_text("weighed 1.95")).to_be_visible()
    snap(page, "pick-list")
    assert_fits_the_phone(page)
    assert_accessible(page)

    page.get_by_role("navigation", name="My shop").get_by_role("link", name="What I bring").click()
    # Today's is past its cutoff: what she brings is said for a coming day.
    page.get_by_label("Market day").select_option(str(seeded["later_day_id"]))
    page.wait_for_load_state("load")
    expect(page.get_by_role("group", name=re.compile(STEPNOGORSK))).to_be_visible()
    quantity = page.get_by_label(re.compile(f"Quantity of {POTATOES}"))
    quantity.fill("45")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text(re.compile(r"Saved: 1 change\.|Nothing changed\."))).to_be_visible()
    snap(page, "what-i-bring")
    assert_fits_the_phone(page)
    assert_accessible(page)

    page.get_by_role("navigation", name="My shop").get_by_role("link", name="My sales").click()
    expect(page.get_by_role("heading", name="My sales and what I am owed")).to_be_visible()
    expect(page.get_by_role("rowheader", name=STEPNOGORSK)).to_be_visible()
    snap(page, "my-sales")
    assert_fits_the_phone(page)
    assert_accessible(page)


def add_gone_order(app, day_id: int) -> str:
    """An order of the demo's day today in a slot that ended an hour ago (its customer never came):
    the one state no screen can make, whatever the hour the journey runs."""
    from marketplace.core.db import utcnow
    from marketplace.core.extensions import db
    from marketplace.markets.models import MarketDay, PickupSlot
    from marketplace.orders import services as orders
    from marketplace.orders.models import PaymentMethod
    from marketplace.producers.models import Product
    from tests.factories import UserFactory

    with app.app_context():
        day = db.session.get(MarketDay, day_id)
        now = utcnow()
        slot = PickupSlot(market_day_id=day.id, starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1),
                          capacity=5)
        db.session.add(slot)
        db.session.flush()
        dill = db.session.scalar(select(Product).where(Product.name == "Укроп"))
        gone = orders.place_order(UserFactory(email=f"gone-{uuid.uuid4().hex[:6]}@aimak.test", name="Buyer gone"),
                                  day.id, {dill.id: 1000}, slot_id=slot.id, payment_method=PaymentMethod.CASH,
                                  phone="+7 701 000 00 00", idempotency_key=uuid.uuid4().hex,
                                  now=day.ordering_opens_at + timedelta(minutes=1))
        db.session.commit()
        return gone.pickup_code


def test_organizer_saturday_on_a_phone(page, live_server, viewport):
    _phone_only(viewport)
    seeded = seeded_today(live_server.app, HONEY)
    gone = add_gone_order(live_server.app, seeded["day_id"])
    login_as(page, live_server.url, ORGANIZER)
    page.goto(live_server.url + "/products")  # any page: Today is two taps away
    go_to(page, "Today")
    if page.get_by_role("heading", name="Today", exact=True).count():  # several market days today
        snap(page, "today")
        assert_accessible(page)
        page.get_by_role("listitem").filter(has_text=STEPNOGORSK).get_by_role("link", name=re.compile("^Pickup point")).click()
    expect(page.get_by_role("heading", name="Pickup point")).to_be_visible()
    snap(page, "pickup-point")
    assert_fits_the_phone(page)
    assert_accessible(page)

    page.get_by_label("Pickup code").fill(seeded["code"])
    page.get_by_role("button", name="Find order").click()
    page.get_by_role("button", name="Hand over").click()
    expect(page.get_by_text(f"Order {seeded['code']} is handed over.")).to_be_visible()
    snap(page, "handed-over")
    assert_accessible(page)

    page.get_by_role("link", name="Pickup point").first.click()
    page.get_by_label("Pickup code").fill(gone)
    page.get_by_role("button", name="Find order").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark not picked up").click()
    expect(page.get_by_text(re.compile(f"Order {gone} is marked as not picked up"))).to_be_visible()

    page.get_by_role("link", name="Pickup point").first.click()
    page.get_by_role("link", name="No-shows and missing items").click()
    expect(page.get_by_role("heading", name="No-shows and missing items")).to_be_visible()
    expect(page.get_by_role("link", name=gone)).to_be_visible()
    snap(page, "no-shows")
    assert_fits_the_phone(page)
    assert_accessible(page)

    page.get_by_role("link", name="Settlement of this day").click()
    expect(page.get_by_role("heading", name="Settlement")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Asel Bekova Honey")).to_be_visible()  # the honey just handed over
    snap(page, "settlement")
    assert_fits_the_phone(page)
    assert_accessible(page)

    # The settlement from any page: Menu, Settlement (the market of today's day); the other
    # market's settlement, of its own latest day held, one tap further.
    page.goto(live_server.url + "/markets")
    go_to(page, "Settlement")
    expect(page.get_by_role("heading", name="Settlement")).to_be_visible()
    expect(page.get_by_role("heading", name=STEPNOGORSK)).to_be_visible()
    expect(page.get_by_role("rowheader", name="Gulnara Sadykova")).to_be_visible()
    snap(page, "settlement-from-menu")
    assert_fits_the_phone(page)
    assert_accessible(page)
    page.get_by_role("navigation", name="Your other markets").get_by_role("link", name=ASTANA).click()
    expect(page.get_by_role("heading", name=ASTANA)).to_be_visible()
    expect(page.get_by_role("rowheader", name=APPLICANT)).to_be_visible()  # his Sunday's milk
    snap(page, "settlement-other-market")
    assert_fits_the_phone(page)

    # An application decided with the applicant's products and certificate in view.
    page.get_by_role("navigation", name="Your other markets").get_by_role("link", name=STEPNOGORSK).click()
    page.get_by_role("navigation", name="Market pages").get_by_role("link", name="Vendors").click()
    page.get_by_role("link", name=APPLICANT).first.click()
    expect(page.get_by_role("heading", name=APPLICANT, exact=True)).to_be_visible()
    expect(page.get_by_text("Молоко коровье").first).to_be_visible()
    scan = page.get_by_role("img", name=re.compile("^Page 1 of the certificate"))
    scan.scroll_into_view_if_needed()
    expect(scan).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", scan.element_handle()) > 0  # the picture itself came
    snap(page, "application")
    assert_fits_the_phone(page)
    # The profile's facts under their labels: in Kyrgyz, beside "Органикалык аймак же PGS тобу",
    # the values had ~50 px and broke every few letters (the email over four lines).
    for language in ("Кыргызча", "English"):
        page.get_by_role("banner").get_by_text(re.compile("^(Menu|Меню)$")).click()
        page.get_by_label(re.compile("^(Language|Тил)$")).select_option(label=language)
        expect(page.get_by_role("heading", name=APPLICANT, exact=True)).to_be_visible()
        widths = page.evaluate("() => [...document.querySelectorAll('main dl dd')].map((dd) => dd.clientWidth)")
        assert widths and min(widths) > 250, (language, widths)
    assert_accessible(page)
    page.get_by_label("Stall number or place").fill("12")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("button", name="Suspend")).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)




#: The element is wholly inside the screen.
WHOLLY_INSIDE = """(el) => { const r = el.getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth; }"""


def test_the_pickup_slots_table_fits_the_phone(page, live_server, viewport):
    """Tryout of issue 21: the pickup point's "Orders by pickup time" keeps six columns on a phone
    (Picked up, No-show, Cancelled cut off, the table scrolling inside its box)."""
    _phone_only(viewport)
    seeded = seeded_today(live_server.app, HONEY)
    login_as(page, live_server.url, ORGANIZER)
    page.goto(live_server.url + f"/organize/days/{seeded['day_id']}/pickup")
    slots = page.get_by_role("table").filter(has_text="Picked up")
    snap(page, "pickup-slots")
    cut = [header for header in slots.get_by_role("columnheader").all()
           if not header.evaluate(WHOLLY_INSIDE)]
    assert not cut, f"columns off the screen: {[c.inner_text() for c in cut]}"


def test_the_day_legend_of_what_i_bring_sits_inside_its_card(page, live_server, viewport):
    """Tryout of issue 21: on "What I bring" the day's legend (two or three lines on a phone) sits
    above its card's border, which crosses its text."""
    _phone_only(viewport)
    seeded = seeded_today(live_server.app, HONEY)
    login_as(page, live_server.url, PRODUCER)
    page.goto(live_server.url + f"/shop/availability?day={seeded['later_day_id']}")
    day = page.get_by_role("group", name=re.compile(STEPNOGORSK))
    legend, card = day.locator("legend").bounding_box(), day.bounding_box()
    snap(page, "what-i-bring-legend")
    # A fieldset's box starts at its legend's top and draws its border through the legend's middle:
    # a legend inside the card starts below the card's top edge.
    assert legend["y"] > card["y"] + 1, f"the card's border crosses its {legend['height']:.0f}px legend"


def test_not_brought_is_a_button_apart_from_the_quantity_and_asks_first(page, live_server, viewport):
    """Tryout of issue 21: on the pick list "Не привезено" was plain text right after "2 кг", read
    as part of the quantity. It is a button under the line, and it asks before the customer's
    item is dropped; saying no changes nothing."""
    _phone_only(viewport)
    seeded = seeded_today(live_server.app, POTATOES)
    login_as(page, live_server.url, PRODUCER)
    page.goto(live_server.url + f"/shop/orders/days/{seeded['day_id']}")
    order = page.get_by_role("article").filter(has_text=seeded["code"])
    line = order.locator(".pick-line-what").filter(has_text=POTATOES)
    button = order.get_by_role("button", name=f"Not brought {POTATOES}")
    snap(page, "pick-list-not-brought")
    what, box = line.bounding_box(), button.bounding_box()
    assert box["y"] >= what["y"] + what["height"], "the button sits on the quantity's line"
    assert box["height"] >= 36, f"a {box['height']:.0f}px tap target does not look like a button"
    assert button.evaluate("(b) => getComputedStyle(b).borderStyle") != "none"
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    button.click()
    assert asked and "not brought" in asked[0]
    expect(page.get_by_role("article").filter(has_text=seeded["code"])
           .get_by_role("button", name=f"Not brought {POTATOES}")).to_be_visible()
