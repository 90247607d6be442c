"""The back office on a 375-px phone (issue 21), with axe-core on every page a person looks at.

- The producer's market-day routine: the dashboard leads with the next market day and the
  sales of the last weeks; the pick list, a weight entered, "What I bring" for one day, My sales.
- The organizer's Saturday: Today (from the menu) → the pickup point → a hand-over → the
  day's no-shows → the settlement of the day; then the settlement again in two taps from a
  catalog page.

Orders are seeded through the live app's services (the customer's screens are the order
journey's job); a day that is today with a slot already over is the state no screen can make.
"""
import re
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.a11y import assert_accessible, assert_fits_the_phone
from tests.e2e.harness import go_to, login_as, snap

pytestmark = pytest.mark.e2e

PRODUCER = "producer@aimak.test"  # Gulnara Sadykova: Степногорск (Sat) and Astana (Sun)
ORGANIZER = "organizer@aimak.test"  # runs both of her markets
POTATOES = "Картофель молодой"  # sold by weight, per market day
DILL = "Укроп"  # by the bunch: handed over without weighing


def _phone_only(viewport):
    if not viewport.phone:
        pytest.skip("a phone journey (the desktop pages are covered by the other journeys)")


def _customer(tag: str):
    from tests.factories import UserFactory

    return UserFactory(email=f"buyer-{tag}-{uuid.uuid4().hex[:6]}@aimak.test", name=f"Buyer {tag}")


def _offer(product, day, milli=40_000):
    from marketplace.core.extensions import db
    from marketplace.producers.models import Offer

    offer = db.session.scalar(select(Offer).where(Offer.product_id == product.id, Offer.market_day_id == day.id))
    if offer is None:
        offer = Offer(product_id=product.id, market_day_id=day.id, quantity_milli=milli)
        db.session.add(offer)
    elif offer.quantity_milli - offer.reserved_milli < 5_000:
        offer.quantity_milli = offer.reserved_milli + milli
    db.session.flush()
    return offer


def _order(customer, day, items, slot=None, now=None):
    from marketplace.core.extensions import db
    from marketplace.orders import services as orders
    from marketplace.orders.models import PaymentMethod

    order = orders.place_order(customer, day.id, {p.id: q for p, q in items.items()},
                               slot_id=(slot or sorted(day.slots, key=lambda s: s.starts_at)[0]).id,
                               payment_method=PaymentMethod.CASH, phone="+7 701 000 00 00",
                               idempotency_key=uuid.uuid4().hex, now=now)
    db.session.commit()
    return order


def _new_day(market, date, opens, closes, slots):
    """A market day of `market` on `date` (local hours), with pickup slots [(start, end)] local."""
    from marketplace.core.extensions import db
    from marketplace.markets.models import MarketDay, PickupSlot

    tz = ZoneInfo(market.timezone)

    def at(t):
        return datetime.combine(date, t, tzinfo=tz).astimezone(ZoneInfo("UTC"))

    day = MarketDay(market_id=market.id, date=date, opens_at=at(opens), closes_at=at(closes),
                    ordering_opens_at=at(opens) - timedelta(days=6), cutoff_at=at(opens) - timedelta(hours=10),
                    title=f"Journey {uuid.uuid4().hex[:4]}")
    db.session.add(day)
    db.session.flush()
    for start, end in slots:
        db.session.add(PickupSlot(market_day_id=day.id, starts_at=at(start), ends_at=at(end), capacity=50))
    db.session.flush()
    db.session.refresh(day)
    return day


def _free_date(market, candidates):
    from marketplace.core.extensions import db
    from marketplace.markets.models import MarketDay

    taken = set(db.session.scalars(select(MarketDay.date).where(MarketDay.market_id == market.id)))
    return next(d for d in candidates if d not in taken)


