"""A visitor, not logged in, browses the demo markets and products."""
import pytest
from playwright.sync_api import expect

from tests.e2e.harness import go_to, snap

pytestmark = pytest.mark.e2e


def test_visitor_browses_markets_and_finds_a_product(page, live_server):
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Fresh from the farm, straight to your market")).to_be_visible()
    expect(page.get_by_text("Астанинский фермерский рынок").first).to_be_visible()
    snap(page, "home")

    go_to(page, "Markets")
    expect(page.get_by_role("heading", name="Markets", exact=True)).to_be_visible()
    expect(page.get_by_text("Бишкек органик ярмаркасы").first).to_be_visible()
    snap(page, "markets")

    go_to(page, "Products")
    expect(page.get_by_role("heading", name="Products", exact=True)).to_be_visible()
    snap(page, "products")

    header = page.get_by_role("banner")
    header.get_by_label("Search products").fill("КАРТОФЕЛЬ")
    header.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("Картофель молодой").first).to_be_visible()
    expect(page.get_by_text("Мёд донниковый")).to_have_count(0)
    snap(page, "search-results")
