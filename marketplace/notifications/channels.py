"""Messages people choose to get, by the channels they choose: email and Telegram.

`notify` is what a feature calls to tell one person about one occasion (an order became
ready, ordering opened for a market day). It writes, in the caller's transaction:
- a `Notice` row, unique per (person, kind, occasion): the second call for the same
  occasion, from a rerun or another host, stores nothing and sends nothing;
- an email (`templates/email/<template>.txt|.html`) if the person wants this kind by email;
- a Telegram message (`templates/telegram/<template>.html`) if they linked Telegram and
  want this kind there.
Both are rendered in the person's language and end with a one-click unsubscribe link for
that kind on that channel (a signed link: no login, see `unsubscribe_token`).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from marketplace.core.db import utcnow
from marketplace.core.errors import NotFound
from marketplace.core.extensions import db
from marketplace.notifications.kinds import (
    CHANNEL_LABELS,
    CHANNELS,
    EMAIL,
    KINDS,
    TELEGRAM,
    is_kind,
    kinds_for,
)
from marketplace.notifications.models import (
    Notice,
    OutboxTelegram,
    Preference,
    TelegramLink,
)
from marketplace.notifications.services import _url_building_context, queue_email


@dataclass(frozen=True)
class Recipient:
    """Who a message is for, as plain values (notifications does not know the User model)."""

    user_id: int
    email: str
    locale: str | None = None
    #: How messages greet the person ("Hello Aigerim,").
    name: str = ""

    @classmethod
    def of(cls, user) -> Recipient:
        return cls(user.id, user.email, user.locale, user.first_name)


# --- Preferences --------------------------------------------------------------------------

def telegram_enabled() -> bool:
    """The Telegram channel exists only with a bot token and the bot's name (else it hides itself)."""
    config = current_app.config
    return bool(config.get("TELEGRAM_BOT_TOKEN") and config.get("TELEGRAM_BOT_USERNAME"))


def channels_available() -> tuple[str, ...]:
    return CHANNELS if telegram_enabled() else (EMAIL,)


def preferences_of(user_id: int) -> dict[tuple[str, str], bool]:
    """(kind, channel) -> on or off, for every kind and channel; every kind is on by default."""
    chosen = {(row.kind, row.channel): row.enabled
              for row in db.session.scalars(select(Preference).where(Preference.user_id == user_id))}
    return {(kind, channel): chosen.get((kind, channel), True) for kind in KINDS for channel in CHANNELS}


def set_preference(user_id: int, kind: str, channel: str, enabled: bool) -> None:
    """Switch one kind on one channel on or off (idempotent)."""
    if not is_kind(kind) or channel not in CHANNELS:
        raise ValueError(f"no such kind or channel: {kind!r}, {channel!r}")
    row = db.session.scalar(select(Preference).where(
        Preference.user_id == user_id, Preference.kind == kind, Preference.channel == channel))
    if row is not None:
        row.enabled = enabled
        db.session.flush()
        return
    try:
        with db.session.begin_nested():
            db.session.add(Preference(user_id=user_id, kind=kind, channel=channel, enabled=enabled))
    except IntegrityError:
        # Another request wrote the row a moment ago (a double click): this choice is the later one.
        row = db.session.scalar(select(Preference).where(
            Preference.user_id == user_id, Preference.kind == kind, Preference.channel == channel))
        if row is None:
            raise NotFound() from None  # no such account (deleted since the link was sent)
        row.enabled = enabled
        db.session.flush()


def save_preferences(user_id: int, roles: set[str], switched_on: set[tuple[str, str]]) -> None:
    """The account page's form: every kind these roles can choose, on each available channel,
    is on when it is in `switched_on` and off otherwise."""
    for kind in kinds_for(roles):
        for channel in channels_available():
            set_preference(user_id, kind.name, channel, (kind.name, channel) in switched_on)


# --- Unsubscribe links -----------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="aimak-unsubscribe")


def unsubscribe_token(user_id: int, kind: str, channel: str) -> str:
    """A signed, login-free token meaning "this person, this kind, this channel"."""
    return _serializer().dumps([user_id, kind, channel])


@dataclass(frozen=True)
class Unsubscribe:
    user_id: int
    kind: str
    channel: str

    @property
    def kind_label(self) -> str:
        return str(KINDS[self.kind].label)


def read_unsubscribe_token(token: str) -> Unsubscribe | None:
    """What a token stands for, or None when it is forged, damaged or names no kind."""
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    if (not isinstance(value, list) or len(value) != 3 or not isinstance(value[0], int)
            or not is_kind(value[1]) or value[2] not in CHANNELS):
        return None
    return Unsubscribe(*value)


# --- Telling one person about one occasion ------------------------------------------------------

def _switch(user_id: int, kind: str, channel: str):
    """The person's switch for this kind on this channel: True, False, or NULL (the default: on)."""
    return (select(Preference.enabled)
            .where(Preference.user_id == user_id, Preference.kind == kind, Preference.channel == channel)
            .scalar_subquery())


def told(kind: str, occasion: str):
    """A select of the user ids already told about this occasion (for a job's NOT IN)."""
    return select(Notice.user_id).where(Notice.kind == kind, Notice.occasion == occasion)


