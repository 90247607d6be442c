"""Sending Telegram messages through the Bot API (python-telegram-bot), and the `Bot` the
commands use: the worker's and the commands' part of the channel, never a web worker's.

Messages are rows of `OutboxTelegram`, written in the transaction of the change they report,
delivered after the commit by the worker (`deliver-telegram`), retried by `send-telegram`
every minute. Sends are paced under Telegram's limits (about 30 a second in all, one a second
per chat); a 429 pauses every waiting message for its `retry_after`; a 403 (blocked, or the
account deleted) unlinks the chat and gives up its messages.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from marketplace.core.db import utcnow
from marketplace.core.events import business_event
from marketplace.core.extensions import db
from marketplace.notifications.channels import telegram_enabled
from marketplace.notifications.models import OutboxTelegram, TelegramLink
from marketplace.notifications.services import (
    MAX_ATTEMPTS,
    claim_due,
    let_go,
    retry_delay,
    sending_deadline,
    still_claimed,
)
from marketplace.notifications.telegram import unlink_chat

log = logging.getLogger(__name__)
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"


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
