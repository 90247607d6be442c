"""Market day at the pickup point: the demo organizer finds a card order by its typed code
and hands it over (the card is captured at localstripe), then marks a cash order of a past
day as not picked up; the customer gets one email.

The orders are seeded through the live app's services (placing them through the customer's
screens is the order journey's job); the past day is the one state no screen can make.
"""
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.harness import login_as, snap

pytestmark = pytest.mark.e2e

ORGANIZER = "organizer@aimak.test"


def _free_day(market, dates):
    """A new market day of the market on the first of `dates` it has no day on, with one slot."""
    from marketplace.core.extensions import db
    from marketplace.markets.models import MarketDay, PickupSlot

    taken = set(db.session.scalars(select(MarketDay.date).where(MarketDay.market_id == market.id)))
    date = next(d for d in dates if d not in taken)
    tz = ZoneInfo(market.timezone)
    opens = datetime.combine(date, time(8, 0), tzinfo=tz).astimezone(ZoneInfo("UTC"))
    day = MarketDay(market_id=market.id, date=date, opens_at=opens, closes_at=opens + timedelta(hours=5),
                    # A week before: open now for any of the next five days, whatever the hour (five
                    # days before 08:00 was still closed for the fifth day after local midnight).
                    ordering_opens_at=opens - timedelta(days=7), cutoff_at=opens - timedelta(hours=10),
                    title=f"Pickup journey {uuid.uuid4().hex[:4]}")
    db.session.add(day)
    db.session.flush()
    db.session.add(PickupSlot(market_day_id=day.id, starts_at=opens, ends_at=opens + timedelta(hours=1),
                              capacity=50))
    db.session.commit()
    return day


def seed(app, stripe):
    """A card order (authorised at localstripe) for a day in two days, and a cash order of a
    day that is over; returns what the journey needs to know."""
    from marketplace.accounts.models import Role, User
    from marketplace.core.extensions import db
    from marketplace.markets.models import Market, MarketOrganizer
    from marketplace.orders import services as orders
    from marketplace.orders.models import PaymentMethod
    from marketplace.payments import services as payments
    from tests.factories import (
        OfferFactory,
        ProducerFactory,
        ProductFactory,
        UserFactory,
        VendorFactory,
    )

    with app.app_context():
        organizer = db.session.scalar(select(User).where(User.email == ORGANIZER))
        market = db.session.scalar(select(Market).join(MarketOrganizer, MarketOrganizer.market_id == Market.id)
                                   .where(MarketOrganizer.user_id == organizer.id).order_by(Market.id))
        today = datetime.now(ZoneInfo(market.timezone)).date()
        soon = _free_day(market, [today + timedelta(days=n) for n in range(2, 6)])
        past = _free_day(market, [today - timedelta(days=n) for n in range(2, 400)])
        tag = uuid.uuid4().hex[:6]
        farm = ProducerFactory(name=f"Pickup Farm {tag}", currency=market.currency)
        VendorFactory(market=market, producer=farm)
        apples = ProductFactory(producer=farm, name=f"Apples {tag}", price_minor=60000, currency=market.currency)
        for day in (soon, past):
            OfferFactory(product=apples, market_day=day, quantity_milli=50_000)

        card_customer = UserFactory(email=f"card-{tag}@example.test", name="Aigerim Card",
                                    roles=[Role.CUSTOMER])
        card = orders.place_order(card_customer, soon.id, {apples.id: 2000}, slot_id=soon.slots[0].id,
                                  payment_method=PaymentMethod.CARD, phone="+7 701 000 00 01",
                                  idempotency_key=uuid.uuid4().hex)
        payment = payments.open_payment_for(card)
        db.session.commit()
        payments.start_intent(payment)
        db.session.commit()
        payments.submit_card(payment, stripe.card_token(), card_customer.email)
        db.session.commit()

        cash_customer = UserFactory(email=f"cash-{tag}@example.test", name="Bakyt Cash", roles=[Role.CUSTOMER])
        cash = orders.place_order(cash_customer, past.id, {apples.id: 1000}, slot_id=past.slots[0].id,
                                  payment_method=PaymentMethod.CASH, phone="+7 701 000 00 02",
                                  idempotency_key=uuid.uuid4().hex, now=past.opens_at - timedelta(days=1))
        db.session.commit()
        return dict(market_name=market.name, soon_id=soon.id, soon_title=soon.title, past_id=past.id,
                    card_code=card.pickup_code, card_order_id=card.id, intent_id=payment.provider_intent_id,
                    cash_code=cash.pickup_code, cash_order_id=cash.id, cash_email=cash_customer.email)


