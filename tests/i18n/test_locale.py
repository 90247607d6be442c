"""The language: the user's setting, else the switcher's cookie, else the browser's."""
import pytest

from marketplace.core.extensions import db
from tests.conftest import PASSWORD
from tests.factories import UserFactory


def html_lang(response) -> str:
    text = response.get_data(as_text=True)
    return text.split('<html lang="', 1)[1].split('"', 1)[0]


def test_the_browser_language_is_used_first_time(client):
    assert html_lang(client.get("/", headers={"Accept-Language": "kk-KZ,kk;q=0.9,ru;q=0.8"})) == "kk"
    assert html_lang(client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"})) == "en"


def test_the_switcher_sets_a_cookie_that_beats_the_browser(client):
    response = client.post("/language", data={"locale": "ky", "next": "/products"})
    assert response.status_code == 302 and response.headers["Location"] == "/products"
    assert html_lang(client.get("/", headers={"Accept-Language": "ru"})) == "ky"


def test_the_switcher_refuses_unknown_languages_and_outside_redirects(client):
    assert client.post("/language", data={"locale": "xx"}).status_code == 400
    response = client.post("/language", data={"locale": "ru", "next": "https://evil.example/"})
    assert "evil.example" not in response.headers["Location"]


def test_a_logged_in_users_setting_beats_the_cookie(client, ctx):
    user = UserFactory(email="k@example.test", locale="kk")
    client.set_cookie("locale", "ru")
    client.post("/login", data={"email": "k@example.test", "password": PASSWORD})
    assert html_lang(client.get("/")) == "kk"
    client.post("/language", data={"locale": "ky"})  # switching while logged in saves the setting
    db.session.refresh(user)
    assert user.locale == "ky"
    assert html_lang(client.get("/")) == "ky"


def test_money_and_units_in_each_language(app):
    from flask_babel import force_locale

    from marketplace.core.money import money
    from marketplace.core.quantities import format_quantity

    with app.test_request_context("/"):
        with force_locale("kk"):
            assert money(125000, "KZT") == "1\u00a0250\u00a0₸"
        with force_locale("ru"):
            assert money(125050, "KZT") == "1\u00a0250,50\u00a0₸"
            assert money(125000, "KGS") == "1\u00a0250\u00a0сом"
        with force_locale("en"):
            assert money(125000, "KZT") == "₸1,250"
            assert format_quantity(1500, "kg") == "1.5\u00a0kg"


@pytest.mark.parametrize("locale, message", [("ky", "Талаа 120 белгиден узун болбошу керек."),
                                             ("kk", "120 таңба"), ("ru", "120 символ"),
                                             ("en", "Field cannot be longer than 120 characters.")])
def test_wtforms_own_messages_speak_the_pages_language(client, locale, message):
    # WTForms ships Russian and Kazakh catalogues but no Kyrgyz one: a Kyrgyz page said
    # "Field cannot be longer than 120 characters." in English.
    page = client.post("/register", data={"name": "Я" * 200, "email": "a@example.test"},
                       headers={"Accept-Language": locale}).text
    assert message in page
    if locale != "en":
        assert "Field cannot be longer" not in page and "This field is required." not in page
