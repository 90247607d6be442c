"""A producer uploads a certificate, an organizer checks the document and verifies it, the badge
shows on the product card and the certification filter finds it; after a picked-up order the
customer reviews the producer (script shown as text) and the producer page shows the new summary."""
import re
from datetime import timedelta
from uuid import uuid4

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.harness import go_to, login_as, snap
from tests.trust.helpers import tiny_pdf

pytestmark = pytest.mark.e2e

POTATOES = "Картофель молодой"  # Gulnara Sadykova (producer@aimak.test), vendor at the organizer's markets
PRODUCER = "Gulnara Sadykova"


def picked_up_order(app, product_name: str) -> None:
    """Place a cash order for the demo customer and hand it over, through the orders services.

    The pickup point has its own journey; here the order only has to be picked up.
    """
    from marketplace.accounts.models import User
    from marketplace.core.db import utcnow
    from marketplace.core.extensions import db
    from marketplace.markets.models import MarketDay, MarketDayStatus
    from marketplace.orders.models import PaymentMethod
    from marketplace.orders.services import hand_over, place_order
    from marketplace.producers.models import Offer, Product

    with app.app_context():
        now = utcnow()
        offer = db.session.scalars(
            select(Offer).join(Product).join(MarketDay, MarketDay.id == Offer.market_day_id)
            .where(Product.name == product_name, MarketDay.status == MarketDayStatus.SCHEDULED,
                   MarketDay.ordering_opens_at <= now, MarketDay.cutoff_at > now,
                   Offer.quantity_milli - Offer.reserved_milli >= 1000)
            .order_by(MarketDay.opens_at)).first()
        customer = db.session.scalar(select(User).where(User.email == "customer@aimak.test"))
        organizer = db.session.scalar(select(User).where(User.email == "organizer@aimak.test"))
        day = offer.market_day
        order = place_order(customer, day.id, {offer.product_id: 1000}, slot_id=day.slots[0].id,
                            payment_method=PaymentMethod.CASH, phone="+7 701 555 00 11",
                            idempotency_key=uuid4().hex)
        hand_over(order, organizer)
        db.session.commit()


def test_certificate_verified_badge_filter_and_review(page, new_page, live_server, viewport):
    tag = uuid4().hex[:6]
    issuer = f"Akmola PGS group {tag}"

    # The producer sends a certificate.
    login_as(page, live_server.url, "producer@aimak.test")
    go_to(page, "Certificates")
    page.get_by_role("link", name="Add a certificate").click()
    page.get_by_label("Scheme").select_option(label="PGS organic")
    page.get_by_label("Issued by").fill(issuer)
    page.get_by_label("Certificate number").fill(f"PGS-{tag}")
    page.get_by_label("What it covers").fill("Vegetables")
    from marketplace.core.db import utcnow

    today = utcnow().date()
    page.get_by_label("Valid from").fill((today - timedelta(days=30)).isoformat())
    page.get_by_label("Valid until").fill((today + timedelta(days=335)).isoformat())
    page.get_by_label("Certificate document").set_input_files(
        {"name": "pgs-certificate.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf()})
    snap(page, "certificate-form")
    page.get_by_role("button", name="Send for verification").click()
    expect(page.get_by_text("Certificate sent.")).to_be_visible()
    mine = page.get_by_role("listitem").filter(has_text=issuer)
    expect(mine.get_by_text("Waiting for verification")).to_be_visible()
    snap(page, "certificate-pending")

    # The organizer of the producer's markets opens the document and verifies it.
    organizer = new_page()
    login_as(organizer, live_server.url, "organizer@aimak.test")
    go_to(organizer, "Certificates to check")
    organizer.get_by_role("row").filter(has_text=issuer).get_by_role("link", name=PRODUCER).click()
    expect(organizer.get_by_role("heading", name="Check certificate")).to_be_visible()
    if viewport.phone:
        # Each fact under its label on a phone: beside the long labels ("Document fingerprint
        # (SHA-256)") the values had a quarter of the width and broke mid-word, the status too.
        widths = organizer.evaluate("() => [...document.querySelectorAll('main dl dd')].map((dd) => dd.clientWidth)")
        assert widths and min(widths) > 300, widths
    with organizer.expect_download() as download:
        organizer.get_by_role("link", name=re.compile("Download the document")).click()
    assert download.value.suggested_filename == "pgs-certificate.pdf"
    organizer.get_by_label("Verify: the document is genuine and valid").check()
    snap(organizer, "verify")
    organizer.get_by_role("button", name="Record decision").click()
    expect(organizer.get_by_text("Decision recorded; the producer has been emailed.")).to_be_visible()
    snap(organizer, "queue-after")

    page.reload()
    expect(page.get_by_role("listitem").filter(has_text=issuer).get_by_text("Verified", exact=True)).to_be_visible()

    # A customer filters the catalog by the certification and sees the badge on the card.
    customer = new_page()
    login_as(customer, live_server.url, "customer@aimak.test")
    go_to(customer, "Products")
    filters = customer.get_by_text("Filters and sorting")
    if not customer.get_by_label("Certification").is_visible():
        filters.click()
    customer.get_by_label("Certification").select_option(label="PGS organic")
    customer.get_by_role("button", name="Apply").click()
    card = customer.get_by_role("listitem").filter(
        has=customer.get_by_role("link", name=re.compile("^" + re.escape(POTATOES))))
    expect(card.first).to_be_visible()
    # This run's badge (the other viewport's run adds its own): issuer and validity on hover.
    expect(card.first.get_by_title(re.compile("^" + re.escape(issuer) + " · valid until"))).to_have_text("PGS organic")
    snap(customer, "badge-filter")

    # After a picked-up order the customer reviews the producer.
    picked_up_order(live_server.app, POTATOES)
    card.first.get_by_role("link", name=PRODUCER).click()
    expect(customer.get_by_role("heading", name=PRODUCER, level=1)).to_be_visible()
    customer.get_by_role("link", name=re.compile("^Review your order of")).click()
    customer.get_by_label("5 — excellent").check()
    text = f"Crisp potatoes {tag} <script>alert(1)</script>"
    customer.get_by_label("Your review (optional)").fill(text)
    snap(customer, "review-form")
    customer.get_by_role("button", name="Publish review").click()
    expect(customer.get_by_text("Thank you! Your review is published.")).to_be_visible()
    expect(customer.get_by_text(text, exact=True)).to_be_visible()  # the script is shown as text
    customer.get_by_role("link", name=f"Back to {PRODUCER}").click()
    summary = customer.get_by_role("region", name="Trust").get_by_text(
        re.compile(r"^\d\.\d from \d+ reviews? · \d+% of \d+ ordered items? fulfilled · .*selling here since \d{4}$"))
    expect(summary).to_be_visible()
    expect(customer.get_by_text(text, exact=True)).to_be_visible()
    snap(customer, "producer-trust")
