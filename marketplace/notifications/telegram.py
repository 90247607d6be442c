"""The Telegram channel: linking an account to a chat, and the bot's updates.

**Linking.** The account page makes a one-time token (only its hash is stored) and shows the
deep link `https://t.me/<bot>?start=<token>`. Telegram opens the chat with the bot and sends
`/start <token>`; the bot links that chat to the account and answers. No phone number is
exchanged: the bot learns a chat id, the site learns nothing about the Telegram account.
Unlinking works from either side: the account page, `/stop` in the chat, or blocking the bot
(Telegram tells the bot; a send answered 403 does too).

**Updates.** `handle_update` takes one update as Telegram sends it (a dict). It is fed by the
webhook (`POST /telegram/webhook`, checked by Telegram's secret header; production) or by
`flask telegram-poll` (long polling; one machine, development). Both are the same code.

**Answers and delivery.** The bot's answers are rows of `OutboxTelegram` like every message,
sent by the worker: nothing here calls Telegram, so a web worker does not load
python-telegram-bot. The sending is `telegram_bot.py`, given to the app the worker and the
commands run on (`marketplace.cli`) by `set_delivery`.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from marketplace.core.db import utcnow
from marketplace.core.events import business_event, security_event
from marketplace.core.extensions import db
from marketplace.notifications.channels import Recipient, queue_telegram
from marketplace.notifications.models import (
    OutboxTelegram,
    TelegramLink,
    TelegramLinkToken,
)
from marketplace.notifications.services import queue_email

log = logging.getLogger(__name__)


#: app.extensions key: `deliver(ids, limit)`, sending due messages through the Bot API
#: (`telegram_bot.deliver_telegram`), given by the app the worker runs. The web's app has none:
#: its queued tasks run in the worker.
DELIVERY = "aimak.telegram_delivery"


def set_delivery(app, deliver) -> None:
    app.extensions[DELIVERY] = deliver


def deliver_due(ids: list[int] | None = None, limit: int = 100) -> int:
    """Send due messages (these ids, or the oldest due) where the app can send; how many were sent."""
    deliver = current_app.extensions.get(DELIVERY)
    return deliver(ids, limit) if deliver is not None else 0


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
