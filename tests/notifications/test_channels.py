"""notify: once per occasion, by the channels a person chose, with a working unsubscribe link."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.core.extensions import db
from marketplace.notifications.channels import (
    Recipient,
    notify,
    preferences_of,
    read_unsubscribe_token,
    set_preference,
    unsubscribe_token,
)
from marketplace.notifications.kinds import EMAIL, ORDER_BY, ORDERING_OPEN, TELEGRAM
from marketplace.notifications.models import Notice, OutboxTelegram, TelegramLink
from marketplace.notifications.telegram_bot import deliver_telegram
from tests.factories import MarketDayFactory, UserFactory


def tell(user, day, kind=ORDERING_OPEN, occasion=None):
    notice = notify(Recipient.of(user), kind, "ordering_open", "Ordering is open", occasion=occasion or f"day-{day.id}",
                    page=("catalog.market", {"slug": day.market.slug}), user=user, market=day.market,
                    market_day=day, producers=3)
    db.session.commit()
    deliver_telegram()  # the worker's part (a test's own app context does not end after each commit)
    return notice


def test_a_person_is_told_once_per_occasion_and_kind(ctx, outbox):
    user, day = UserFactory(), MarketDayFactory()
    assert tell(user, day) is not None
    assert tell(user, day) is None  # a rerun, a second host
    assert tell(user, day, kind=ORDER_BY) is not None  # another kind is another message
    assert len(outbox(user.email)) == 2
    assert db.session.scalar(select(Notice.channels).where(Notice.kind == ORDERING_OPEN)) == "email"


def test_the_unique_constraint_holds_even_when_the_check_is_skipped(ctx):
    """Two transactions that both found no notice: the database lets one of them insert."""
    user = UserFactory()
    db.session.add(Notice(user_id=user.id, kind=ORDERING_OPEN, occasion="day-1", channels=""))
    db.session.commit()
    db.session.add(Notice(user_id=user.id, kind=ORDERING_OPEN, occasion="day-1", channels=""))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_email_is_in_the_persons_language_with_a_link_and_an_unsubscribe(ctx, outbox, client):
    user, day = UserFactory(locale="ru"), MarketDayFactory()
    tell(user, day)
    [email] = outbox(user.email)
    assert email.body_text.startswith("Здравствуйте")
    assert f"http://localhost/markets/{day.market.slug}" in email.body_text
    link = re.search(r"http://localhost(/unsubscribe/\S+)", email.body_text).group(1)
    assert email.list_unsubscribe == "http://localhost" + link
    assert link in email.body_html
    # RFC 8058: the mail client POSTs with no form and no login.
    response = client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert preferences_of(user.id)[(ORDERING_OPEN, EMAIL)] is False
    assert tell(user, MarketDayFactory(market=day.market, date=day.date.replace(year=day.date.year + 1))) is not None
    assert len(outbox(user.email)) == 1  # switched off: told (noted) but not emailed


def test_a_switched_off_kind_sends_nothing_on_that_channel(ctx, outbox):
    user, day = UserFactory(), MarketDayFactory()
    set_preference(user.id, ORDERING_OPEN, EMAIL, False)
    db.session.commit()
    tell(user, day)
    assert outbox(user.email) == []
    assert db.session.scalar(select(Notice.channels)) == ""


def test_telegram_goes_only_to_a_linked_chat_and_only_with_a_bot(ctx, app, outbox, telegram_on):
    user, day = UserFactory(locale="kk"), MarketDayFactory()
    tell(user, day, occasion="a")
    assert db.session.scalars(select(OutboxTelegram)).all() == []  # not linked
    db.session.add(TelegramLink(user_id=user.id, chat_id=5550001))
    db.session.commit()
    tell(user, day, occasion="b")
    [message] = telegram_on.sent_to(5550001)
    assert message.parse_mode == "HTML" and "<b>" in message.text and "/unsubscribe/" in message.text
    assert message.reply_markup["inline_keyboard"][0][0]["url"] == f"http://localhost/markets/{day.market.slug}"
    set_preference(user.id, ORDERING_OPEN, TELEGRAM, False)
    db.session.commit()
    tell(user, day, occasion="c")
    assert len(telegram_on.sent_to(5550001)) == 1
    app.config["TELEGRAM_BOT_TOKEN"] = ""  # no bot: the channel hides itself
    set_preference(user.id, ORDERING_OPEN, TELEGRAM, True)
    db.session.commit()
    tell(user, day, occasion="d")
    assert len(telegram_on.sent_to(5550001)) == 1
    assert len(outbox(user.email)) == 4


@pytest.mark.parametrize("token", [
    "not-a-token",
    # A real token with its payload changed (another user) keeps the old signature: refused.
    "forged",
])
def test_a_forged_or_damaged_unsubscribe_link_changes_nothing(ctx, client, token):
    victim = UserFactory()
    if token == "forged":
        mine = unsubscribe_token(victim.id + 1000, ORDERING_OPEN, EMAIL)
        signature = mine.split(".")[1]
        other = unsubscribe_token(victim.id, ORDER_BY, EMAIL).split(".")[0]
        token = f"{other}.{signature}"
    assert client.get(f"/unsubscribe/{token}").status_code == 404
    assert client.post(f"/unsubscribe/{token}").status_code == 404
    assert preferences_of(victim.id)[(ORDER_BY, EMAIL)] is True


def test_an_unsubscribe_link_shows_a_page_then_unsubscribes_and_can_be_undone(ctx, client):
    user = UserFactory()
    token = unsubscribe_token(user.id, ORDER_BY, TELEGRAM)
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "Reminder to order before the cutoff" in page.text
    assert preferences_of(user.id)[(ORDER_BY, TELEGRAM)] is True  # a GET changes nothing
    assert "You are unsubscribed" in client.post(f"/unsubscribe/{token}", data={"choice": "off"}).text
    assert client.post(f"/unsubscribe/{token}", data={"choice": "off"}).status_code == 200  # replayed: same
    assert preferences_of(user.id)[(ORDER_BY, TELEGRAM)] is False
    assert "subscribed again" in client.post(f"/unsubscribe/{token}", data={"choice": "on"}).text
    assert preferences_of(user.id)[(ORDER_BY, TELEGRAM)] is True


def test_an_unsubscribe_link_of_a_deleted_account_is_a_404(ctx, client):
    user = UserFactory()
    token = unsubscribe_token(user.id, ORDER_BY, EMAIL)
    db.session.delete(user)
    db.session.commit()
    assert client.post(f"/unsubscribe/{token}").status_code == 404


def test_read_unsubscribe_token_refuses_what_it_did_not_sign(app):
    with app.app_context():
        assert read_unsubscribe_token(unsubscribe_token(7, ORDER_BY, EMAIL)).user_id == 7
        assert read_unsubscribe_token(unsubscribe_token(7, "no_such_kind", EMAIL)) is None
        assert read_unsubscribe_token(unsubscribe_token(7, ORDER_BY, "sms")) is None
        assert read_unsubscribe_token("") is None


def test_the_account_page_saves_the_switches(ctx, client, login, telegram_on):
    user = UserFactory()
    login(user.email)
    page = client.get("/account")
    assert 'id="messages"' in page.text and "Link Telegram" in page.text
    assert "A new order for your products" not in page.text  # producers' kinds for producers only
    client.post("/account/messages", data={f"{ORDER_BY}-{EMAIL}": "on", f"{ORDERING_OPEN}-{TELEGRAM}": "on"})
    chosen = preferences_of(user.id)
    assert chosen[(ORDER_BY, EMAIL)] and chosen[(ORDERING_OPEN, TELEGRAM)]
    assert not chosen[(ORDERING_OPEN, EMAIL)] and not chosen[(ORDER_BY, TELEGRAM)]


def test_without_a_bot_the_account_page_shows_no_telegram(ctx, client, login):
    user = UserFactory()
    login(user.email)
    page = client.get("/account")
    assert 'id="messages"' in page.text and "Telegram" not in page.text
    assert client.get("/account/telegram").status_code == 404
    assert client.post("/account/telegram/link").status_code == 404
    assert client.post("/telegram/webhook", json={}).status_code == 404
