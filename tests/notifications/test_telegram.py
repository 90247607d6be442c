"""The Telegram channel against the loopback Bot API stand-in: linking by a one-time deep link,
unlinking from either side, delivery with retries, Telegram's 429 and 403."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.notifications import telegram, telegram_bot
from marketplace.notifications.channels import Recipient, notify, queue_telegram
from marketplace.notifications.kinds import ORDER_UPDATES
from marketplace.notifications.models import (
    OutboxTelegram,
    TelegramLink,
    TelegramLinkToken,
)
from tests.factories import UserFactory
from tests.standins.fault_proxy import fault_proxy_factory  # noqa: F401 (a fixture)
from tests.standins.telegram_server import TelegramUser

ROOT = Path(__file__).resolve().parents[2]

AIGERIM = TelegramUser(id=5550001, first_name="Айгерим", language_code="kk")
BOLOT = TelegramUser(id=5550002, first_name="Bolot", language_code="ky")


def link(client, login, user, person=AIGERIM, api=None):
    """The whole linking journey: the account page's button, then /start <token> in Telegram."""
    login(user.email)
    assert client.post("/account/telegram/link").status_code == 302
    page = client.get("/account/telegram").text
    token = page.split("?start=")[1].split('"')[0]
    assert len(token) <= 64 and "phone" not in page.lower().split("no phone")[0]
    api.user_says(person, f"/start {token}")
    return token


def poll(app) -> str:
    return app.test_cli_runner().invoke(args=["telegram-poll", "--once"]).output


def test_a_deep_link_links_the_chat_once_and_the_bot_answers_in_the_users_language(ctx, app, client, login,
                                                                                    telegram_on):
    user = UserFactory(locale="ru")
    token = link(client, login, user, api=telegram_on)
    assert "1 update(s) handled" in poll(app)
    assert db.session.scalar(select(TelegramLink.chat_id).where(TelegramLink.user_id == user.id)) == AIGERIM.id
    [answer] = telegram_on.sent_to(AIGERIM.id)
    assert "привязан" in answer.text  # the account's language, not the Telegram app's (kk)
    assert "/account/telegram" in client.get("/account").text or "Telegram is linked" in client.get("/account").text
    assert db.session.scalar(select(TelegramLinkToken.token_hash)) != token  # only a hash is kept
    # The same token again (replayed, or by someone who saw it): nothing is linked.
    telegram_on.user_says(BOLOT, f"/start {token}")
    poll(app)
    assert db.session.scalar(select(TelegramLink.user_id).where(TelegramLink.chat_id == BOLOT.id)) is None
    assert "expired or was used" in telegram_on.sent_to(BOLOT.id)[-1].text or \
        telegram_on.sent_to(BOLOT.id)[-1].text  # answered in Kyrgyz, whatever the words


def test_an_expired_or_unknown_token_links_nothing(ctx, app, telegram_on):
    user = UserFactory()
    token = telegram.new_link_token(user.id, now=utcnow() - timedelta(hours=2))
    db.session.commit()
    assert telegram.link_by_token(token, AIGERIM.id) is None
    assert telegram.link_by_token("x" * 65, AIGERIM.id) is None
    assert telegram.link_by_token("", AIGERIM.id) is None
    assert db.session.scalars(select(TelegramLink)).all() == []


def test_a_new_token_cancels_the_previous_one(ctx, app, telegram_on):
    user = UserFactory()
    first = telegram.new_link_token(user.id)
    second = telegram.new_link_token(user.id)
    db.session.commit()
    assert telegram.link_by_token(first, AIGERIM.id) is None
    assert telegram.link_by_token(second, AIGERIM.id) == user.id


def test_one_chat_per_account_and_one_account_per_chat(ctx, app, telegram_on):
    first, second = UserFactory(), UserFactory()
    telegram.link_by_token(telegram.new_link_token(first.id), AIGERIM.id)
    telegram.link_by_token(telegram.new_link_token(second.id), AIGERIM.id)  # the chat now belongs to `second`
    telegram.link_by_token(telegram.new_link_token(second.id), BOLOT.id)  # and `second` moves to another chat
    db.session.commit()
    assert {(link.user_id, link.chat_id) for link in db.session.scalars(select(TelegramLink))} == {
        (second.id, BOLOT.id)}