def seed_producer(app):
    """An order to prepare on the producer's next market day, and sales handed over a week ago."""
    from marketplace.accounts.models import User
    from marketplace.core.extensions import db
    from marketplace.orders import services as orders
    from marketplace.producers import queries
    from marketplace.producers.models import Producer, Product

    with app.app_context():
        producer = db.session.scalar(select(Producer).join(User).where(User.email == PRODUCER))
        potatoes = db.session.scalar(select(Product).where(Product.producer_id == producer.id,
                                                           Product.name == POTATOES))
        next_day = queries.upcoming_days(producer)[0].day
        _offer(potatoes, next_day)
        db.session.commit()
        order = _order(_customer("next"), next_day, {potatoes: 1500}, now=next_day.ordering_opens_at + timedelta(minutes=1))
        market = next_day.market
        today = datetime.now(ZoneInfo(market.timezone)).date()
        past = _new_day(market, _free_date(market, [today - timedelta(days=n) for n in range(7, 40)]),
                        time(8), time(13), [(time(8), time(13))])
        _offer(potatoes, past)
        organizer = db.session.scalar(select(User).where(User.email == ORGANIZER))
        db.session.commit()
        for grams in (2_000, 3_000):
            sold = _order(_customer("past"), past, {potatoes: grams}, now=past.ordering_opens_at + timedelta(minutes=1))
            orders.hand_over(sold, organizer, now=past.opens_at + timedelta(hours=1))
            db.session.commit()
        return {"code": order.pickup_code, "day_id": next_day.id, "market": market.name}


def test_producer_market_day_routine_on_a_phone(page, live_server, viewport):
    _phone_only(viewport)
    seeded = seed_producer(live_server.app)
    login_as(page, live_server.url, PRODUCER)
    go_to(page, "My shop")
    # The next market day leads, then the sales of the last weeks: no other day comes before them.
    next_day = page.get_by_role("heading", name=re.compile("^Next market day"))
    expect(next_day).to_be_visible()
    sales = page.get_by_role("heading", name=re.compile("^Sales of the last"))
    expect(sales).to_be_visible()
    expect(page.get_by_role("img", name="Sales per market day")).to_be_visible()
    later = page.get_by_role("heading", name="Later market days")
    if later.count():
        assert sales.bounding_box()["y"] < later.bounding_box()["y"]
    assert next_day.bounding_box()["y"] < 812  # on the first screen
    page.get_by_text("Sales per market day as a table").click()  # the same figures without the picture
    expect(page.get_by_role("table").filter(has_text="Sales").first).to_be_visible()
    snap(page, "dashboard")
    assert_fits_the_phone(page)
    assert_accessible(page)

    page.get_by_role("link", name="Pick list", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("^Pick list"))).to_be_visible()
    order = page.get_by_role("article").filter(has_text=seeded["code"])
    order.get_by_label("Weighed (kg)").fill("1,45")
    order.get_by_role("button", name="Save weight").click()
    expect(page.get_by_role("article").filter(has_text=seeded["code"]).get_by_text("weighed 1.45")).to_be_visible()
    snap(page, "pick-list")
    assert_fits_the_phone(page)
    assert_accessible(page)

    page.get_by_role("navigation", name="My shop").get_by_role("link", name="What I bring").click()
    page.get_by_label("Market day").select_option(str(seeded["day_id"]))
    page.wait_for_load_state("load")
    expect(page.get_by_role("group", name=re.compile(seeded["market"]))).to_be_visible()
    quantity = page.get_by_label(re.compile(f"Quantity of {POTATOES}"))
    quantity.fill("45")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text(re.compile(r"Saved: 1 change\.|Nothing changed\."))).to_be_visible()
    snap(page, "what-i-bring")
    assert_fits_the_phone(page)
    assert_accessible(page)

    page.get_by_role("navigation", name="My shop").get_by_role("link", name="My sales").click()
    expect(page.get_by_role("heading", name="My sales and what I am owed")).to_be_visible()
    expect(page.get_by_role("rowheader", name=seeded["market"])).to_be_visible()
    snap(page, "my-sales")
    assert_fits_the_phone(page)
    assert_accessible(page)


