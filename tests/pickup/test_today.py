"""The organizer's day from the menu: Today, the settlement, a day's no-shows, a message to everyone."""
from __future__ import annotations

import re
import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.markets.services import local_today
from marketplace.notifications.models import OutboxEmail
from marketplace.orders import services as orders
from marketplace.orders.models import OrderStatus
from marketplace.pickup import messages
from tests.factories import MarketDayFactory, MarketFactory, UserFactory, add_organizer
from tests.pickup.helpers import Day


@pytest.fixture
def today(ctx):
    """A market day today (in the market's zone), with one order."""
    d = Day(days_ago=0)
    d.day.date = local_today(d.market)
    db.session.commit()
    d.first = d.order({d.potatoes: 1000}, name="Aigul Customer")
    return d


def emails_like(prefix: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.dedupe_key.like(prefix + "%")))


def test_today_goes_straight_to_the_only_pickup_point_of_today(client, login, today):
    login(today.organizer.email)
    response = client.get("/organize/today")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/organize/days/{today.day.id}/pickup")
    listed = client.get("/organize/today?list").get_data(as_text=True)
    assert today.market.name in listed and f"/organize/days/{today.day.id}/pickup" in listed
    menu = client.get("/organize/").get_data(as_text=True)
    assert 'href="/organize/today"' in menu and 'href="/organize/settlement"' in menu  # one tap from the menu


def test_today_of_another_organizer_is_empty_and_customers_get_404(client, login, today):
    other = UserFactory(roles=[Role.ORGANIZER])
    customer = UserFactory()
    db.session.commit()
    login(other.email)
    page = client.get("/organize/today").get_data(as_text=True)
    assert today.market.name not in page and "None of your markets has a market day today" in page
    client.post("/logout")
    login(customer.email)
    assert client.get("/organize/today").status_code == 404
    assert client.get("/organize/settlement").status_code == 404


def test_settlement_from_the_menu_opens_on_the_period_of_the_latest_market_day(client, login, ctx):
    held = Day(days_ago=3)
    order = held.order({held.potatoes: 1000})
    orders.hand_over(order, held.organizer)
    db.session.commit()
    login(held.organizer.email)
    response = client.get("/organize/settlement")
    assert response.status_code == 302 and f"/organize/markets/{held.market.id}/settlement" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    day = held.day.date
    assert f'value="{day.replace(day=1).isoformat()}"' in page  # the month of the latest day held
    assert "Settlement" in page and f"/organize/markets/{held.market.id}/calendar" in page  # in the market's tabs


def test_settlement_from_the_menu_of_several_markets_none_held_yet_is_a_settlement_with_a_switch(client, login, ctx):
    """Two taps (Menu, Settlement) land on a settlement even before any market held a day; the
    other market's settlement is one tap further, from the market's tabs."""
    organizer = UserFactory(roles=[Role.ORGANIZER])
    first, second = MarketFactory(name="Aksu Bazaar"), MarketFactory(name="Zhana Bazaar")
    for market in (first, second):
        add_organizer(market, organizer)
        MarketDayFactory(market=market)  # coming, not held
    login(organizer.email)
    response = client.get("/organize/settlement")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/organize/markets/{first.id}/settlement")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    switch = page[page.index('class="market-others"'):]
    assert f'href="/organize/markets/{second.id}/settlement">Zhana Bazaar</a>' in switch
    assert "Aksu Bazaar</a>" not in switch  # the market shown is not offered again
    listed = client.get("/organize/settlement?list").get_data(as_text=True)  # the list stays reachable
    assert "Aksu Bazaar" in listed and "Zhana Bazaar" in listed


def test_the_market_switch_keeps_the_page_and_is_not_shown_with_one_market(client, login, ctx):
    held = Day()
    other = MarketFactory(name="Second Bazaar")
    add_organizer(other, held.organizer)
    login(held.organizer.email)
    calendar = client.get(f"/organize/markets/{held.market.id}/calendar").get_data(as_text=True)
    assert f'href="/organize/markets/{other.id}/calendar">Second Bazaar</a>' in calendar
    vendor = client.get(f"/organize/markets/{held.market.id}/vendors").get_data(as_text=True)
    assert f'href="/organize/markets/{other.id}/vendors">Second Bazaar</a>' in vendor
    client.post("/logout")
    alone = Day()
    login(alone.organizer.email)
    assert 'class="market-others"' not in client.get(f"/organize/markets/{alone.market.id}").get_data(as_text=True)