def tell(user, occasion="o"):
    notify(Recipient(user.id, user.email, user.locale), ORDER_UPDATES, "order_refunded", "Refunded",
           occasion=occasion, customer=user, order=type("O", (), {"pickup_code": "ABC234", "id": 1})(),
           amount_minor=150000, currency="KZT")
    db.session.commit()
    telegram_bot.deliver_telegram()  # the worker's part (the test's app context stays open)


def linked_user(chat_id=AIGERIM.id, **fields):
    user = UserFactory(**fields)
    db.session.add(TelegramLink(user_id=user.id, chat_id=chat_id))
    db.session.commit()
    return user


def test_a_message_is_sent_as_valid_telegram_html_with_a_button(ctx, telegram_on):
    user = linked_user(locale="ky")
    tell(user)
    [sent] = telegram_on.sent_to(AIGERIM.id)
    assert "ABC234" in sent.text and sent.parse_mode == "HTML"
    assert sent.reply_markup["inline_keyboard"][0][0]["text"]
    assert db.session.scalar(select(OutboxTelegram.sent_at)) is not None


def test_a_429_waits_for_retry_after_and_does_not_count_as_a_failure(ctx, telegram_on):
    user = linked_user()
    telegram_on.rate_limit(sends=1, retry_after=30)
    tell(user, "one")
    tell(user, "two")  # queued during the pause: it waits too, the pause is for the whole bot
    first, second = db.session.scalars(select(OutboxTelegram).order_by(OutboxTelegram.id)).all()
    assert first.sent_at is None and second.sent_at is None
    assert first.attempts == 0 and first.failed_at is None and "429" in first.last_error
    assert first.next_attempt_at >= utcnow() + timedelta(seconds=25)
    assert telegram_bot.paused_until() == first.next_attempt_at
    assert telegram_bot.deliver_telegram() == 0  # still paused
    assert [c.method for c in telegram_on.calls] == ["sendMessage"]  # the one that got the 429
    first.next_attempt_at = utcnow() - timedelta(seconds=1)  # the pause is over
    db.session.commit()
    assert telegram_bot.deliver_telegram() == 2
    assert len(telegram_on.sent_to(AIGERIM.id)) == 2


def test_a_user_who_blocked_the_bot_is_unlinked_and_not_written_to_again(ctx, app, telegram_on):
    user = linked_user()
    telegram_on.user_blocks(AIGERIM)  # the bot has not read the update yet: the send answers 403
    tell(user, "one")
    message = db.session.scalar(select(OutboxTelegram))
    assert message.failed_at is not None and "403" in message.last_error
    assert db.session.scalars(select(TelegramLink)).all() == []
    tell(user, "two")  # no link, no Telegram message
    assert db.session.scalar(select(OutboxTelegram.id).where(OutboxTelegram.id != message.id)) is None


def test_blocking_the_bot_unlinks_through_the_update_too(ctx, app, telegram_on):
    user = linked_user()
    telegram_on.user_blocks(AIGERIM)
    poll(app)
    assert db.session.scalar(select(TelegramLink.id).where(TelegramLink.user_id == user.id)) is None


def test_stop_in_the_chat_unlinks_and_drops_what_was_waiting(ctx, app, telegram_on):
    user = linked_user()
    waiting = queue_telegram(AIGERIM.id, "x", "waiting", user_id=user.id)
    waiting.next_attempt_at = utcnow() + timedelta(hours=1)
    db.session.commit()
    telegram_on.user_says(AIGERIM, "/stop")
    poll(app)
    assert db.session.scalars(select(TelegramLink)).all() == []
    db.session.expire_all()
    assert db.session.get(OutboxTelegram, waiting.id).failed_at is not None
    assert telegram_on.sent_to(AIGERIM.id)[-1].text.startswith("Ажыратылды")  # her Telegram is in Kazakh


