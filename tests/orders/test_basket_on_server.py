"""The baskets kept on the server (issue 20): the session holds only a basket key, and each
request writes only the lines it changed — so tabs that overlap each keep what they added."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.orders import basket, queries, services
from marketplace.orders.models import BasketLine
from tests.bench.test_page_cache import cached  # noqa: F401 (fixture)
from tests.concurrency import run_together
from tests.orders.helpers import World
from tests.orders.test_views import add
from tests.query_counter import count_queries

BADGE = re.compile(r'id="basket-badge"\s*(hidden)?\s*>.*?>(\d+)<', re.S)


@pytest.fixture
def world(ctx):
    return World()


def basket_key(client) -> str | None:
    with client.session_transaction() as session:
        return session.get(basket.KEY)


def lines(client) -> dict[int, dict[int, int]]:
    db.session.expire_all()
    key = basket_key(client)
    return queries.baskets_of_key(key) if key else {}


def second_tab(app, client):
    """Another tab of the same browser: the same session cookie, as it is now."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    tab = app.test_client()
    tab.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return tab


def adding(tab, day_id, product_id, quantity):
    """One tab's add, with plain ids: the threads must not load the test's own objects."""
    return lambda: tab.post("/basket/add", data={"product_id": product_id, "market_day_id": day_id,
                                                 "quantity": quantity}, follow_redirects=True).status_code


def test_the_session_holds_only_a_key_set_by_the_first_line(client, world):
    client.get("/basket")
    assert basket_key(client) is None
    add(client, world, world.potatoes, "2")
    key = basket_key(client)
    assert isinstance(key, str) and len(key) >= 32
    assert lines(client) == {world.day.id: {world.potatoes.id: 2000}}
    add(client, world, world.honey, "0.5")
    assert basket_key(client) == key  # the cookie does not change with the basket
    assert lines(client) == {world.day.id: {world.potatoes.id: 2000, world.honey.id: 500}}


def test_a_removed_line_is_deleted_and_the_others_stay(client, world):
    add(client, world, world.potatoes, "2")
    add(client, world, world.honey, "1")
    assert client.post(f"/basket/{world.day.id}/items/{world.potatoes.id}/remove").status_code == 302
    assert lines(client) == {world.day.id: {world.honey.id: 1000}}


def test_the_badge_counts_the_lines_with_one_query_and_none_without_a_key(app, client, world):
    with count_queries(app) as without_key:
        page = client.get("/markets").text
    assert BADGE.search(page).groups() == ("hidden", "0")
    add(client, world, world.potatoes, "2")
    add(client, world, world.honey, "1")
    with count_queries(app) as with_key:
        page = client.get("/markets").text
    assert BADGE.search(page).groups() == (None, "2")
    assert len(with_key) == len(without_key) + 1
    assert sum("basket_line" in statement for statement in with_key) == 1


def test_a_session_with_a_basket_key_is_not_served_cached_pages(cached, client, world):  # noqa: F811
    client.get("/products")
    add(client, world, world.potatoes, "1")
    client.post(f"/basket/{world.day.id}/items/{world.potatoes.id}/remove")
    # Emptied, the key stays (another tab may be adding under it): the page is the visitor's own.
    with count_queries(cached) as statements:
        client.get("/products")
    assert statements


def test_two_tabs_of_a_new_session_adding_their_first_products_fill_one_basket(app, client, world):
    with client.session_transaction() as session:
        session["csrf_token"] = "the session's CSRF secret"  # as any page with a form leaves it
    other_tab = second_tab(app, client)
    add(other_tab, world, world.honey, "1")
    add(client, world, world.potatoes, "2")  # the answer the browser keeps
    assert lines(client) == {world.day.id: {world.potatoes.id: 2000, world.honey.id: 1000}}


def test_a_basket_filled_before_logging_in_is_there_after_under_a_new_key(app, client, login, world):
    add(client, world, world.potatoes, "2")
    planted = basket_key(client)
    # Someone who planted this session before the login (and kept a copy of its cookie) ...
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    planter = app.test_client()
    planter.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    login(world.customer.email)
    assert basket_key(client) not in (None, planted)
    assert f'id="basket-{world.day.id}-{world.potatoes.id}"' in client.get("/basket").text
    # ... no longer reaches the customer's basket: what the old key holds is nothing.
    assert "Your basket is empty" in planter.get("/basket").text
    add(planter, world, world.honey, "1")
    assert lines(client) == {world.day.id: {world.potatoes.id: 2000}}