def test_no_shows_and_missing_items_of_a_day(client, login, ctx):
    d = Day()
    gone = d.order({d.potatoes: 1000}, name="Ruslan Late")
    kept = d.order({d.potatoes: 2000, d.honey: 500}, name="Dana Here")
    db.session.execute(db.update(type(gone)).where(type(gone).id == gone.id).values(status=OrderStatus.NO_SHOW))
    honey_line = next(line for line in kept.lines if line.product_id == d.honey.id)
    orders.mark_line_missing(honey_line, d.organizer)
    db.session.commit()
    login(d.organizer.email)
    page = client.get(f"/organize/days/{d.day.id}/no-shows").get_data(as_text=True)
    assert "Ruslan" in page and gone.pickup_code in page
    assert "Honey" in page and "Green Farm" in page and kept.pickup_code in page
    client.post("/logout")
    stranger = UserFactory(roles=[Role.ORGANIZER])
    db.session.commit()
    login(stranger.email)
    assert client.get(f"/organize/days/{d.day.id}/no-shows").status_code == 404
    assert client.get(f"/organize/days/{d.day.id}/message").status_code == 404
    assert client.get("/organize/days/2147483648/no-shows").status_code == 404


def nonce_of(page: str) -> str:
    return re.search(r'name="nonce" type="hidden" value="([0-9a-f]{16})"', page).group(1)


def test_a_message_reaches_every_customer_of_the_day_once(client, login, today):
    second = today.order({today.potatoes: 1000}, name="Dana Second")
    login(today.organizer.email)
    url = f"/organize/days/{today.day.id}/message"
    page = client.get(url).get_data(as_text=True)
    data = {"audience": "customers", "subject": "Rain", "body": "Bring a bag: it rains.", "nonce": nonce_of(page)}
    first = client.post(url, data=data, follow_redirects=True)
    assert "on its way to 2 people" in first.get_data(as_text=True)
    again = client.post(url, data=data, follow_redirects=True)  # a double submit of the same form
    assert "sent already" in again.get_data(as_text=True)
    assert emails_like(f"day-message:{today.day.id}:") == 2
    bodies = db.session.scalars(select(OutboxEmail.body_text).where(OutboxEmail.template == "day_message")).all()
    assert all("Bring a bag: it rains." in body and today.market.name in body for body in bodies)
    assert {second.customer.email, today.first.customer.email} == set(
        db.session.scalars(select(OutboxEmail.to).where(OutboxEmail.template == "day_message")))


def test_a_message_to_the_vendors_of_the_market(client, login, today):
    login(today.organizer.email)
    url = f"/organize/days/{today.day.id}/message"
    nonce = nonce_of(client.get(url).get_data(as_text=True))
    client.post(url, data={"audience": "vendors", "subject": "Stalls", "body": "Stalls move to row B.", "nonce": nonce})
    to = set(db.session.scalars(select(OutboxEmail.to).where(OutboxEmail.template == "day_message")))
    assert to == {today.farm.user.email, today.crafts.user.email}


@pytest.mark.parametrize("data", [
    {"audience": "customers", "subject": "Big", "body": "x" * 2001},
    {"audience": "customers", "subject": "", "body": "no subject"},
    {"audience": "everyone", "subject": "Who", "body": "a made-up audience"},
    {"audience": "customers", "subject": "Nonce", "body": "a bad nonce", "nonce": "<script>"},
])
def test_a_bad_message_is_refused_and_nothing_is_sent(client, login, today, data):
    login(today.organizer.email)
    url = f"/organize/days/{today.day.id}/message"
    data = {"nonce": nonce_of(client.get(url).get_data(as_text=True)), **data}
    response = client.post(url, data=data)
    assert response.status_code == 200
    assert emails_like(f"day-message:{today.day.id}:") == 0


def test_a_day_takes_a_bounded_number_of_messages(ctx, today):
    for n in range(messages.MAX_MESSAGES_PER_DAY):
        messages.message_day(today.organizer, today.day, messages.Audience.CUSTOMERS, "s", "b", f"{n:016x}")
    with pytest.raises(Exception, match="messages already"):
        messages.message_day(today.organizer, today.day, messages.Audience.CUSTOMERS, "s", "b", "f" * 16)


@pytest.mark.parametrize("locale, recipients, not_until", [("ru", "Кому", "По"), ("kk", "Кімге", "Дейін"),
                                                          ("ky", "Кимге", "Чейин")])
def test_the_message_form_asks_to_whom_not_until_when(client, login, today, locale, recipients, not_until):
    """The audience's legend is "To" as in "to whom"; it shared the settlement's "To" (a date), so the
    organizer read "Until" above "All vendors of the market" (tryout of issue 21)."""
    login(today.organizer.email)
    client.set_cookie("locale", locale)
    page = client.get(f"/organize/days/{today.day.id}/message").get_data(as_text=True)
    legend = re.search(r"<legend[^>]*>\s*([^<]+?)\s*<", page).group(1)
    assert legend == recipients, f"the recipients are headed {legend!r}"
    assert legend != not_until
