"""Follow and favourite tapped twice at once (real threads; on PostgreSQL they truly overlap):
the unique constraints decide, the customer follows once, nobody gets an error."""
from __future__ import annotations

from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.follows import services
from marketplace.follows.models import FavouriteProduct, Follow
from marketplace.markets.models import Market
from marketplace.producers.models import Producer, Product
from tests.concurrency import run_together
from tests.factories import MarketFactory, ProducerFactory, ProductFactory, UserFactory

ROUNDS = 5


def test_follow_and_favourite_twice_at_once_are_one_row_each_and_no_error(app, ctx):
    for _round in range(ROUNDS):
        user_id = UserFactory().id
        market_id, producer_id, product_id = MarketFactory().id, ProducerFactory().id, ProductFactory().id
        db.session.commit()

        def follow_market():
            services.follow(db.session.get(User, user_id), market=db.session.get(Market, market_id))

        def follow_producer():
            services.follow(db.session.get(User, user_id), producer=db.session.get(Producer, producer_id))

        def favourite():
            services.add_favourite(db.session.get(User, user_id), db.session.get(Product, product_id))

        results = run_together(app, [follow_market, follow_market, follow_producer, follow_producer,
                                     favourite, favourite])
        assert results == [None] * 6, results
        assert db.session.scalar(select(func.count()).select_from(Follow).where(Follow.user_id == user_id)) == 2
        assert db.session.scalar(select(func.count()).select_from(FavouriteProduct)
                                 .where(FavouriteProduct.user_id == user_id)) == 1
