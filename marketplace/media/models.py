"""Stored uploads: public images (with thumbnails) and private documents."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.core.extensions import db


class Image(db.Model):
    """A re-encoded image with its thumbnails, stored under a generated key."""

    __tablename__ = "image"
    __table_args__ = (CheckConstraint("width > 0 AND height > 0", name="positive_size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random name on disk; the uploaded file name is never used.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    width: Mapped[int]
    height: Mapped[int]
    #: Alternative text for screen readers.
    alt: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Document(db.Model):
    """A private file (a certificate), served only as a download to allowed users."""

    __tablename__ = "document"
    __table_args__ = (CheckConstraint("size_bytes >= 0", name="size_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    content_type: Mapped[str] = mapped_column(String(60))
    #: The name offered on download (shown only, never used on disk).
    display_name: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int]
    #: SHA-256 (hex) of the bytes that passed the checks and are stored ('' for documents
    #: stored before it was kept).
    sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
