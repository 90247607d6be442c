"""Certifications, reviews and review reports."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, str_enum, utcnow
from marketplace.core.extensions import db


class CertificationScheme(str, enum.Enum):
    ORGANIC_THIRD_PARTY = "organic_third_party"
    ORGANIC_PGS = "organic_pgs"
    ORGANIC_DISTRICT = "organic_district"
    IN_CONVERSION = "in_conversion"
    HALAL = "halal"
    HANDMADE = "handmade"


class CertificationStatus(str, enum.Enum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Certification(db.Model):
    """A certificate a producer uploaded; a badge only once a person verified it."""

    __tablename__ = "certification"
    __table_args__ = (
        CheckConstraint("valid_until >= valid_from", name="valid_range"),
        Index("ix_certification_scheme_status_until", "scheme", "status", "valid_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"), index=True)
    scheme: Mapped[CertificationScheme] = mapped_column(str_enum(CertificationScheme, 30))
    issuer: Mapped[str] = mapped_column(String(160))
    number: Mapped[str] = mapped_column(String(80), default="")
    scope: Mapped[str] = mapped_column(String(255), default="")
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="SET NULL"))
    status: Mapped[CertificationStatus] = mapped_column(
        str_enum(CertificationStatus), default=CertificationStatus.PENDING
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_reason: Mapped[str] = mapped_column(String(255), default="")
    #: SHA-256 of the document the decision was made on (the verifier saw these bytes).
    decided_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    expiry_reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The group whose decision issued this certificate (a PGS certificate renewed by each
    #: approval); None for a certificate a producer uploaded. Its badge shows only while the
    #: producer is an active member of the group and the group stands (groups.queries).
    group_id: Mapped[int | None] = mapped_column(ForeignKey("pgs_group.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    producer = relationship("Producer")
    document = relationship("Document")
    decided_by = relationship("User")
    group = relationship("Group")


class ReviewStatus(str, enum.Enum):
    PUBLISHED = "published"
    HIDDEN = "hidden"


class Review(db.Model):
    """A customer's rating of one producer of one picked-up order."""

    __tablename__ = "review"
    __table_args__ = (
        UniqueConstraint("order_id", "producer_id"),
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),
        Index("ix_review_producer_created", "producer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id"))
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    rating: Mapped[int]
    text: Mapped[str] = mapped_column(Text, default="")
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[ReviewStatus] = mapped_column(str_enum(ReviewStatus), default=ReviewStatus.PUBLISHED)
    hidden_reason: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order = relationship("Order")
    producer = relationship("Producer")
    customer = relationship("User")


class ReviewReport(db.Model):
    __tablename__ = "review_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
