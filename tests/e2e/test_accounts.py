"""A customer registers, logs out and back in; a producer reaches their shop."""
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.harness import go_to, login_as, logout, snap

pytestmark = pytest.mark.e2e


def confirmation_link(live_server, email: str) -> str:
    from sqlalchemy import select

    from marketplace.core.extensions import db
    from marketplace.notifications.models import OutboxEmail

    with live_server.app.app_context():
        body = db.session.scalars(select(OutboxEmail.body_text).where(OutboxEmail.to == email)
                                  .order_by(OutboxEmail.id.desc())).first()
    return re.search(r"(http://\S+/verify#\S+)", body).group(1)


def test_customer_registers_logs_out_and_logs_in_again(page, live_server, viewport):
    email = f"dana.{viewport.name}.{uuid.uuid4().hex[:8]}@example.com"
    password = "steppe tulips bloom"
    page.goto(live_server.url + "/")
    go_to(page, "Register")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.get_by_label("Your name").fill("Dana Nurlanovna")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat password").fill(password)
    page.get_by_label("I buy at markets").check()
    snap(page, "register-form")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    snap(page, "check-email")

    # The link from the email, opened in the same browser, confirms the address and logs in.
    page.goto(confirmation_link(live_server, email))
    expect(page.get_by_text("Welcome to Aimak!")).to_be_visible()
    assert "#" not in page.url  # the token left the address bar
    snap(page, "welcome")

    logout(page)
    snap(page, "logged-out")

    login_as(page, live_server.url, email, password)
    go_to(page, "My account")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()
    snap(page, "my-account")


def test_wrong_password_is_refused_with_a_message(page, live_server):
    page.goto(live_server.url + "/login")
    page.get_by_label("Email", exact=True).fill("customer@aimak.test")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_text("Email or password is not correct.")).to_be_visible()
    snap(page, "refused")


def test_producer_logs_in_and_reaches_my_shop(page, live_server):
    login_as(page, live_server.url, "producer@aimak.test")
    go_to(page, "My shop")
    expect(page.get_by_role("heading", name="My shop")).to_be_visible()
    expect(page.get_by_text("Gulnara Sadykova").first).to_be_visible()
    expect(page.get_by_text("Картофель молодой").first).to_be_visible()
    snap(page, "my-shop")
