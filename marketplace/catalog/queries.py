"""Read-only queries for the customer side."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.markets.models import Market, MarketDay, MarketDayStatus
from marketplace.producers.models import Category, Producer


def upcoming_market_days(limit: int = 6) -> list[MarketDay]:
    """The next scheduled market days of active markets, soonest first."""
    query = (
        select(MarketDay)
        .join(MarketDay.market)
        .where(Market.active.is_(True), MarketDay.status == MarketDayStatus.SCHEDULED,
               MarketDay.closes_at > utcnow())
        .options(joinedload(MarketDay.market))
        .order_by(MarketDay.opens_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def active_markets() -> list[Market]:
    return list(db.session.scalars(select(Market).where(Market.active.is_(True)).order_by(Market.name)))


def top_categories() -> list[Category]:
    return list(db.session.scalars(
        select(Category).where(Category.parent_id.is_(None)).order_by(Category.position, Category.name)))


def featured_producers(limit: int = 6) -> list[Producer]:
    return list(db.session.scalars(
        select(Producer).options(joinedload(Producer.photo))
        .order_by(Producer.trust_score.desc(), Producer.id).limit(limit)))


def product_page(text: str, page: int, per_page: int):
    """Active products matching the words (all of them), newest first."""
    from marketplace.producers.models import Product, ProductPhoto
    from marketplace.search import like_pattern, normalize_text

    query = (select(Product).where(Product.active.is_(True))
             .options(joinedload(Product.producer), joinedload(Product.category),
                      selectinload(Product.photos).joinedload(ProductPhoto.image))
             .order_by(Product.created_at.desc(), Product.id.desc()))
    for word in normalize_text(text).split()[:8]:
        query = query.where(Product.search_text.like(like_pattern(word), escape="\\"))
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
