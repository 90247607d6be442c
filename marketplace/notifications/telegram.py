"""The Telegram channel: linking an account to a chat, the bot's updates, and delivery.

**Linking.** The account page makes a one-time token (only its hash is stored) and shows the
deep link `https://t.me/<bot>?start=<token>`. Telegram opens the chat with the bot and sends
`/start <token>`; the bot links that chat to the account and answers. No phone number is
exchanged: the bot learns a chat id, the site learns nothing about the Telegram account.
Unlinking works from either side: the account page, `/stop` in the chat, or blocking the bot
(Telegram tells the bot; a send answered 403 does too).

**Updates.** `handle_update` takes one update as Telegram sends it (a dict). It is fed by the
webhook (`POST /telegram/webhook`, checked by Telegram's secret header; production) or by
`flask telegram-poll` (long polling; one machine, development). Both are the same code.

**Delivery.** Messages are rows of `OutboxTelegram`, written in the transaction of the change
they report, delivered after the commit by the worker (`deliver-telegram`), retried by
`send-telegram` every minute. Sends are paced under Telegram's limits (about 30 a second in
all, one a second per chat); a 429 pauses every waiting message for its `retry_after`; a 403
(blocked, or the account deleted) unlinks the chat and gives up its messages.
"""
from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from marketplace.core.db import utcnow
from marketplace.core.events import business_event, security_event
from marketplace.core.extensions import db
from marketplace.notifications.channels import (
    Recipient,
    queue_telegram,
    telegram_enabled,
)
from marketplace.notifications.models import (
    OutboxTelegram,
    TelegramLink,
    TelegramLinkToken,
)
from marketplace.notifications.services import (
    MAX_ATTEMPTS,
    claim_due,
    let_go,
    queue_email,
    retry_delay,
    sending_deadline,
    still_claimed,
)

log = logging.getLogger(__name__)
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- Linking ---------------------------------------------------------------------------------

def new_link_token(user_id: int, now=None) -> str:
    """A fresh one-time token for the deep link; the user's earlier unused tokens stop working."""
    now = now or utcnow()
    db.session.execute(delete(TelegramLinkToken).where(TelegramLinkToken.user_id == user_id,
                                                       TelegramLinkToken.used_at.is_(None)))
    token = secrets.token_urlsafe(24)  # 32 characters of A-Z a-z 0-9 _ -: what a deep link allows
    minutes = current_app.config.get("TELEGRAM_LINK_MINUTES", 30)
    db.session.add(TelegramLinkToken(user_id=user_id, token_hash=_hash(token), created_at=now,
                                     expires_at=now + timedelta(minutes=minutes)))
    db.session.flush()
    return token


def deep_link(token: str) -> str:
    return f"https://t.me/{current_app.config['TELEGRAM_BOT_USERNAME']}?start={token}"


def chat_of(user_id: int) -> int | None:
    return db.session.scalar(select(TelegramLink.chat_id).where(TelegramLink.user_id == user_id))


def link_by_token(token: str, chat_id: int, now=None) -> int | None:
    """Link the chat to the account whose unused, unexpired token this is; the user's id, or None.

    The token is claimed by one conditional UPDATE, so it links once however often it is sent.
    One chat per account and one account per chat: an earlier link of either is replaced.
    """
    now = now or utcnow()
    if not token or len(token) > 64:
        return None
    user_id = db.session.execute(
        update(TelegramLinkToken)
        .where(TelegramLinkToken.token_hash == _hash(token), TelegramLinkToken.used_at.is_(None),
               TelegramLinkToken.expires_at > now)
        .values(used_at=now).returning(TelegramLinkToken.user_id)).scalar()
    if user_id is None:
        return None
    db.session.execute(delete(TelegramLink).where(or_(TelegramLink.chat_id == chat_id,
                                                      TelegramLink.user_id == user_id)))
    try:
        with db.session.begin_nested():
            db.session.add(TelegramLink(user_id=user_id, chat_id=chat_id, linked_at=now))
    except IntegrityError:
        return None  # the same chat linked by another token at the same instant: that one wins
    security_event("telegram_linked", outcome="linked", user_id=user_id)
    return user_id


def _linked_by(token: str, chat_id: int) -> int | None:
    """The account this very chat linked with this token already (Telegram sent /start twice)."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        select(TelegramLink.user_id).join(TelegramLinkToken, TelegramLinkToken.user_id == TelegramLink.user_id)
        .where(TelegramLinkToken.token_hash == _hash(token), TelegramLinkToken.used_at.is_not(None),
               TelegramLink.chat_id == chat_id))


def unlink_user(user_id: int) -> int | None:
    """The account page's "unlink": the chat it was linked to, or None."""
    chat_id = db.session.execute(delete(TelegramLink).where(TelegramLink.user_id == user_id)
                                 .returning(TelegramLink.chat_id)).scalar()
    if chat_id is not None:
        _drop_waiting(chat_id, "unlinked")
        business_event("telegram_unlinked", user_id=user_id, by="site")
    return chat_id