def test_organizer_hands_over_a_card_order_and_marks_a_no_show(page, live_server, viewport, stripe):
    app = live_server.app
    seeded = seed(app, stripe)
    login_as(page, live_server.url, ORGANIZER)

    # The organizer's market day page leads to its pickup point.
    page.goto(f"/organize/days/{seeded['soon_id']}")
    page.get_by_role("link", name="Pickup point").click()
    expect(page.get_by_role("heading", name="Pickup point")).to_be_visible()
    expect(page.get_by_role("heading", name="Producers still to bring orders")).to_be_visible()
    snap(page, "pickup-day")

    # The scanner library loads only when "Scan QR" is pressed; without a camera, typing still works.
    scripts = []
    page.on("request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None)
    assert not any("html5-qrcode" in url for url in scripts)
    page.get_by_role("button", name="Scan QR").click()
    expect(page.get_by_text("The camera could not be started. Type the code instead.")).to_be_visible()
    assert any("html5-qrcode" in url for url in scripts)

    # The customer reads the code out; the volunteer types it as heard.
    code = seeded["card_code"]
    page.get_by_label("Pickup code").fill(f"{code[:3].lower()} {code[3:].lower()}")
    page.get_by_role("button", name="Find order").click()
    expect(page.get_by_role("heading", name=f"Order {code}")).to_be_visible()
    expect(page.get_by_text("Held on the customer's card.")).to_be_visible()
    snap(page, "card-order")
    # Two days before the market opens: the page says so, and refuses until the volunteer confirms.
    expect(page.get_by_text("The market day has not opened yet").first).to_be_visible()
    page.get_by_role("button", name="Hand over", exact=True).click()
    expect(page.get_by_text("Not handed over yet: confirm first")).to_be_visible()
    snap(page, "hand-over-asks")
    page.get_by_label("Yes, hand over before the market day opens").check()
    page.get_by_role("button", name="Hand over", exact=True).click()
    expect(page.get_by_text(f"Order {code} is handed over.")).to_be_visible()
    expect(page.get_by_role("button", name="Undo hand-over")).to_be_visible()
    snap(page, "handed-over")
    page.get_by_role("link", name="Packing labels").click()
    expect(page.get_by_text(code, exact=True)).to_be_visible()
    expect(page.get_by_role("navigation")).to_have_count(0)
    snap(page, "packing-labels")
    page.emulate_media(media="print")  # on paper: the labels only
    expect(page.get_by_text(code, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Packing labels")).to_be_hidden()
    page.emulate_media(media="screen")

    from marketplace.core.extensions import db
    from marketplace.orders.models import Order, OrderStatus
    from marketplace.payments.models import Payment, PaymentStatus

    with app.app_context():
        assert db.session.get(Order, seeded["card_order_id"]).status == OrderStatus.PICKED_UP
        payment = db.session.scalar(select(Payment).where(Payment.order_id == seeded["card_order_id"]))
        assert payment.status == PaymentStatus.CAPTURED and payment.amount_captured_minor == 120_000
    assert stripe.intent(seeded["intent_id"])["status"] == "succeeded"

    # A day that is over: nobody came for the other order.
    page.goto(f"/organize/days/{seeded['past_id']}/pickup")
    page.get_by_label("Pickup code").fill(seeded["cash_code"])
    page.get_by_role("button", name="Find order").click()
    expect(page.get_by_role("heading", name=f"Order {seeded['cash_code']}")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark not picked up").click()
    expect(page.get_by_text("is marked as not picked up; the customer is told")).to_be_visible()
    snap(page, "no-show")

    from marketplace.notifications.models import OutboxEmail

    with app.app_context():
        assert db.session.get(Order, seeded["cash_order_id"]).status == OrderStatus.NO_SHOW
        sent = db.session.scalars(select(OutboxEmail.template).where(OutboxEmail.to == seeded["cash_email"])).all()
        assert sent.count("order_no_show") == 1


def _qr_video(code: str, path) -> None:
    """A camera that films the customer's QR: a Y4M clip Chromium plays as its fake webcam."""
    import segno

    # 5 pixels a module: the code (29 modules with its border, 145 px) fits the scanner's
    # 200-px box even when the box is taken 1:1 from the camera's pixels (at 8 it did not,
    # and a scan whose box was measured before the video's size failed now and then).
    width, height, scale = 640, 480, 5
    rows = [bytes(0 if dark else 255 for dark in row)
            for row in segno.make(code, micro=False).matrix_iter(scale=scale, border=4)]
    top, left = (height - len(rows)) // 2, (width - len(rows[0])) // 2
    luma = bytearray(b"\xff" * (width * height))
    for y, row in enumerate(rows):
        luma[(top + y) * width + left:(top + y) * width + left + len(row)] = row
    frame = b"FRAME\n" + bytes(luma) + b"\x80" * (width * height // 2)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        out.write(frame * 10)


def test_scanning_the_customers_qr_opens_the_order(browser, live_server, stripe, tmp_path):
    """On a phone whose camera sees the customer's QR code, "Scan QR" finds the order."""
    from tests.e2e.harness import CHROMIUM_ARGS, PHONE, chromium_path

    seeded = seed(live_server.app, stripe)
    video = tmp_path / "qr.y4m"
    _qr_video(seeded["card_code"], video)
    camera_browser = browser.browser_type.launch(
        executable_path=chromium_path(), headless=True,
        args=CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                              f"--use-file-for-fake-video-capture={video}"])
    try:
        context = camera_browser.new_context(base_url=live_server.url, permissions=["camera"],
                                             **PHONE.context_options())
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        login_as(page, live_server.url, ORGANIZER)
        page.goto(f"/organize/days/{seeded['soon_id']}/pickup")
        page.get_by_role("button", name="Scan QR").click()
        expect(page.get_by_role("heading", name=f"Order {seeded['card_code']}")).to_be_visible(timeout=20_000)
        assert errors == []
    finally:
        camera_browser.close()