def test_a_basket_key_that_is_not_one_reads_as_empty(client, world):
    for junk in (123, "", "x" * 500, ["k"]):
        with client.session_transaction() as session:
            session[basket.KEY] = junk
        assert "Your basket is empty" in client.get("/basket").text
    add(client, world, world.potatoes, "1")  # and the next line gets a proper key
    assert lines(client) == {world.day.id: {world.potatoes.id: 1000}}


def test_a_basket_still_in_an_old_cookie_moves_to_the_server_at_its_next_change(client, world):
    with client.session_transaction() as session:
        session[basket.KEY] = {"days": {str(world.day.id): {str(world.potatoes.id): 3000}}}
    add(client, world, world.honey, "1")
    assert isinstance(basket_key(client), str)
    assert lines(client) == {world.day.id: {world.potatoes.id: 3000, world.honey.id: 1000}}


def test_baskets_nobody_changed_for_thirty_days_are_forgotten_whole(ctx, world):
    now = utcnow()
    old, fresh = now - timedelta(days=31), now - timedelta(days=29)
    for key, product, at in [("forgotten", world.potatoes, old), ("forgotten", world.honey, old),
                             ("half", world.potatoes, old), ("half", world.honey, fresh),
                             ("recent", world.potatoes, fresh)]:
        db.session.add(BasketLine(basket_key=key, market_day_id=world.day.id, product_id=product.id,
                                  quantity_milli=1000, updated_at=at))
    db.session.commit()
    assert services.forget_old_baskets(now) == 2
    db.session.commit()
    kept = db.session.execute(select(BasketLine.basket_key, BasketLine.product_id)).all()
    assert sorted(kept) == sorted([("half", world.potatoes.id), ("half", world.honey.id),
                                   ("recent", world.potatoes.id)])


def test_the_migration_makes_the_table_and_takes_it_away(fresh_app):
    with fresh_app.app_context():
        upgrade(revision="0019_basket_lines")
        with db.engine.connect() as conn:
            inspector = sa.inspect(conn)
            assert inspector.get_pk_constraint("basket_line")["constrained_columns"] == [
                "basket_key", "market_day_id", "product_id"]
            assert {index["name"] for index in inspector.get_indexes("basket_line")} >= {
                "ix_basket_line_updated_at", "ix_basket_line_product_id"}
        downgrade(revision="0018_user_last_locale")
        with db.engine.connect() as conn:
            assert "basket_line" not in sa.inspect(conn).get_table_names()


# --- Races (barrier): two requests of one session at the same instant -----------------------

def test_two_tabs_adding_different_products_at_once_keep_both(app, world):
    day_id, potatoes_id, honey_id = world.day.id, world.potatoes.id, world.honey.id
    for _round in range(5):
        tab = app.test_client()
        add(tab, world, world.slippers, "1")  # the session and its basket key exist
        other_tab = second_tab(app, tab)
        results = run_together(app, [adding(tab, day_id, potatoes_id, "2"),
                                     adding(other_tab, day_id, honey_id, "1")])
        assert results == [200, 200]
        # Whichever answer the browser keeps, its basket holds both products.
        assert lines(tab) == lines(other_tab) == {
            day_id: {world.slippers.id: 1000, potatoes_id: 2000, honey_id: 1000}}


def test_two_tabs_adding_the_same_product_at_once_leave_one_clear_line(app, world):
    day_id, potatoes_id = world.day.id, world.potatoes.id
    for _round in range(5):
        tab = app.test_client()
        add(tab, world, world.slippers, "1")
        other_tab = second_tab(app, tab)
        results = run_together(app, [adding(tab, day_id, potatoes_id, "1"),
                                     adding(other_tab, day_id, potatoes_id, "2")])
        assert results == [200, 200]  # no IntegrityError, no 500
        # One request's basket, or the second seeing the first's line and adding to it.
        assert lines(tab)[day_id][potatoes_id] in (1000, 2000, 3000)
        assert len(db.session.scalars(select(BasketLine).where(
            BasketLine.basket_key == basket_key(tab), BasketLine.product_id == potatoes_id)).all()) == 1