def unlink_chat(chat_id: int, why: str) -> int | None:
    """The chat's side: /stop, blocking the bot, or a 403. The user's id, or None."""
    user_id = db.session.execute(delete(TelegramLink).where(TelegramLink.chat_id == chat_id)
                                 .returning(TelegramLink.user_id)).scalar()
    _drop_waiting(chat_id, why)
    if user_id is not None:
        business_event("telegram_unlinked", user_id=user_id, by=why)
    return user_id


def _drop_waiting(chat_id: int, why: str) -> None:
    """Messages still waiting for an unlinked chat are given up: they were for the account."""
    db.session.execute(update(OutboxTelegram)
                       .where(OutboxTelegram.chat_id == chat_id, OutboxTelegram.user_id.is_not(None),
                              OutboxTelegram.sent_at.is_(None), OutboxTelegram.failed_at.is_(None))
                       .values(failed_at=utcnow(), last_error=why[:500], claimed_until=None))


# --- The bot's updates ----------------------------------------------------------------------

#: The bot answers one chat at most this often a minute: someone who floods it with messages
#: or made-up tokens does not make it flood Telegram (and earn the whole bot a 429).
REPLIES_PER_MINUTE = 5


def _reply(chat_id: int, text: str, user_id: int | None = None) -> None:
    recent = db.session.scalar(select(func.count()).select_from(OutboxTelegram).where(
        OutboxTelegram.chat_id == chat_id, OutboxTelegram.template == "bot_reply",
        OutboxTelegram.created_at > utcnow() - timedelta(minutes=1)))
    if recent >= REPLIES_PER_MINUTE:
        return
    queue_telegram(chat_id, "bot_reply", text, user_id=user_id)


#: app.extensions key: `recipient_of(user_id)`, an account as a `Recipient` (email, language), given
#: by a feature that knows accounts (this layer does not). Without it the bot answers in the
#: Telegram app's language and the owner is not emailed when a chat is linked.
ACCOUNT_OF = "aimak.telegram_account_of"


def set_account_lookup(app, recipient_of) -> None:
    app.extensions[ACCOUNT_OF] = recipient_of


def _account(user_id: int | None) -> Recipient | None:
    lookup = current_app.extensions.get(ACCOUNT_OF)
    return lookup(user_id) if user_id is not None and lookup is not None else None


def _language(user_id: int | None, telegram_language: str | None) -> str:
    languages = current_app.config["LANGUAGES"]
    account = _account(user_id)
    if account is not None and account.locale in languages:
        return account.locale
    code = (telegram_language or "").split("-")[0].lower()
    return code if code in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def _tell_owner_of_link(user_id: int) -> None:
    """A linked chat receives the account's order updates (pickup codes too): its owner is emailed,
    so a link made with a token someone else got hold of does not go unnoticed."""
    account = _account(user_id)
    if account is not None:
        queue_email(account.email, "telegram_linked", _l("Telegram was linked to your Aimak account"),
                    locale=account.locale, recipient=account)


