"""The email outbox; message preferences, "told once" notices and the Telegram channel."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.core.extensions import db


class OutboxEmail(db.Model):
    """A rendered email, stored in the same transaction as the change it reports."""

    __tablename__ = "outbox_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    template: Mapped[str] = mapped_column(String(80))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    #: "Emailed once" is enforced here: a second message with the same key is not stored.
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: A sender holds the email until then (a lease): no other worker takes it meanwhile, and a
    #: sender that died lets it go when the lease runs out.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: After a failed attempt, not tried again before this (back-off).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Given up (refused for good, or every attempt failed): shown to admins, never retried by itself.
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: The one-click unsubscribe link of a message people chose to get (RFC 8058 headers).
    list_unsubscribe: Mapped[str] = mapped_column(String(500), default="", server_default="")
    #: Worth sending only before then (a reminder for a day's cutoff); later it is marked expired.
    send_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Too late (send_before passed) or withdrawn (the reminder's reason is gone): never sent.
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The "told once" notice it was written for (`channels.withdraw` finds it by that).
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("message_notice.id", ondelete="SET NULL"), index=True)

    @property
    def status(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.failed_at is not None:
            return "failed"
        if self.expired_at is not None:
            return "expired"
        return "retrying" if self.attempts else "queued"


# --- Messages by channel: preferences, "told once", Telegram -----------------------------
#
# Rows point at users by the table name only ("user.id"): notifications sits below accounts
# and imports none of it; a deleted account takes its rows with it (ON DELETE CASCADE).

class Preference(db.Model):
    """A person's choice for one kind of message on one channel; no row means the kind's default."""

    __tablename__ = "message_preference"
    __table_args__ = (UniqueConstraint("user_id", "kind", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Notice(db.Model):
    """One person was told about one occasion (a market day, an order's change) for one kind.

    The unique constraint is the rule "at most one message per market day per kind": whoever
    inserts second (a rerun, a second host) gets an IntegrityError and sends nothing.
    """

    __tablename__ = "message_notice"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "occasion"),
        #: "Who was told about this occasion already?" (the jobs skip them in SQL).
        Index("ix_message_notice_kind_occasion", "kind", "occasion"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    #: What the message is about, e.g. "day-12" or "order-7-ready".
    occasion: Mapped[str] = mapped_column(String(80))
    #: The channels it went out on ("email telegram"), empty when every channel was off.
    channels: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class TelegramLink(db.Model):
    """An account linked to a private chat with the bot (by a one-time deep link; no phone number)."""

    __tablename__ = "telegram_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    #: The private chat's id (the Telegram user's id); one account per chat.
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TelegramLinkToken(db.Model):
    """A one-time token for the deep link t.me/<bot>?start=<token>; only its hash is kept."""

    __tablename__ = "telegram_link_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token: a database read does not give anyone a working link.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Claimed by one conditional UPDATE: a second /start with the same token links nothing.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxTelegram(db.Model):
    """A rendered Telegram message, stored in the same transaction as the change it reports.

    Delivered like the email outbox: claimed with a lease, retried with back-off; a 429 waits
    for Telegram's retry_after, a 403 (the user blocked the bot) unlinks the chat.
    """

    __tablename__ = "outbox_telegram"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    template: Mapped[str] = mapped_column(String(80))
    #: Telegram HTML (parse_mode=HTML): only the tags Telegram knows, newlines as they are.
    text: Mapped[str] = mapped_column(Text)
    button_text: Mapped[str] = mapped_column(String(64), default="")
    button_url: Mapped[str] = mapped_column(String(500), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: Worth sending only before then (a reminder for a day's cutoff); later it is marked expired.
    send_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Too late (send_before passed) or withdrawn (the reminder's reason is gone): never sent.
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The "told once" notice it was written for (`channels.withdraw` finds it by that).
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("message_notice.id", ondelete="SET NULL"), index=True)

    @property
    def status(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.failed_at is not None:
            return "failed"
        if self.expired_at is not None:
            return "expired"
        return "retrying" if self.attempts else "queued"
