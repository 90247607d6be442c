"""What alerts keeps: producers' news waiting to be told to their followers."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.core.extensions import db


class ProducerNews(db.Model):
    """A producer added products or stock for a market day; their followers hear of it once the
    day's ordering is open and the producer has stopped typing for a few minutes."""

    __tablename__ = "producer_news"
    __table_args__ = (
        UniqueConstraint("producer_id", "market_day_id"),
        Index("ix_producer_news_told_at", "told_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="CASCADE"))
    market_day_id: Mapped[int] = mapped_column(ForeignKey("market_day.id", ondelete="CASCADE"), index=True)
    #: The latest addition: followers are told a while after it (NEWS_SETTLE), not after every cell saved.
    noticed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the followers were told; a later addition for the same day is not told again
    #: (one "new this week" per market day).
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    producer = relationship("Producer")
    market_day = relationship("MarketDay")