def say_unlinked_from_site(chat_id: int, locale: str | None) -> None:
    """Tell the chat it was unlinked on the site (it no longer belongs to an account)."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        _reply(chat_id, _("Your Aimak account was unlinked from this chat on the site. You can link it "
                          "again from your account page."))


def handle_update(update: dict) -> str:
    """Act on one update from Telegram; returns what was done (for logs and tests). The caller commits."""
    if not isinstance(update, dict):
        return "ignored"
    member = update.get("my_chat_member")
    if isinstance(member, dict):
        chat = member.get("chat") or {}
        status = (member.get("new_chat_member") or {}).get("status")
        if chat.get("type") == "private" and status in ("kicked", "left") and isinstance(chat.get("id"), int):
            unlink_chat(chat["id"], "blocked")
            return "unlinked"
        return "ignored"
    message = update.get("message")
    if not isinstance(message, dict):
        return "ignored"
    chat = message.get("chat") or {}
    text = message.get("text")
    if chat.get("type") != "private" or not isinstance(chat.get("id"), int) or not isinstance(text, str):
        return "ignored"  # groups and channels the bot was added to, photos, stickers
    chat_id = chat["id"]
    telegram_language = (message.get("from") or {}).get("language_code")
    command, _space, argument = text.strip().partition(" ")
    command = command.split("@")[0].lower()
    if command == "/start" and argument.strip():
        user_id = link_by_token(argument.strip(), chat_id)
        again = user_id is None and _linked_by(argument.strip(), chat_id)
        with force_locale(_language(user_id or again, telegram_language)):
            if user_id is None and not again:
                security_event("telegram_link_refused", outcome="refused", reason="token unknown, used or expired")
                _reply(chat_id, _("This link has expired or was used already. Open your account page on "
                                  "Aimak and press “Link Telegram” again."))
                return "refused"
            _reply(chat_id, _("Done: your Aimak account is linked. Messages you chose to get by Telegram "
                              "will come here. Send /stop to unlink."), user_id or again)
        if user_id is not None:
            _tell_owner_of_link(user_id)
        return "linked"
    linked_user = db.session.scalar(select(TelegramLink.user_id).where(TelegramLink.chat_id == chat_id))
    with force_locale(_language(linked_user, telegram_language)):
        if command == "/stop":
            if unlink_chat(chat_id, "stop") is None:
                _reply(chat_id, _("This chat is not linked to an Aimak account."))
                return "ignored"
            _reply(chat_id, _("Unlinked: Aimak will not write here any more. You can link again from "
                              "your account page."))
            return "unlinked"
        if linked_user is not None:
            _reply(chat_id, _("This chat is linked to your Aimak account. Choose what comes here on your "
                              "account page; send /stop to unlink."), linked_user)
        else:
            _reply(chat_id, _("Hello! To get messages from Aimak here, open your account page on Aimak and "
                              "press “Link Telegram”."))
        return "answered"


def bot_for(config, *, read_timeout: float | None = None) -> Bot:
    """python-telegram-bot's Bot on TELEGRAM_API_BASE_URL (the loopback stand-in in tests)."""
    timeout = config.get("TELEGRAM_TIMEOUT_SECONDS", 10)
    return Bot(config["TELEGRAM_BOT_TOKEN"], base_url=config.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL,
               request=HTTPXRequest(connection_pool_size=4, connect_timeout=timeout,
                                    read_timeout=read_timeout or timeout, write_timeout=timeout),
               get_updates_request=HTTPXRequest(connection_pool_size=1, connect_timeout=timeout,
                                                read_timeout=(read_timeout or timeout) + 40, write_timeout=timeout))


# --- Delivery -------------------------------------------------------------------------------

@dataclass
class _Outcome:
    sent: bool = False
    #: Seconds Telegram asked us to wait (429): nothing more is sent in this run.
    retry_after: float | None = None
    #: Refused for good (400) or the chat is gone (403).
    permanent: bool = False
    blocked: bool = False
    error: str = ""


def deliver_telegram(ids: list[int] | None = None, limit: int = 100) -> int:
    """Send due Telegram messages (these ids, or the oldest due); returns how many were sent."""
    if (ids is not None and not ids) or not telegram_enabled() or paused_until() is not None:
        return 0
    stop_at = sending_deadline()
    claimed = claim_due(OutboxTelegram, ids, limit)
    if not claimed:
        return 0
    return run_async(_deliver(claimed, current_app.config, stop_at))


