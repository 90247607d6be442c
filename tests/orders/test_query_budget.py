"""Order pages cost the same number of queries whatever the number of orders and lines."""
from __future__ import annotations

from tests.factories import UserFactory
from tests.orders.helpers import World, place
from tests.query_counter import count_queries


def queries_for(app, client, url) -> int:
    with count_queries(app) as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_pages_do_not_query_per_order_or_line(ctx, app, client, login):
    w = World(slot_capacity=50, stock_milli=100_000)
    customer = w.customer
    place(w, {w.potatoes: 1000, w.honey: 500})
    place(w, {w.potatoes: 1000}, customer=UserFactory())
    login(w.farm.user.email)
    small_pick = queries_for(app, client, f"/shop/orders/days/{w.day.id}")
    small_days = queries_for(app, client, "/shop/orders")
    for _ in range(6):
        place(w, {w.potatoes: 1000, w.honey: 500}, customer=UserFactory())
        place(w, {w.potatoes: 1000, w.honey: 250, w.slippers: 500})
    assert queries_for(app, client, f"/shop/orders/days/{w.day.id}") == small_pick
    assert queries_for(app, client, "/shop/orders") == small_days

    client.post("/logout")
    login(customer.email)
    mine = queries_for(app, client, "/orders")
    first = place(w, {w.potatoes: 1000, w.honey: 100, w.slippers: 500})
    assert queries_for(app, client, "/orders") == mine
    one_line = place(w, {w.potatoes: 1000})
    assert queries_for(app, client, f"/orders/{first.id}") == queries_for(app, client, f"/orders/{one_line.id}")
