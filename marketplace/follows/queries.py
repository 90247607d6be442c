"""Who follows what, and what a customer follows (read-only)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.follows.models import FavouriteProduct, Follow
from marketplace.markets.models import Market
from marketplace.producers.models import Producer, Product, ProductPhoto


def followers_of_market(market_id: int) -> list[User]:
    """Active users who follow the market, by id (for messages to followers)."""
    return list(db.session.scalars(
        select(User).join(Follow, Follow.user_id == User.id)
        .where(Follow.market_id == market_id, User.active.is_(True)).order_by(User.id)))


def followers_of_producer(producer_id: int) -> list[User]:
    """Active users who follow the producer, by id."""
    return list(db.session.scalars(
        select(User).join(Follow, Follow.user_id == User.id)
        .where(Follow.producer_id == producer_id, User.active.is_(True)).order_by(User.id)))


def follows_market(user_id: int, market_id: int) -> bool:
    return db.session.scalar(select(Follow.id).where(Follow.user_id == user_id,
                                                     Follow.market_id == market_id)) is not None


def follows_producer(user_id: int, producer_id: int) -> bool:
    return db.session.scalar(select(Follow.id).where(Follow.user_id == user_id,
                                                     Follow.producer_id == producer_id)) is not None


def is_favourite(user_id: int, product_id: int) -> bool:
    return db.session.scalar(select(FavouriteProduct.id).where(
        FavouriteProduct.user_id == user_id, FavouriteProduct.product_id == product_id)) is not None


@dataclass
class Followed:
    """What one customer follows, for their account page."""

    markets: list[Market] = field(default_factory=list)
    producers: list[Producer] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.markets or self.producers or self.products)


def followed_by(user_id: int, limit: int = 50) -> Followed:
    """The markets, producers and favourite products of one customer, newest first (four queries)."""
    markets = db.session.scalars(
        select(Market).join(Follow, Follow.market_id == Market.id).where(Follow.user_id == user_id)
        .options(lazyload(Market.organizers)).order_by(Follow.created_at.desc(), Follow.id.desc()).limit(limit))
    producers = db.session.scalars(
        select(Producer).join(Follow, Follow.producer_id == Producer.id).where(Follow.user_id == user_id)
        .options(joinedload(Producer.photo)).order_by(Follow.created_at.desc(), Follow.id.desc()).limit(limit))
    products = db.session.scalars(
        select(Product).join(FavouriteProduct, FavouriteProduct.product_id == Product.id)
        .where(FavouriteProduct.user_id == user_id)
        .options(joinedload(Product.producer), selectinload(Product.photos).joinedload(ProductPhoto.image))
        .order_by(FavouriteProduct.created_at.desc(), FavouriteProduct.id.desc()).limit(limit))
    return Followed(list(markets), list(producers), list(products.unique()))
