"""The email outbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
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

    @property
    def status(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.failed_at is not None:
            return "failed"
        return "retrying" if self.attempts else "queued"
