"""Switching language in the footer shows the site in Kazakh, Kyrgyz and Russian, with prices
in each language's format; the producer's dashboard follows the producer's language too."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.harness import open_menu, snap

pytestmark = pytest.mark.e2e

LANGUAGES = {"kk": "Қазақша", "ky": "Кыргызча", "ru": "Русский"}


def translated(app, locale: str, message: str, **values) -> str:
    from flask_babel import force_locale, gettext

    with app.test_request_context("/"), force_locale(locale):
        return gettext(message, **values)


@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_the_site_speaks_each_language(page, live_server, viewport, locale):
    app = live_server.app
    page.goto("/")
    open_menu(page)  # the language switch is in the header's menu
    page.get_by_label("Language").select_option(label=LANGUAGES[locale])  # submits on change
    heading = translated(app, locale, "Fresh from the farm, straight to your market")
    assert heading != "Fresh from the farm, straight to your market"
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator("html")).to_have_attribute("lang", locale)
    snap(page, f"home-{locale}")

    # The product list: prices in that language's format (tenge for the Kazakh markets).
    # Every market (a Kyrgyz reader's list would otherwise show the som market first).
    page.goto("/products?q=мёд&market=*")
    price = page.locator(".product-card").filter(has_text="₸").first
    expect(price).to_be_visible()
    assert re.search(r"\d[\u00a0\u202f ]\d{3}\u00a0₸", price.inner_text()), price.inner_text()
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(app, locale, "Results for “%(q)s”", q="мёд"))
    snap(page, f"products-{locale}")

    # The shop of a producer who reads the site in this language.
    login_as_translated(page, live_server, locale)
    expect(page.get_by_role("heading", level=1)).to_contain_text(translated(app, locale, "My shop"))
    snap(page, f"dashboard-{locale}")


def login_as_translated(page, live_server, locale):
    """Log the demo producer in through the form shown in that language."""
    app = live_server.app
    page.goto("/login")
    page.get_by_label(translated(app, locale, "Email"), exact=True).fill("producer@aimak.test")
    page.get_by_label(translated(app, locale, "Password"), exact=True).fill("aimak-demo-2026")
    page.get_by_role("button", name=translated(app, locale, "Log in"), exact=True).click()
    page.wait_for_load_state("load")


#: Pages whose forms end in a button labelled by a whole phrase (long in Kyrgyz and Kazakh).
FORM_PAGES = ["/login", "/register", "/password/forgot", "/markets", "/basket"]


@pytest.mark.parametrize("locale", ["ky", "kk", "ru"])
def test_form_buttons_fit_a_phone_in_each_language(page, live_server, viewport, locale):
    """"Калыбына келтирүү шилтемесин жөнөтүү" is wider than a 375-px screen: the button wraps."""
    if not viewport.phone:
        pytest.skip("the phone's width is what is checked")
    from tests.e2e.a11y import assert_fits_the_phone

    page.context.add_cookies([{"name": "locale", "value": locale, "url": live_server.url}])
    for path in FORM_PAGES:
        page.goto(path)
        assert_fits_the_phone(page)
