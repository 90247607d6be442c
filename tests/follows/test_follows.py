"""Following a market or producer and keeping favourite products: one tap, idempotent, owners
only, listed on the account page, and the followers #24's messages are sent to."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.follows import queries, services
from marketplace.follows.models import FavouriteProduct, Follow
from tests.catalog.conftest import listed, market  # noqa: F401 (fixtures)
from tests.factories import ProducerFactory, ProductFactory, UserFactory


@pytest.fixture
def things(ctx, market):  # noqa: F811
    return market, ProducerFactory(name="Honey Farm"), ProductFactory(name="Mountain honey")


def test_follow_twice_is_following_once_and_unfollow_is_quiet(ctx, things):
    market, producer, _product = things
    dana, ali = UserFactory(), UserFactory()
    for _ in range(2):
        services.follow(dana, market=market)
        services.follow(dana, producer=producer)
    services.follow(ali, market=market)
    db.session.commit()
    assert [u.id for u in queries.followers_of_market(market.id)] == sorted([dana.id, ali.id])
    assert [u.id for u in queries.followers_of_producer(producer.id)] == [dana.id]
    services.unfollow(dana, market=market)
    services.unfollow(dana, market=market)
    db.session.commit()
    assert [u.id for u in queries.followers_of_market(market.id)] == [ali.id]
    with pytest.raises(ValueError):
        services.follow(dana, market=market, producer=producer)


def test_inactive_users_are_not_followers(ctx, things):
    market = things[0]
    gone = UserFactory(active=False)
    services.follow(gone, market=market)
    db.session.commit()
    assert queries.followers_of_market(market.id) == []


def test_the_database_refuses_a_follow_of_nothing_or_of_both(ctx, things):
    from sqlalchemy.exc import IntegrityError

    market, producer, _ = things
    user = UserFactory()
    for row in (Follow(user_id=user.id), Follow(user_id=user.id, market_id=market.id, producer_id=producer.id)):
        db.session.add(row)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_buttons_need_login_and_a_post(client, login, things):
    market, producer, product = things
    assert client.post(f"/follows/markets/{market.id}").status_code == 302  # to the login page
    assert client.get(f"/follows/markets/{market.id}").status_code == 405
    user = UserFactory()
    login(user.email)
    response = client.post(f"/follows/markets/{market.id}", data={"next": "/markets/green-bazaar"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/markets/green-bazaar")
    client.post(f"/follows/markets/{market.id}")  # a double tap
    client.post(f"/follows/producers/{producer.id}")
    client.post(f"/favourites/{product.id}", data={"next": "https://evil.example/"})
    client.post(f"/favourites/{product.id}")
    db.session.rollback()
    assert db.session.scalar(select(func.count(Follow.id))) == 2
    assert db.session.scalar(select(func.count(FavouriteProduct.id))) == 1
    account = client.get("/account").text
    assert "Green Bazaar" in account and "Honey Farm" in account and "Mountain honey" in account
    client.post(f"/favourites/{product.id}", data={"favourite": "0"})
    client.post(f"/follows/markets/{market.id}", data={"follow": "0"})
    db.session.rollback()
    assert db.session.scalar(select(func.count(FavouriteProduct.id))) == 0
    assert queries.followers_of_market(market.id) == []
    assert client.post("/follows/markets/999999").status_code == 404
    assert client.post("/favourites/99999999999999999999").status_code == 404


def test_the_pages_show_the_button_state(client, login, things, listed):  # noqa: F811
    market, producer, _ = things
    product = listed("Honey in the comb", producer=producer)
    user = UserFactory()
    login(user.email)
    assert "Keep in favourites" in client.get(f"/products/{product.id}").text
    client.post(f"/favourites/{product.id}")
    assert 'aria-pressed="true"' in client.get(f"/products/{product.id}").text
    assert "Follow this producer" in client.get(f"/producers/{producer.slug}").text
    client.post("/logout")
    anonymous = client.get(f"/producers/{producer.slug}").text
    assert f'href="/login?next=/producers/{producer.slug}"' in anonymous


def test_a_market_producer_or_product_taken_off_the_site_can_still_be_let_go(client, login, things):
    """The account page keeps listing what a customer follows, with its button; once the market,
    producer or product is inactive that button must still unfollow (it answered 404)."""
    market, producer, product = things
    user = UserFactory()
    services.follow(user, market=market)
    services.follow(user, producer=producer)
    services.add_favourite(user, product)
    market.active = producer.active = product.active = False
    db.session.commit()
    login(user.email)
    assert client.post(f"/follows/markets/{market.id}", data={"follow": "0"}).status_code == 302
    assert client.post(f"/follows/producers/{producer.id}", data={"follow": "0"}).status_code == 302
    assert client.post(f"/favourites/{product.id}", data={"favourite": "0"}).status_code == 302
    assert client.post(f"/follows/markets/{market.id}").status_code == 404  # following one anew is not
    db.session.rollback()
    assert db.session.scalar(select(func.count(Follow.id))) == 0
    assert db.session.scalar(select(func.count(FavouriteProduct.id))) == 0
