"""A customer follows a market or a producer; a customer keeps a product as a favourite."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.core.extensions import db


class Follow(db.Model):
    """A customer follows one market or one producer (exactly one of the two), once."""

    __tablename__ = "follow"
    __table_args__ = (
        CheckConstraint("(market_id IS NULL) <> (producer_id IS NULL)", name="one_target"),
        UniqueConstraint("user_id", "market_id"),
        UniqueConstraint("user_id", "producer_id"),
        #: Who follows this market / producer: the question #24's messages ask.
        Index("ix_follow_market_id", "market_id"),
        Index("ix_follow_producer_id", "producer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    market_id: Mapped[int | None] = mapped_column(ForeignKey("market.id", ondelete="CASCADE"))
    producer_id: Mapped[int | None] = mapped_column(ForeignKey("producer.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User")
    market = relationship("Market")
    producer = relationship("Producer")


class FavouriteProduct(db.Model):
    """A product the customer keeps to find again (the account page lists them)."""

    __tablename__ = "favourite_product"
    __table_args__ = (
        UniqueConstraint("user_id", "product_id"),
        Index("ix_favourite_product_product_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User")
    product = relationship("Product")
