"""Checks of the back-office journeys: axe-core (serious and critical violations fail), and a
page that does not scroll sideways on the phone (said in the test, beside the guard's check)."""
from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

_AXE = Axe()
FAILING_IMPACTS = ("serious", "critical")


def assert_accessible(page: Page) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    page.wait_for_load_state("load")
    results = _AXE.run(page)
    bad = [violation for violation in results.response["violations"] if violation.get("impact") in FAILING_IMPACTS]
    if bad:
        lines = [f"{v['id']} ({v['impact']}): {v['help']} — " +
                 "; ".join(node["target"][0] if node.get("target") else "?" for node in v["nodes"][:4])
                 for v in bad]
        raise AssertionError(f"axe-core on {page.url}:\n  " + "\n  ".join(lines))


def assert_fits_the_phone(page: Page) -> None:
    """The page is no wider than the screen: nothing scrolls sideways."""
    width = page.evaluate("document.documentElement.scrollWidth")
    screen = page.viewport_size["width"]
    assert width <= screen, f"{page.url} is {width}px wide on a {screen}px screen"