def notify(recipient: Recipient, kind: str, template: str, subject, *, occasion: str,
           page: tuple[str, dict] | None = None, button=None, **context) -> int | None:
    """Tell `recipient` about `occasion` by the channels they chose for `kind`, once.

    `page` is the (endpoint, values) of the page the message is about: a link in the email
    and the button under the Telegram message (labelled `button`). Returns the notice's id, or
    None when this person was told about this occasion already.
    """
    if not is_kind(kind):
        raise ValueError(f"no such kind: {kind!r}")
    occasion = occasion[:80]
    # One round trip for the two switches and the chat (this runs inside checkout's transaction).
    email_on, telegram_on, chat_id = db.session.execute(select(
        _switch(recipient.user_id, kind, EMAIL), _switch(recipient.user_id, kind, TELEGRAM),
        select(TelegramLink.chat_id).where(TelegramLink.user_id == recipient.user_id).scalar_subquery())).one()
    channels = [channel for channel, on in ((EMAIL, email_on), (TELEGRAM, telegram_on))
                if on is not False and channel in channels_available()]
    if chat_id is None and TELEGRAM in channels:
        channels.remove(TELEGRAM)
    # The unique constraint decides who tells first: a second insert for the occasion does nothing.
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    notice_id = db.session.execute(
        insert(Notice).values(user_id=recipient.user_id, kind=kind, occasion=occasion, channels=" ".join(channels),
                              created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "kind", "occasion"]).returning(Notice.id)).scalar()
    if notice_id is None:
        return None
    locale = recipient.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with _url_building_context(), force_locale(locale):
        site_url = current_app.config["SITE_URL"].rstrip("/")
        page_url = site_url + url_for(page[0], **page[1]) if page else site_url + "/"
        if EMAIL in channels:
            queue_email(recipient.email, template, subject, locale=locale, page_url=page_url,
                        unsubscribe_url=site_url + url_for("messages.unsubscribe", token=unsubscribe_token(
                            recipient.user_id, kind, EMAIL)), **context)
        if TELEGRAM in channels:
            unsubscribe_url = site_url + url_for("messages.unsubscribe",
                                                 token=unsubscribe_token(recipient.user_id, kind, TELEGRAM))
            text = render_telegram(template, site_url=site_url, page_url=page_url,
                                   unsubscribe_url=unsubscribe_url, **context)
            queue_telegram(chat_id, template, text, user_id=recipient.user_id,
                           button_text=str(button or _l("Open on Aimak")), button_url=page_url)
    return notice_id


_BLANK_LINES = re.compile(r"\n{3,}")
_TAG = re.compile(r"<[^>]*>")
#: Telegram refuses for good a text longer than this (UTF-16 code units, once its HTML is parsed).
TELEGRAM_TEXT_LIMIT = 4096


def render_telegram(template: str, **context) -> str:
    """`templates/telegram/<template>.html` as Telegram HTML: lines trimmed, at most one blank line
    between paragraphs (Telegram shows newlines as they are; `<br>` is refused), the unsubscribe
    link last, and the whole within Telegram's length."""
    body = _tidy(render_template(f"telegram/{template}.html", **context))
    footer = _tidy(render_template("telegram/_unsubscribe.html", **context)) if context.get("unsubscribe_url") else ""
    body = _fit(body, TELEGRAM_TEXT_LIMIT - (telegram_length(footer) + 2 if footer else 0))
    return body + "\n\n" + footer if footer else body


def _tidy(text: str) -> str:
    text = "\n".join(line.strip() for line in text.strip().splitlines())
    return _BLANK_LINES.sub("\n\n", text)


def telegram_length(text: str) -> int:
    """How long Telegram counts a Telegram HTML text: tags dropped, entities as one character,
    in UTF-16 code units (an emoji counts two)."""
    return len(html.unescape(_TAG.sub("", text)).encode("utf-16-le")) // 2


def _fit(body: str, room: int) -> str:
    """The body cut after its last whole line that fits, then "…": a follower of many producers or a
    long order gets the start of it rather than nothing (Telegram gives such a message up with a
    400). Whole lines only, so no tag is cut open (every template closes its tags on their line)."""
    if telegram_length(body) <= room:
        return body
    kept, used = [], 2  # the closing "\n…"
    for line in body.split("\n"):
        length = telegram_length(line) + 1
        if used + length > room:
            break
        kept.append(line)
        used += length
    return "\n".join(kept).rstrip() + "\n…"


def queue_telegram(chat_id: int, template: str, text: str, *, user_id: int | None = None,
                   button_text: str = "", button_url: str = "") -> OutboxTelegram:
    """Store a Telegram message for delivery after the commit (rendered already)."""
    message = OutboxTelegram(chat_id=chat_id, user_id=user_id, template=template, text=text,
                             button_text=button_text[:64], button_url=button_url[:500])
    db.session.add(message)
    return message


def forget_told(before) -> int:
    """Drop notices older than `before` (their occasions are long past)."""
    return db.session.execute(delete(Notice).where(Notice.created_at < before)).rowcount


# --- The account page's section --------------------------------------------------------------

@dataclass
class SettingRow:
    kind: str
    label: str
    #: channel -> on or off, for the channels offered.
    switched_on: dict[str, bool]


@dataclass
class MessageSettings:
    rows: list[SettingRow]
    channels: tuple[str, ...]
    channel_labels: dict[str, str]
    telegram: bool
    telegram_linked: bool


def settings_of(user) -> MessageSettings:
    """What the account page shows: the kinds this person can choose, by channel (two queries)."""
    chosen = preferences_of(user.id)
    offered = channels_available()
    roles = {getattr(role, "value", role) for role in user.roles}
    rows = [SettingRow(kind.name, str(kind.label), {channel: chosen[(kind.name, channel)] for channel in offered})
            for kind in kinds_for(roles)]
    linked = TELEGRAM in offered and db.session.scalar(
        select(TelegramLink.id).where(TelegramLink.user_id == user.id)) is not None
    return MessageSettings(rows, offered, {channel: str(CHANNEL_LABELS[channel]) for channel in offered},
                           TELEGRAM in offered, linked)
