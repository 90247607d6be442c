"""The Telegram stand-in speaks the Bot API well enough for python-telegram-bot's real
Bot and Application: sending, reading updates (polled or pushed to a webhook), the
errors Telegram answers with, and HTML that Telegram would refuse."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time

import pytest
import requests
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from marketplace.notifications.telegram_bot import run_async  # a browser test may leave a loop running here
from tests.standins.telegram_server import TelegramBotAPI, TelegramUser, telegram_api  # noqa: F401 (fixture)

AIGERIM = TelegramUser(id=5550001, first_name="Айгерим", username="aigerim_farm", language_code="kk")
BOLOT = TelegramUser(id=5550002, first_name="Bolot", language_code="ky")


def run(coroutine_function, api: TelegramBotAPI):
    """Run `coroutine_function(bot)` with python-telegram-bot's Bot pointed at the stand-in."""

    async def main():
        async with Bot(api.token, base_url=api.base_url) as bot:
            return await coroutine_function(bot)

    return run_async(main())


def test_a_real_bot_sends_a_message_and_reads_a_deep_link_start(telegram_api):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Открыть заказ", url="https://aimak.example/orders/7"),
                                      InlineKeyboardButton("Готово", callback_data="done:7")]])

    async def scenario(bot: Bot):
        me = await bot.get_me()
        sent = await bot.send_message(AIGERIM.id, "🍯 Заказ <b>№7</b> готов &amp; ждёт", parse_mode="HTML",
                                      reply_markup=keyboard)
        telegram_api.user_says(AIGERIM, "/start link-4f9c2a")
        updates = await bot.get_updates(timeout=0)
        after = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        return me, sent, updates, after

    me, sent, updates, after = run(scenario, telegram_api)
    assert me.username == telegram_api.bot_username and me.is_bot
    # What the bot got back is Telegram's Message: markup parsed into entities (UTF-16 offsets).
    assert sent.chat.id == AIGERIM.id and sent.text == "🍯 Заказ №7 готов & ждёт"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 9, 2)]
    assert sent.reply_markup == keyboard
    [recorded] = telegram_api.sent_to(AIGERIM.id)
    assert recorded.text == "🍯 Заказ <b>№7</b> готов &amp; ждёт" and recorded.parse_mode == "HTML"
    assert recorded.reply_markup["inline_keyboard"][0][1] == {"text": "Готово", "callback_data": "done:7"}
    [update] = updates
    assert update.message.text == "/start link-4f9c2a" and update.message.chat.id == AIGERIM.id
    assert update.message.from_user.language_code == "kk"
    assert update.message.parse_entities(["bot_command"]).popitem()[1] == "/start"
    assert after == () and telegram_api.pending_updates == []  # the offset confirmed it


