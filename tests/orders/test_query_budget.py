"""Order pages cost the same number of queries whatever the number of orders and lines."""
from __future__ import annotations

from flask import request_finished
from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.notifications.models import OutboxEmail
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


def test_a_checkout_sale_and_a_refusal_stay_within_their_statement_budgets(ctx, app, client, login):
    """The checkout rush (bench/rush.py) is bound by these: a sale loads the day, prices the
    basket once, writes order, lines and the two conditional UPDATEs (the confirmation is the worker's); a buyer who
    comes too late is refused before anything is written, without a second pricing of the basket."""
    import re

    from tests.orders.test_views import add

    w = World(stock_milli=1000)
    login(w.customer.email)
    add(client, w, w.potatoes, "1")
    key = re.search(r'name="idempotency_key" type="hidden" value="([0-9a-f]+)"', client.get("/checkout").text).group(1)
    form = {"pickup_slot": w.slot.id, "payment_method": "cash", "phone": "+7 701 123 45 67"}
    answered = []

    def _answered(_sender, **_extra):
        answered.append(len(sale))  # the response is ready: what runs after it, the buyer does not wait for

    with count_queries(app) as sale, request_finished.connected_to(_answered, app):
        assert client.post("/checkout", data={**form, "idempotency_key": key}).status_code == 302
    before_answer = sale[:answered[0]]
    # 17: the basket is kept on the server (orders.basket) — one SELECT reads it, one DELETE
    # takes the day's basket in the order's transaction; the log line and the no-store header
    # after the commit read the user's id without loading the expired user and its roles again.
    assert len(before_answer) <= 17, "\n".join(before_answer)
    assert sum(1 for s in before_answer if 'FROM "user"' in s or "FROM user " in s) == 1, "\n".join(before_answer)
    # The confirmation is neither rendered nor stored before the answer, and is sent after it
    # (the worker's confirm-orders; run in place here, the queue being immediate under testing).
    assert not any("outbox_email" in s or "message_notice" in s for s in before_answer), "\n".join(before_answer)
    assert db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.to == w.customer.email,
                                                          OutboxEmail.template == "order_confirmed"))

    late = UserFactory()
    client.post("/logout")
    login(late.email)
    w.potato_offer.quantity_milli = 2000
    db.session.commit()
    add(client, w, w.potatoes, "1")
    w.potato_offer.reserved_milli = 2000  # someone else took the last kilo meanwhile
    db.session.commit()
    with count_queries(app) as refusal:
        response = client.post("/checkout", data={**form, "idempotency_key": "0123456789abcdef0123456789abcdef"})
    assert response.status_code == 409 and "sold out" in response.text
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE")) for s in refusal), "\n".join(refusal)
    # 16: the checkout takes the day's basket in its transaction (one DELETE, rolled back here, so
    # the basket is still there) — two tabs checking out one basket at once placed two orders.
    assert len(refusal) <= 16, "\n".join(refusal)
    # Answered from what place_order read: the basket is not priced a second time.
    assert sum(1 for s in refusal if s.lstrip().upper().startswith("SELECT OFFER")) == 1, "\n".join(refusal)
    assert "Change your basket" in response.text
