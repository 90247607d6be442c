"""A shopper searches as they type, in their own language and alphabet, on a phone or a desktop:
suggestions under the box, a tap on one, a typo corrected, the search box without JavaScript."""
import pytest
from playwright.sync_api import expect

from tests.e2e.harness import snap

pytestmark = pytest.mark.e2e


def _search_box(page):
    return page.get_by_role("banner").get_by_role("combobox", name="Search products")


def test_a_shopper_types_in_kazakh_and_picks_a_suggestion(page, live_server):
    page.goto(live_server.url + "/")
    box = _search_box(page)
    box.click()
    box.press_sequentially("карто", delay=60)
    suggestions = page.get_by_role("listbox", name="Suggestions")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_role("option", name="картоп", exact=True)).to_be_visible()
    snap(page, "suggestions")

    suggestions.get_by_role("option", name="картоп", exact=True).click()
    expect(page.get_by_role("heading", name="Results for “картоп”")).to_be_visible()
    expect(page.get_by_role("link", name="Картофель молодой")).to_be_visible()
    expect(page.get_by_role("link", name="Картофель таласский")).to_be_visible()
    snap(page, "results")


def test_arrows_and_enter_pick_a_suggestion_and_a_typo_is_corrected(page, live_server):
    page.goto(live_server.url + "/products")
    box = _search_box(page)
    box.click()
    box.press_sequentially("kymy", delay=60)
    expect(page.get_by_role("listbox", name="Suggestions").get_by_role("option").first).to_be_visible()
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "header-q-suggestions-0")
    box.press("Escape")
    expect(page.get_by_role("listbox", name="Suggestions")).to_be_hidden()

    box.fill("картофль")
    box.press("Enter")
    expect(page.get_by_text("Did you mean:")).to_be_visible()
    expect(page.get_by_role("link", name="Картофель молодой")).to_be_visible()
    snap(page, "typo")
    page.get_by_role("link", name="картофель", exact=True).click()
    expect(page.get_by_role("heading", name="Results for “картофель”")).to_be_visible()
    expect(page.get_by_text("Did you mean:")).to_have_count(0)


def test_search_works_without_javascript(browser, live_server, viewport):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, **viewport.context_options())
    page = context.new_page()
    page.goto("/")
    box = page.get_by_role("banner").get_by_role("searchbox", name="Search products")
    box.fill("kymyz")
    box.press("Enter")
    expect(page.get_by_role("link", name="Кымыз (kymyz)")).to_be_visible()
    context.close()
