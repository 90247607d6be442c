"""A customer follows a market and links Telegram from the account page (the deep link's /start
reaches the app's webhook from the Bot API stand-in); the clock moves to the moment the
market's next day opens for orders, and the scheduled job tells them by email and in
Telegram; the unsubscribe link from the email switches those emails off without a login."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.conftest import PASSWORD
from tests.e2e.harness import audit, go_to, login_as
from tests.standins.telegram_server import TelegramBotAPI, TelegramUser

pytestmark = pytest.mark.e2e


@pytest.fixture
def telegram(live_server):
    """Telegram on for this journey: the live app's bot talks to the stand-in, whose updates are
    pushed to the live app's webhook (set by `flask telegram-webhook`, as in production)."""
    app = live_server.app
    with TelegramBotAPI() as api:
        saved = {key: app.config.get(key) for key in (*api.config(), "TELEGRAM_WEBHOOK_SECRET")}
        app.config.update(api.config(), TELEGRAM_WEBHOOK_SECRET=uuid.uuid4().hex)
        result = app.test_cli_runner().invoke(args=["telegram-webhook"])
        assert "Webhook set" in result.output, result.output
        yield api
        app.config.update(saved)


def next_closed_day(app):
    """The first market day (of any market) whose ordering window has not opened yet."""
    from marketplace.core.db import utcnow
    from marketplace.core.extensions import db
    from marketplace.markets.models import Market, MarketDay, MarketDayStatus

    with app.app_context():
        day = db.session.scalars(select(MarketDay).join(Market).where(
            MarketDay.status == MarketDayStatus.SCHEDULED, MarketDay.ordering_opens_at > utcnow(),
            Market.active.is_(True)).order_by(MarketDay.ordering_opens_at)).first()
        return day.id, day.market.slug, day.market.name, day.ordering_opens_at


def test_a_follower_hears_ordering_is_open_by_email_and_telegram_and_unsubscribes(
        page, live_server, viewport, telegram, monkeypatch):
    from marketplace.alerts import services as alerts
    from marketplace.core.extensions import db
    from marketplace.notifications.channels import preferences_of
    from marketplace.notifications.models import OutboxEmail
    from marketplace.tasks import queue_of
    from tests.factories import UserFactory

    app = live_server.app
    email = f"aibek.{viewport.name}.{uuid.uuid4().hex[:8]}@example.com"
    with app.app_context():
        user_id = UserFactory(email=email, name="Aibek Follower", locale="en").id
        db.session.commit()
    day_id, slug, market_name, opens_at = next_closed_day(app)
    person = TelegramUser(id=7_000_000 + (user_id % 100_000), first_name="Aibek", language_code="ky")

    # Follow the market with one tap on its page.
    login_as(page, live_server.url, email, PASSWORD)
    page.goto(f"{live_server.url}/markets/{slug}")
    page.get_by_role("button", name="Follow this market").click()
    expect(page.get_by_text(f"You follow {market_name}.")).to_be_visible()
    audit(page, "following")

    # Link Telegram from the account page: the deep link carries a one-time token.
    go_to(page, "My account")
    messages = page.get_by_role("region", name="Messages")
    expect(messages.get_by_role("checkbox", name="Ordering is open at a market you follow: Email")).to_be_checked()
    audit(page, "account-messages")
    messages.get_by_role("button", name="Link Telegram").click()
    deep_link = page.get_by_role("link", name="Open Telegram").get_attribute("href")
    assert deep_link.startswith("https://t.me/aimak_test_bot?start=")
    audit(page, "link-telegram")
    telegram.user_says(person, "/start " + deep_link.split("start=")[1])  # what pressing Start sends
    assert telegram.pending_updates == []  # the webhook took it
    assert "linked" in telegram.sent_to(person.id)[-1].text
    page.get_by_role("link", name="I pressed Start: check again").click()
    expect(page.get_by_text("Telegram is linked")).to_be_visible()

    # The clock moves to a minute after the market's next day opens for orders; the job runs.
    moved = opens_at + timedelta(minutes=1)
    monkeypatch.setattr(alerts, "utcnow", lambda: moved)
    with app.app_context():
        queue_of(app).tasks["tell-ordering-open"].func()  # its context ends: email and Telegram go out
    with app.app_context():
        sent = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == email,
                                                            OutboxEmail.template == "ordering_open")).all()
    [announcement] = [e for e in sent if market_name in e.subject]
    assert announcement.sent_at is not None and f"/markets/{slug}" in announcement.body_text
    in_telegram = [m for m in telegram.sent_to(person.id) if market_name in m.text]
    assert len(in_telegram) == len(sent)  # the same announcements, by both channels
    assert in_telegram[0].reply_markup["inline_keyboard"][0][0]["url"].endswith(f"/markets/{slug}")

    # The unsubscribe link from the email works without a login (a new browser context).
    link = re.search(r"(http://\S+/unsubscribe/\S+)", announcement.body_text).group(1)
    page.context.clear_cookies()
    page.goto(link)
    expect(page.get_by_role("heading", name="Unsubscribe")).to_be_visible()
    audit(page, "unsubscribe")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    audit(page, "unsubscribed")
    with app.app_context():
        chosen = preferences_of(user_id)
    assert chosen[("ordering_open", "email")] is False and chosen[("ordering_open", "telegram")] is True
