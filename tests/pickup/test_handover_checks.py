"""Hand-over before the market day opens, or with by-weight lines never weighed (issue 17, case 8):
refused unless the organizer confirms, told why; and the cash part of a card order's hand-over
in the settlement (case 7)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.core.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus
from marketplace.payments import settlement
from marketplace.pickup import services as pickup
from tests.pickup.helpers import Day
from tests.pickup.test_card import authorised, organizer_of


@pytest.fixture
def d(ctx):
    return Day()


def status_of(order) -> OrderStatus:
    db.session.rollback()
    return db.session.get(Order, order.id).status


def test_before_the_day_opens_the_hand_over_is_refused_and_says_why(d):
    order = d.order()
    with pytest.raises(pickup.NeedsConfirmation) as refused:
        pickup.hand_over(order, d.organizer)
    db.session.rollback()
    assert [c.code for c in refused.value.checks] == [pickup.EARLY]
    assert "has not opened yet" in refused.value.message
    assert status_of(order) == OrderStatus.CONFIRMED
    pickup.hand_over(db.session.get(Order, order.id), d.organizer, confirm={pickup.EARLY})
    db.session.commit()
    assert status_of(order) == OrderStatus.PICKED_UP


def test_on_the_day_a_plain_order_needs_no_confirmation(d):
    order = d.order()
    pickup.hand_over(order, d.organizer, now=d.day.opens_at + timedelta(minutes=10))
    db.session.commit()
    assert status_of(order) == OrderStatus.PICKED_UP


def test_an_unweighed_by_weight_line_needs_a_yes_and_is_named(d):
    order = d.order({d.honey: 1500})  # honey is sold by weight
    on_the_day = d.day.opens_at + timedelta(minutes=10)
    with pytest.raises(pickup.NeedsConfirmation) as refused:
        pickup.hand_over(order, d.organizer, now=on_the_day)
    db.session.rollback()
    assert [c.code for c in refused.value.checks] == [pickup.UNWEIGHED]
    assert "Not weighed: Honey" in refused.value.message and "estimate" in refused.value.message
    # Once weighed, nothing to confirm.
    order = db.session.get(Order, order.id)
    line = order.lines[0]
    orders.record_weight(line, d.farm, d.farm.user, 1480)
    db.session.commit()
    assert pickup.handover_checks(db.session.get(Order, order.id), on_the_day) == []
    pickup.hand_over(db.session.get(Order, order.id), d.organizer, now=on_the_day)
    db.session.commit()
    assert status_of(order) == OrderStatus.PICKED_UP


def test_a_missing_by_weight_line_is_not_asked_about(d):
    order = d.order({d.honey: 1000, d.potatoes: 1000})
    honey = next(line for line in order.lines if line.product_id == d.honey.id)
    orders.mark_line_missing(honey, d.organizer)
    db.session.commit()
    assert pickup.handover_checks(db.session.get(Order, order.id), d.day.opens_at + timedelta(hours=1)) == []


def test_the_page_asks_and_the_default_is_to_refuse(client, login, d):
    order = d.order({d.honey: 1000})
    login(d.organizer.email)
    url = f"/organize/days/{d.day.id}/pickup/orders/{order.id}"
    page = client.get(url)
    assert "Before you hand over" in page.text and "has not opened yet" in page.text and "Not weighed: Honey" in page.text
    refused = client.post(url + "/hand-over", data={"cash_received": "3000"})
    assert refused.status_code == 409 and "confirm first" in refused.text
    assert status_of(order) == OrderStatus.CONFIRMED
    half = client.post(url + "/hand-over", data={"cash_received": "3000", "confirm": ["early"]})
    assert half.status_code == 409 and "Not weighed: Honey" in half.text and "has not opened yet" not in half.text
    assert status_of(order) == OrderStatus.CONFIRMED
    done = client.post(url + "/hand-over", data={"cash_received": "3000", "confirm": ["early", "unweighed"]},
                       follow_redirects=True)
    assert "is handed over" in done.text and status_of(order) == OrderStatus.PICKED_UP
    forged = d.order()
    bad = client.post(f"/organize/days/{d.day.id}/pickup/orders/{forged.id}/hand-over",
                      data={"confirm": ["whatever"]})
    assert bad.status_code == 400 and status_of(forged) == OrderStatus.CONFIRMED


def test_the_cash_above_a_card_hold_is_a_cash_sale_in_the_settlement(ctx, stripe_on):
    order = authorised(stripe_on, by_weight=True, quantity_milli=1000, price_minor=100_000)  # hold 1150.00
    organizer = organizer_of(order)
    line = order.lines[0]
    orders.record_weight(line, line.producer, line.producer.user, 1400)  # 1400.00 due
    db.session.commit()
    pickup.hand_over(db.session.get(Order, order.id), organizer, confirm={pickup.EARLY})
    db.session.commit()
    order = db.session.get(Order, order.id)
    assert order.cash_received_minor == 25_000
    market = order.market_day.market
    (row,) = settlement.market_report(market, order.market_day.date, order.market_day.date).rows
    assert (row.card_sales_minor, row.cash_sales_minor) == (115_000, 25_000)
    assert row.sales_minor == 140_000
    ((_market, mine),) = settlement.producer_report(line.producer, order.market_day.date, order.market_day.date)
    assert (mine.card_sales_minor, mine.cash_sales_minor) == (115_000, 25_000)