def test_an_application_answers_start_with_its_payload(telegram_api):
    """The shape of the account-linking bot: python-telegram-bot's Application, long polling."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"Linked with {context.args[0]}")

    async def main():
        application = Application.builder().token(telegram_api.token).base_url(telegram_api.base_url).build()
        application.add_handler(CommandHandler("start", start))
        async with application:
            await application.start()
            await application.updater.start_polling(poll_interval=0, timeout=dt.timedelta(seconds=2))
            await asyncio.to_thread(telegram_api.user_says, BOLOT, "/start link-77")
            for _ in range(100):
                if telegram_api.sent:
                    break
                await asyncio.sleep(0.05)
            await application.updater.stop()
            await application.stop()

    run_async(main())
    [reply] = telegram_api.sent
    assert (reply.chat_id, reply.text) == (BOLOT.id, "Linked with link-77")
    methods = [call.method for call in telegram_api.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"] and "getUpdates" in methods


def test_a_long_poll_returns_as_soon_as_a_user_writes(telegram_api):
    timer = threading.Timer(0.3, telegram_api.user_says, args=(AIGERIM, "салем"))
    timer.start()
    started = time.monotonic()
    updates = run(lambda bot: bot.get_updates(timeout=10), telegram_api)
    assert [u.message.text for u in updates] == ["салем"]
    assert 0.25 < time.monotonic() - started < 5


def test_rate_limit_answers_429_with_retry_after_for_the_next_sends(telegram_api):
    telegram_api.rate_limit(sends=2, retry_after=3)

    async def scenario(bot: Bot):
        refusals = []
        for _ in range(2):
            with pytest.raises(RetryAfter) as refused:
                await bot.send_message(AIGERIM.id, "Ordering is open")
            refusals.append(refused.value)
        await bot.send_message(AIGERIM.id, "Ordering is open")
        return refusals

    refusals = run(scenario, telegram_api)
    assert all("Retry in 3 seconds" in str(refusal) for refusal in refusals)  # parsed from retry_after
    assert [call.status for call in telegram_api.calls if call.method == "sendMessage"] == [429, 429, 200]
    assert len(telegram_api.sent) == 1  # refused sends are not recorded as sent


def test_a_user_who_blocked_the_bot_is_forbidden_and_the_bot_is_told(telegram_api):
    telegram_api.user_blocks(AIGERIM)

    async def scenario(bot: Bot):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(AIGERIM.id, "Your order is ready")
        await bot.send_message(BOLOT.id, "Your order is ready")  # others are unaffected
        updates = await bot.get_updates(timeout=0)
        telegram_api.user_unblocks(AIGERIM)
        await bot.send_message(AIGERIM.id, "Welcome back")
        return updates

    [update] = run(scenario, telegram_api)
    assert update.my_chat_member.chat.id == AIGERIM.id
    assert update.my_chat_member.new_chat_member.status == "kicked"
    assert [message.text for message in telegram_api.sent_to(AIGERIM.id)] == ["Welcome back"]


@pytest.mark.parametrize(("text", "refusal"), [
    ("Line one<br>line two", 'Unsupported start tag "br"'),
    ("Мёд <липовый>", 'Unexpected "<"'),
    ("Price < 100", 'Unexpected "<"'),
    ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b><i>crossed</b></i>", "Unmatched end tag"),
    ("<span>plain span</span>", 'Tag "span" must have class "tg-spoiler"'),
])
def test_html_that_telegram_refuses_is_refused(telegram_api, text, refusal):
    async def scenario(bot: Bot):
        with pytest.raises(BadRequest) as refused:
            await bot.send_message(AIGERIM.id, text, parse_mode="HTML")
        return refused.value

    # python-telegram-bot drops Telegram's "Bad Request: " and capitalises what follows.
    error = str(run(scenario, telegram_api)).lower()
    assert "can't parse entities" in error and refusal.lower() in error
    assert telegram_api.sent == []


def test_html_entities_come_back_as_telegram_parses_them(telegram_api):
    text = ('<a href="https://aimak.example/m/1">Рынок</a> <i>и</i> <tg-spoiler>код</tg-spoiler> '
            '<pre><code class="language-text">A1</code></pre> &lt;3 &#1178;')
    sent = run(lambda bot: bot.send_message(AIGERIM.id, text, parse_mode="HTML"), telegram_api)
    assert sent.text == "Рынок и код A1 <3 Қ"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("text_link", 0, 5), ("italic", 6, 1), ("spoiler", 8, 3), ("pre", 12, 2)]
    assert sent.entities[0].url == "https://aimak.example/m/1" and sent.entities[3].language == "text"


@pytest.mark.parametrize(("kwargs", "refusal"), [
    ({"text": ""}, "message text is empty"),
    ({"text": "x" * 4097}, "message is too long"),
    ({"text": "ok", "reply_markup": InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="x" * 65)]])},
     "BUTTON_DATA_INVALID"),
])
def test_messages_telegram_refuses_are_refused(telegram_api, kwargs, refusal):
    async def scenario(bot: Bot):
        with pytest.raises(BadRequest, match=f"(?i){refusal}"):
            await bot.send_message(AIGERIM.id, **kwargs)

    run(scenario, telegram_api)


def test_a_button_press_reaches_the_bot_and_is_answered_once(telegram_api):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Отписаться", callback_data="unfollow:market:3")]])

    async def scenario(bot: Bot):
        sent = await bot.send_message(BOLOT.id, "Ordering for Saturday is open", reply_markup=keyboard)
        telegram_api.user_presses(BOLOT, "unfollow:market:3")
        [update] = await bot.get_updates(timeout=0)
        query = update.callback_query
        await bot.answer_callback_query(query.id, text="Done")
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(query.id, text="Done again")
        edited = await bot.edit_message_text("Unfollowed", chat_id=BOLOT.id, message_id=sent.message_id)
        return sent, query, edited

    sent, query, edited = run(scenario, telegram_api)
    assert query.data == "unfollow:market:3" and query.from_user.id == BOLOT.id
    assert query.message.message_id == sent.message_id
    assert telegram_api.answered_callback_queries == [{"callback_query_id": query.id, "text": "Done"}]
    assert edited.text == "Unfollowed" and edited.edit_date is not None
    assert [m.method for m in telegram_api.sent_to(BOLOT.id)] == ["sendMessage", "editMessageText"]


class _WebhookReceiver:
    """A stand-in for our app's webhook endpoint: keeps what Telegram posted, answers `status`."""

    def __init__(self):
        self.received: list[tuple[dict, str | None]] = []
        self.status = 200
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.socket.getsockname()[1]}/telegram/webhook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        self.received.append((request.get_json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return Response("", status=self.status)(environ, start_response)


@pytest.fixture
def webhook_receiver():
    receiver = _WebhookReceiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_with_a_webhook_updates_are_pushed_with_the_secret(telegram_api, webhook_receiver):
    async def set_up(bot: Bot):
        await bot.set_webhook(webhook_receiver.url, secret_token="s3cr3t-aimak")
        return await bot.get_webhook_info()

    info = run(set_up, telegram_api)
    assert info.url == webhook_receiver.url and info.pending_update_count == 0
    update = telegram_api.user_says(AIGERIM, "/start link-1")
    assert webhook_receiver.received == [(update, "s3cr3t-aimak")]

    webhook_receiver.status = 500  # our endpoint fails: Telegram keeps the update
    telegram_api.user_says(AIGERIM, "/stop")
    info = run(lambda bot: bot.get_webhook_info(), telegram_api)
    assert info.pending_update_count == 1 and "500" in info.last_error_message
    webhook_receiver.status = 200
    assert telegram_api.deliver_pending() == 1
    assert [u["message"]["text"] for u, _ in webhook_receiver.received] == ["/start link-1", "/stop", "/stop"]
    assert telegram_api.pending_updates == []

    async def poll_then_delete(bot: Bot):
        with pytest.raises(Conflict):
            await bot.get_updates(timeout=0)
        await bot.delete_webhook()
        return await bot.get_updates(timeout=0)

    assert run(poll_then_delete, telegram_api) == ()


def test_raw_http_clients_json_and_query_parameters_work_too(telegram_api):
    base = f"{telegram_api.base_url}{telegram_api.token}"
    response = requests.post(f"{base}/sendMessage", json={"chat_id": AIGERIM.id, "text": "JSON body",
                                                          "reply_markup": {"inline_keyboard": []}}, timeout=5)
    assert response.json()["ok"] is True and response.json()["result"]["chat"]["id"] == AIGERIM.id
    assert requests.get(f"{base}/SENDMESSAGE", params={"chat_id": AIGERIM.id, "text": "query"},
                        timeout=5).json()["ok"]  # method names are case-insensitive
    missing = requests.post(f"{base}/sendSticker", data={"chat_id": 1}, timeout=5)
    assert missing.status_code == 404 and missing.json() == {"ok": False, "error_code": 404,
                                                             "description": "Not Found"}
    assert [m.text for m in telegram_api.sent] == ["JSON body", "query"]
    assert json.loads(response.content)["result"]["text"] == "JSON body"


def test_a_wrong_token_is_unauthorized(telegram_api):
    async def scenario():
        async with Bot("999:wrong", base_url=telegram_api.base_url) as bot:
            await bot.get_me()

    with pytest.raises(InvalidToken):
        run_async(scenario())
