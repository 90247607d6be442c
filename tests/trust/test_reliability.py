"""Customer reliability: no-shows take cash away; organizers of the customer's markets see them."""
from __future__ import annotations

import pytest

from marketplace.accounts.models import Role
from marketplace.orders.models import OrderStatus
from marketplace.orders.reliability import cash_refusal_reason
from tests.factories import (
    MarketDayFactory,
    MarketFactory,
    ProductFactory,
    UserFactory,
    add_organizer,
)
from tests.trust.helpers import days_ago, make_order


@pytest.fixture
def flaky(ctx):
    market = MarketFactory()
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(market, organizer)
    other_organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(MarketFactory(), other_organizer)
    customer = UserFactory(name="Aigul Flaky")
    day = MarketDayFactory(market=market)
    return dict(market=market, day=day, organizer=organizer, other_organizer=other_organizer,
                customer=customer, admin=UserFactory(roles=[Role.ADMIN]), product=ProductFactory())


def test_cash_is_refused_after_the_no_show_limit_within_90_days(app, flaky):
    customer, product = flaky["customer"], flaky["product"]
    assert app.config["NO_SHOW_LIMIT"] == 2
    make_order(customer, [product], status=OrderStatus.NO_SHOW, no_show_at=days_ago(120))  # too old
    make_order(customer, [product], status=OrderStatus.NO_SHOW, no_show_at=days_ago(10))
    assert cash_refusal_reason(customer.id) is None
    make_order(customer, [product], status=OrderStatus.NO_SHOW, no_show_at=days_ago(1))
    reason = cash_refusal_reason(customer.id)
    assert reason and "2 of your orders" in reason and "pay by card" in reason


def test_the_organizer_sees_a_customers_no_shows(client, login, flaky):
    make_order(flaky["customer"], [flaky["product"]], market_day=flaky["day"], status=OrderStatus.NO_SHOW)
    make_order(flaky["customer"], [flaky["product"]], market_day=flaky["day"], status=OrderStatus.NO_SHOW,
               no_show_at=days_ago(3))
    login(flaky["organizer"].email)
    lookup = client.get("/trust/customers", query_string={"email": flaky["customer"].email.upper()})
    assert lookup.status_code == 302
    page = client.get(lookup.headers["Location"]).get_data(as_text=True)
    assert "2 orders not picked up in the last 90 days" in page
    assert "Cash at pickup is not offered" in page


@pytest.mark.parametrize("who", ["other_organizer", "customer"])
def test_others_cannot_see_a_customers_reliability(client, login, flaky, who):
    make_order(flaky["customer"], [flaky["product"]], market_day=flaky["day"], status=OrderStatus.NO_SHOW)
    login(flaky[who].email)
    assert client.get(f"/trust/customers/{flaky['customer'].id}").status_code == 404
    lookup = client.get("/trust/customers", query_string={"email": flaky["customer"].email})
    assert lookup.status_code == 404 or "No customer with this email" in lookup.get_data(as_text=True)


def test_admin_sees_any_customer(client, login, flaky):
    login(flaky["admin"].email)
    page = client.get(f"/trust/customers/{flaky['customer'].id}").get_data(as_text=True)
    assert "0 orders not picked up" in page and "Cash at pickup is offered" in page
