"""A producer, on a phone or a desktop, adds a product with a photo, says what they bring to the
next two market days (one at a time, through the day picker), and sees it on their shop's overview."""
import io
import re
import uuid

import pytest
from PIL import Image as PILImage
from playwright.sync_api import expect

from tests.e2e.harness import go_to, login_as, snap

pytestmark = pytest.mark.e2e


def small_png() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (640, 480), (180, 40, 60)).save(buffer, "PNG")
    return buffer.getvalue()


def test_producer_adds_a_product_with_a_photo_and_brings_it_to_two_market_days(page, live_server, viewport):
    name = f"Редиска {viewport.name} {uuid.uuid4().hex[:4]}"
    login_as(page, live_server.url, "producer@aimak.test")
    go_to(page, "My shop")
    page.get_by_role("link", name="Add a product").first.click()
    expect(page.get_by_role("heading", name="New product")).to_be_visible()

    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Category").select_option(label="Vegetables")
    page.get_by_label("Sold per").select_option(label="kilogram (kg)")
    page.get_by_label("Price per unit").fill("120,50")
    page.get_by_label("Sold by weight").check()
    page.get_by_label("I say how much I bring to each market day").check()
    page.get_by_label("Add a photo").set_input_files(
        {"name": "редиска с грядки.png", "mimeType": "image/png", "buffer": small_png()})
    snap(page, "new-product")
    page.get_by_role("button", name="Save product").click()

    expect(page.get_by_text(f"“{name}” is added.")).to_be_visible()
    photo = page.locator("#photos + ol img").first
    expect(photo).to_be_visible()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", photo.element_handle())
    snap(page, "product-with-photo")

    page.get_by_role("link", name="What I bring").click()
    # One market day at a time: the next one first, the others through the day picker.
    picker = page.get_by_label("Market day")
    options = picker.locator("option")
    assert options.count() >= 2
    chosen = [options.nth(0).get_attribute("value"), options.nth(1).get_attribute("value")]
    page.get_by_label(f"Quantity of {name} on").fill("12")
    snap(page, "availability-filled")
    page.get_by_role("button", name="Save", exact=True).first.click()
    expect(page.get_by_text("Saved: 1 change.")).to_be_visible()
    picker.select_option(chosen[1])
    expect(picker).to_have_value(chosen[1])
    page.get_by_label(f"Quantity of {name} on").fill("8,5")
    page.get_by_label(f"Price of {name} on").fill("110")
    page.get_by_role("button", name="Save", exact=True).first.click()
    expect(page.get_by_text("Saved: 1 change.")).to_be_visible()
    expect(page.get_by_label(f"Quantity of {name} on")).to_have_value("8.5")

    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="My shop")).to_be_visible()
    # The next market day leads with what to bring; the later ones are a line each. (Another
    # journey of the shared database may have put a market day today before ours.)
    expect(page.get_by_role("heading", name=re.compile("^Next market day"))).to_be_visible()
    rows = page.get_by_role("row").filter(has_text=name)
    if rows.count():
        expect(rows.first.get_by_role("cell").nth(1)).to_have_text("12\u00a0kg")
        expect(rows.first.get_by_role("cell").nth(2)).to_have_text("0\u00a0kg")
    else:
        expect(page.get_by_role("heading", name="Later market days")).to_be_visible()
    snap(page, "dashboard")