def run_async(coroutine):
    """Run python-telegram-bot's coroutine to its end from plain code. Where this thread already
    runs an event loop (an async caller, a test driving a browser), in a thread of its own that
    carries this one's context: the same app context, so the same database session."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()


async def _deliver(claimed: list[OutboxTelegram], config, stop_at: float) -> int:
    bot = bot_for(config)
    spacing = 1.0 / max(int(config.get("TELEGRAM_SENDS_PER_SECOND", 25)), 1)
    last_to_chat: dict[int, float] = {}
    sent = 0
    try:
        for position, message in enumerate(claimed):
            if time.monotonic() > stop_at:
                # The rest of the batch would be sent after its lease ran out, when the next run
                # may have claimed it too (one chat's pacing, slow answers): it goes back instead.
                let_go(OutboxTelegram, [later.id for later in claimed[position:]])
                break
            if not still_claimed(OutboxTelegram, message):
                continue  # the lease ran out on a slow run and another worker took it
            if message.user_id is not None and db.session.scalar(select(TelegramLink.id).where(
                    TelegramLink.user_id == message.user_id, TelegramLink.chat_id == message.chat_id)) is None:
                _finish(message, _Outcome(permanent=True, error="unlinked"))
                continue
            # Telegram allows about one message a second to one chat (short bursts pass).
            wait = last_to_chat.get(message.chat_id, 0) + 1.0 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            outcome = await _send(bot, message, config["TELEGRAM_BOT_TOKEN"])
            last_to_chat[message.chat_id] = time.monotonic()
            _finish(message, outcome)
            if outcome.retry_after is not None:
                _pause_everything(outcome.retry_after, [later.id for later in claimed[position + 1:]])
                break
            sent += outcome.sent
            await asyncio.sleep(spacing)
    finally:
        await bot.request.shutdown()
    return sent


async def _send(bot: Bot, message: OutboxTelegram, token: str) -> _Outcome:
    markup = None
    if message.button_url:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(message.button_text or "Aimak", url=message.button_url)]])
    try:
        await bot.send_message(message.chat_id, message.text, parse_mode="HTML", reply_markup=markup,
                               link_preview_options=LinkPreviewOptions(is_disabled=True))
    except RetryAfter as exc:
        # The private value is a timedelta whatever PTB_TIMEDELTA says (the public one warns).
        after = exc._retry_after.total_seconds()
        return _Outcome(retry_after=max(after, 1.0), error=f"429: retry after {after:g} s")
    except Forbidden as exc:
        return _Outcome(permanent=True, blocked=True, error=_clean(f"403: {exc.message}", token))
    except BadRequest as exc:
        # "chat not found" means the chat is gone as surely as a block does.
        gone = "chat not found" in exc.message.lower()
        return _Outcome(permanent=True, blocked=gone, error=_clean(f"400: {exc.message}", token))
    except TelegramError as exc:  # network, time-out, Telegram's 5xx, a wrong token: try again later
        return _Outcome(error=_clean(f"{type(exc).__name__}: {exc.message}", token))
    return _Outcome(sent=True)


def _clean(error: str, token: str) -> str:
    """No log line or stored error carries the bot's token (an error may quote the URL)."""
    return error.replace(token, "<token>")[:500]


def _finish(message: OutboxTelegram, outcome: _Outcome) -> None:
    now = utcnow()
    values: dict = {"claimed_until": None}
    if outcome.sent:
        values.update(sent_at=now, last_error="")
    elif outcome.retry_after is not None:
        # Not the message's fault: the attempt does not count towards giving up.
        values.update(last_error=outcome.error, attempts=OutboxTelegram.attempts - 1,
                      next_attempt_at=now + timedelta(seconds=outcome.retry_after))
    elif outcome.permanent or message.attempts >= MAX_ATTEMPTS:
        values.update(last_error=outcome.error, failed_at=now)
    else:
        values.update(last_error=outcome.error, next_attempt_at=now + retry_delay(message.attempts))
    db.session.execute(update(OutboxTelegram).where(OutboxTelegram.id == message.id).values(**values))
    if outcome.blocked:
        unlink_chat(message.chat_id, "blocked")
    db.session.commit()
    if outcome.sent:
        business_event("telegram_sent", message_id=message.id, template=message.template, attempts=message.attempts)
    else:
        business_event("telegram_failed" if "failed_at" in values else "telegram_retry", message_id=message.id,
                       template=message.template, attempts=message.attempts, error=outcome.error[:200])


def paused_until():
    """The end of Telegram's latest 429 pause if it is not over (messages queued meanwhile wait too)."""
    now = utcnow()
    until = db.session.scalar(select(func.max(OutboxTelegram.next_attempt_at)).where(
        OutboxTelegram.sent_at.is_(None), OutboxTelegram.failed_at.is_(None),
        OutboxTelegram.last_error.like("429%"), OutboxTelegram.next_attempt_at > now))
    return until


def _pause_everything(seconds: float, unsent: list[int]) -> None:
    """A 429 is about the bot, not one chat: every waiting message waits `seconds`, and the ones
    this run claimed but did not try are let go without counting an attempt."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    if unsent:
        db.session.execute(update(OutboxTelegram).where(OutboxTelegram.id.in_(unsent))
                           .values(claimed_until=None, attempts=OutboxTelegram.attempts - 1))
    db.session.execute(update(OutboxTelegram)
                       .where(OutboxTelegram.sent_at.is_(None), OutboxTelegram.failed_at.is_(None),
                              or_(OutboxTelegram.claimed_until.is_(None), OutboxTelegram.claimed_until < now),
                              or_(OutboxTelegram.next_attempt_at.is_(None), OutboxTelegram.next_attempt_at < until))
                       .values(next_attempt_at=until))
    db.session.commit()
    log.warning("Telegram asked to wait %s s (429); %s message(s) of this run left for later", seconds, len(unsent))