def seed_organizer_day(app):
    """A market day today at a market of the demo organizer: a slot over (its order a no-show to
    mark) and a slot now (its order to hand over)."""
    from marketplace.accounts.models import User
    from marketplace.core.extensions import db
    from marketplace.markets.models import Market
    from marketplace.producers.models import Product

    with app.app_context():
        market = db.session.scalar(select(Market).where(Market.name == "Astana Farmers' Market"))
        tz = ZoneInfo(market.timezone)
        now = datetime.now(tz)
        today = now.date()
        start = (now - timedelta(hours=3)).time().replace(second=0, microsecond=0)
        if (now - timedelta(hours=3)).date() != today or (now + timedelta(hours=2)).date() != today:
            start, over, current, end = time(0, 1), time(0, 2), time(0, 3), time(23, 58)
        else:
            over = (now - timedelta(hours=2)).time().replace(second=0, microsecond=0)
            current = (now - timedelta(minutes=30)).time().replace(second=0, microsecond=0)
            end = (now + timedelta(hours=2)).time().replace(second=0, microsecond=0)
        day = _new_day(market, _free_date(market, [today]), start, end, [(start, over), (current, end)])
        slots = sorted(day.slots, key=lambda s: s.starts_at)
        dill = db.session.scalar(select(Product).where(Product.name == DILL))
        _offer(dill, day)
        db.session.commit()
        placed = day.ordering_opens_at + timedelta(minutes=1)
        gone = _order(_customer("gone"), day, {dill: 1000}, slot=slots[0], now=placed)
        here = _order(_customer("here"), day, {dill: 2000}, slot=slots[1], now=placed)
        organizer = db.session.scalar(select(User).where(User.email == ORGANIZER))
        return {"day": day.id, "title": day.title, "market": market.name, "gone": gone.pickup_code,
                "here": here.pickup_code, "organizer": organizer.name}


def test_organizer_saturday_on_a_phone(page, live_server, viewport):
    _phone_only(viewport)
    seeded = seed_organizer_day(live_server.app)
    login_as(page, live_server.url, ORGANIZER)
    page.goto(live_server.url + "/products")  # any page: Today is two taps away
    go_to(page, "Today")
    if page.get_by_role("heading", name="Today", exact=True).count():  # several market days today
        snap(page, "today")
        assert_accessible(page)
        page.get_by_role("listitem").filter(has_text=seeded["title"]).get_by_role("link", name=re.compile("^Pickup point")).click()
    expect(page.get_by_role("heading", name="Pickup point")).to_be_visible()
    snap(page, "pickup-point")
    assert_fits_the_phone(page)
    assert_accessible(page)

    page.get_by_label("Pickup code").fill(seeded["here"])
    page.get_by_role("button", name="Find order").click()
    page.get_by_role("button", name="Hand over").click()
    expect(page.get_by_text(f"Order {seeded['here']} is handed over.")).to_be_visible()
    snap(page, "handed-over")
    assert_accessible(page)

    page.get_by_role("link", name="Pickup point").first.click()
    page.get_by_label("Pickup code").fill(seeded["gone"])
    page.get_by_role("button", name="Find order").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark not picked up").click()
    expect(page.get_by_text(re.compile(f"Order {seeded['gone']} is marked as not picked up"))).to_be_visible()

    page.get_by_role("link", name="Pickup point").first.click()
    page.get_by_role("link", name="No-shows and missing items").click()
    expect(page.get_by_role("heading", name="No-shows and missing items")).to_be_visible()
    expect(page.get_by_role("link", name=seeded["gone"])).to_be_visible()
    snap(page, "no-shows")
    assert_fits_the_phone(page)
    assert_accessible(page)

    page.get_by_role("link", name="Settlement of this day").click()
    expect(page.get_by_role("heading", name="Settlement")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Gulnara Sadykova")).to_be_visible()
    snap(page, "settlement")
    assert_fits_the_phone(page)
    assert_accessible(page)

    # The settlement from any page: Menu, Settlement (the market of today's day).
    page.goto(live_server.url + "/markets")
    go_to(page, "Settlement")
    expect(page.get_by_role("heading", name="Settlement")).to_be_visible()
    expect(page.get_by_role("heading", name=seeded["market"])).to_be_visible()
    snap(page, "settlement-from-menu")
    assert_accessible(page)

