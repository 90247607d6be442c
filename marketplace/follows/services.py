"""Following and favourites: each call is idempotent (twice is the same as once)."""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.follows.models import FavouriteProduct, Follow
from marketplace.markets.models import Market
from marketplace.producers.models import Producer, Product


def _insert_once(row) -> None:
    """Add the row unless the unique constraint says it is there already (a double tap, a race)."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        pass  # the other request added the same follow: the customer follows it, as asked


def follow(user: User, *, market: Market | None = None, producer: Producer | None = None) -> None:
    """The user follows this market or this producer (exactly one)."""
    if (market is None) == (producer is None):
        raise ValueError("follow one market or one producer")
    column, target = (Follow.market_id, market.id) if market is not None else (Follow.producer_id, producer.id)
    if db.session.scalar(select(Follow.id).where(Follow.user_id == user.id, column == target)) is None:
        _insert_once(Follow(user_id=user.id, market_id=market.id if market else None,
                            producer_id=producer.id if producer else None))


def unfollow(user: User, *, market: Market | None = None, producer: Producer | None = None) -> None:
    """The user no longer follows this market or producer (nothing happens if they did not)."""
    if (market is None) == (producer is None):
        raise ValueError("unfollow one market or one producer")
    column, target = (Follow.market_id, market.id) if market is not None else (Follow.producer_id, producer.id)
    db.session.execute(delete(Follow).where(Follow.user_id == user.id, column == target))


def add_favourite(user: User, product: Product) -> None:
    if db.session.scalar(select(FavouriteProduct.id).where(
            FavouriteProduct.user_id == user.id, FavouriteProduct.product_id == product.id)) is None:
        _insert_once(FavouriteProduct(user_id=user.id, product_id=product.id))


def remove_favourite(user: User, product: Product) -> None:
    db.session.execute(delete(FavouriteProduct).where(FavouriteProduct.user_id == user.id,
                                                      FavouriteProduct.product_id == product.id))