def test_unlinking_on_the_site_tells_the_chat(ctx, client, login, telegram_on):
    user = linked_user()
    login(user.email)
    client.post("/account/telegram/unlink")  # a request: its messages go out as it ends
    assert db.session.scalars(select(TelegramLink)).all() == []
    assert "unlinked" in telegram_on.sent_to(AIGERIM.id)[-1].text


def test_a_network_failure_is_retried_with_back_off(ctx, app, telegram_on):
    user = linked_user()
    app.config["TELEGRAM_API_BASE_URL"] = "http://127.0.0.1:9/bot"  # nothing listens there
    try:
        tell(user)
    finally:
        app.config["TELEGRAM_API_BASE_URL"] = telegram_on.base_url
    message = db.session.scalar(select(OutboxTelegram))
    assert message.sent_at is None and message.failed_at is None and message.attempts == 1
    assert message.next_attempt_at > utcnow()
    assert telegram_on.token not in message.last_error


def test_the_webhook_needs_telegrams_secret_header(ctx, app, client, telegram_on):
    app.config["TELEGRAM_WEBHOOK_SECRET"] = "s3cret-of-the-hook"
    try:
        user = UserFactory()
        token = telegram.new_link_token(user.id)
        db.session.commit()
        update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": f"/start {token}",
                                              "chat": {"id": AIGERIM.id, "type": "private"},
                                              "from": {"id": AIGERIM.id, "is_bot": False, "first_name": "A"}}}
        assert client.post("/telegram/webhook", json=update).status_code == 403
        assert client.post("/telegram/webhook", json=update,
                           headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 403
        assert db.session.scalars(select(TelegramLink)).all() == []
        assert client.post("/telegram/webhook", json=update,
                           headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-of-the-hook"}).status_code == 200
        assert db.session.scalar(select(TelegramLink.user_id)) == user.id
        # Garbage from someone who knows the secret still is not a 500.
        for junk in ([], "x", {"message": "x"}, {"my_chat_member": {"chat": []}}):
            assert client.post("/telegram/webhook", json=junk,
                               headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-of-the-hook"}).status_code == 200
    finally:
        app.config["TELEGRAM_WEBHOOK_SECRET"] = ""


def test_the_stand_in_pushes_updates_to_the_webhook_set_by_the_command(ctx, app, telegram_on):
    app.config["TELEGRAM_WEBHOOK_SECRET"] = "hook-secret"
    try:
        result = app.test_cli_runner().invoke(args=["telegram-webhook"])
        assert "Webhook set to http://localhost/telegram/webhook" in result.output
        assert telegram_on.webhook_url == "http://localhost/telegram/webhook"
        assert "--delete" in app.test_cli_runner().invoke(args=["telegram-poll", "--once"]).output
        app.test_cli_runner().invoke(args=["telegram-webhook", "--delete"])
        assert telegram_on.webhook_url == ""
    finally:
        app.config["TELEGRAM_WEBHOOK_SECRET"] = ""


def test_other_messages_get_a_short_help(ctx, app, telegram_on):
    telegram_on.user_says(BOLOT, "саламатсызбы")
    telegram_on.user_says(BOLOT, "/start")
    poll(app)
    assert len(telegram_on.sent_to(BOLOT.id)) == 2
    assert db.session.scalars(select(TelegramLink)).all() == []


def test_a_batch_slower_than_its_lease_is_never_sent_twice(ctx, app, telegram_on):
    """One chat gets a message a second at most: a run with many for one chat (an organizer, a
    producer's busy day) outlasts a short lease, and the next run claims what it has not reached."""
    user = linked_user()
    for n in range(12):
        queue_telegram(AIGERIM.id, "x", f"message {n}", user_id=user.id)
    db.session.commit()
    app.config["OUTBOX_LEASE_SECONDS"] = 6

    def slow_worker():
        with app.app_context():
            telegram_bot.deliver_telegram(limit=100)

    def next_run():
        time.sleep(6.3)  # the first run's lease is over, its batch is not
        with app.app_context():
            telegram_bot.deliver_telegram(limit=100)

    try:
        threads = [threading.Thread(target=slow_worker), threading.Thread(target=next_run)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        while telegram_bot.deliver_telegram(limit=100):
            pass
    finally:
        app.config.pop("OUTBOX_LEASE_SECONDS")
    texts = [sent.text for sent in telegram_on.sent_to(AIGERIM.id)]
    assert sorted(texts) == sorted(f"message {n}" for n in range(12)), texts


@pytest.fixture
def telegram_behind_proxy(app, telegram_on, fault_proxy_factory):  # noqa: F811 (the fixture above)
    """The bot talks to the stand-in through a fault-injecting proxy (5xx, time-outs, lost answers)."""
    proxy = fault_proxy_factory(telegram_on.url)
    app.config.update(TELEGRAM_API_BASE_URL=proxy.url.rstrip("/") + "/bot", TELEGRAM_TIMEOUT_SECONDS=1)
    yield proxy
    app.config.update(TELEGRAM_API_BASE_URL=telegram_on.base_url, TELEGRAM_TIMEOUT_SECONDS=10)


def _due_now():
    db.session.execute(update(OutboxTelegram).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


# Not here: a send whose answer is lost (read time-out, Telegram got it) is sent again — the Bot API
# has no idempotency key, and not sending it again would lose the messages Telegram never got.
@pytest.mark.parametrize("fault", ["502", "500", "drop"])
def test_telegram_failing_is_retried_with_back_off_and_sent_once(ctx, telegram_on, telegram_behind_proxy, fault):
    proxy = telegram_behind_proxy
    path = r"/bot[^/]+/sendMessage"
    {"502": lambda: proxy.fail("POST", path, status=502), "500": lambda: proxy.fail("POST", path, status=500),
     "drop": lambda: proxy.drop("POST", path)}[fault]()
    user = linked_user()
    tell(user)
    message = db.session.scalar(select(OutboxTelegram))
    assert message.sent_at is None and message.failed_at is None and message.attempts == 1, message.last_error
    assert message.next_attempt_at > utcnow() and telegram_on.token not in message.last_error
    assert telegram_on.sent_to(AIGERIM.id) == []
    _due_now()
    assert telegram_bot.deliver_telegram() == 1
    proxy.wait_idle()
    assert len(telegram_on.sent_to(AIGERIM.id)) == 1


WEB_APP_ANSWERS_A_CHAT = """
import sys
from marketplace import create_app
app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": sys.argv[1], "MEDIA_ROOT": sys.argv[2],
                  "TELEGRAM_BOT_TOKEN": "123:web", "TELEGRAM_BOT_USERNAME": "aimak_bot", "TELEGRAM_WEBHOOK_SECRET": "s3",
                  "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"})
update = {"update_id": 1, "message": {"chat": {"id": 4242, "type": "private"}, "text": "hello",
                                      "from": {"language_code": "en"}}}
answer = app.test_client().post("/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3"})
print(answer.status_code, *[name for name in ("telegram", "alembic", "marketplace.demo") if name in sys.modules])
"""


def test_the_web_app_answers_the_webhook_without_the_bot_library_and_leaves_sending_to_the_worker(
        ctx, app, database_url, tmp_path):
    """gunicorn's app (`marketplace:create_app`) does not load python-telegram-bot, Alembic or the demo
    (memory per worker); the bot's answer waits in the outbox for the worker, as every message does."""
    result = subprocess.run([sys.executable, "-c", WEB_APP_ANSWERS_A_CHAT, database_url, str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.split() == ["200"], result.stderr
    waiting = db.session.scalars(select(OutboxTelegram).where(OutboxTelegram.chat_id == 4242)).one()
    assert "To get messages from Aimak here" in waiting.text and waiting.sent_at is None
