"""The new back-office URLs of issue 21 attacked: other markets' and producers' ids, odd arguments,
the message form abused. Each gets a 404 (or a clear refusal) and changes nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.markets.models import MarketDay, MarketDayStatus, PickupSlot
from marketplace.notifications.models import OutboxEmail
from tests.factories import ProducerFactory, UserFactory
from tests.pickup.helpers import Day


@pytest.fixture
def two(ctx):
    """Two market days of two markets with their own organizers; an order on the first."""
    ours, theirs = Day(), Day()
    order = ours.order({ours.potatoes: 1000})
    customer = UserFactory()
    producer = ProducerFactory()
    db.session.commit()
    return dict(ours=ours, theirs=theirs, order=order, customer=customer, producer=producer)


def outbox_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(OutboxEmail.id)))


def urls_of(d: Day, vendor_id: int) -> list[tuple[str, str, dict | None]]:
    day, market = d.day.id, d.market.id
    return [
        ("GET", f"/organize/days/{day}/no-shows", None),
        ("GET", f"/organize/days/{day}/message", None),
        ("POST", f"/organize/days/{day}/message", {"audience": "customers", "subject": "x", "body": "y",
                                                    "nonce": "0123456789abcdef"}),
        ("GET", f"/organize/days/{day}/cancel", None),
        ("POST", f"/organize/days/{day}/cancel", {"reason": "mine"}),
        ("POST", f"/organize/days/{day}/slots/save", {f"capacity-{d.slots[0].id}": "0"}),
        ("GET", f"/organize/markets/{market}/calendar", None),
        ("GET", f"/organize/markets/{market}/calendar?month=2026-12", None),
        ("GET", f"/organize/vendors/{vendor_id}", None),
        ("GET", f"/organize/markets/{market}/settlement?start=2000-01-01&end=2100-01-01", None),
    ]


def snapshot(d: Day):
    db.session.expire_all()
    return (db.session.get(MarketDay, d.day.id).status,
            [s.capacity for s in db.session.scalars(select(PickupSlot).where(PickupSlot.market_day_id == d.day.id))])


@pytest.mark.parametrize("who", ["their_organizer", "customer", "producer"])
def test_every_new_organizer_url_of_another_market_is_404_and_changes_nothing(client, login, two, who):
    from marketplace.markets.models import Vendor

    ours = two["ours"]
    vendor_id = db.session.scalar(select(Vendor.id).where(Vendor.market_id == ours.market.id))
    user = {"their_organizer": two["theirs"].organizer, "customer": two["customer"],
            "producer": two["producer"].user}[who]
    before, emails = snapshot(ours), outbox_count()
    login(user.email)
    for method, url, data in urls_of(ours, vendor_id):
        response = client.open(url, method=method, data=data)
        assert response.status_code == 404, (who, method, url, response.status_code)
    assert snapshot(ours) == before and outbox_count() == emails


def test_a_slot_of_another_day_in_our_day_s_form_is_not_saved(client, login, two):
    ours, theirs = two["ours"], two["theirs"]
    add_them = theirs.organizer
    login(ours.organizer.email)
    client.post(f"/organize/days/{ours.day.id}/slots/save", data={f"capacity-{theirs.slots[0].id}": "0",
                                                                 f"remove-{theirs.slots[0].id}": "1"})
    db.session.expire_all()
    assert db.session.get(PickupSlot, theirs.slots[0].id) is not None
    assert db.session.get(PickupSlot, theirs.slots[0].id).capacity == theirs.slots[0].capacity
    assert add_them  # their organizer untouched


@pytest.mark.parametrize("month", ["9999-99", "0000-01", "2026-13", "../../etc", "2026-1", "x" * 5000, "2147483648-01"])
def test_odd_calendar_months_show_this_month(client, login, two, month):
    login(two["ours"].organizer.email)
    response = client.get(f"/organize/markets/{two['ours'].market.id}/calendar", query_string={"month": month})
    assert response.status_code == 200


@pytest.mark.parametrize("start, end", [("1900-01-01", "9999-12-31"), ("2026-13-45", ""), ("'; DROP", "x"),
                                        ("2026-12-31", "2026-01-01")])
def test_odd_settlement_periods_are_answered_not_crashed(client, login, two, start, end):
    login(two["ours"].organizer.email)
    response = client.get(f"/organize/markets/{two['ours'].market.id}/settlement",
                          query_string={"start": start, "end": end})
    assert response.status_code in (200, 400)


def nonce(client, url) -> str:
    return re.search(r'name="nonce" type="hidden" value="([0-9a-f]{16})"', client.get(url).get_data(as_text=True)).group(1)


def test_the_message_form_abused(client, login, two):
    ours = two["ours"]
    url = f"/organize/days/{ours.day.id}/message"
    login(ours.organizer.email)
    before = outbox_count()
    huge = client.post(url, data={"audience": "customers", "subject": "s" * 10_000, "body": "b" * 1_000_000,
                                  "nonce": nonce(client, url)})
    assert huge.status_code in (200, 413) and outbox_count() == before
    script = "<script>alert(1)</script>"
    good = {"audience": "customers", "subject": script, "body": script, "nonce": nonce(client, url)}
    for _ in range(3):  # a triple click
        client.post(url, data=good)
    assert outbox_count() == before + 1  # one customer, one email
    email = db.session.scalar(select(OutboxEmail).where(OutboxEmail.template == "day_message"))
    assert script not in email.body_html and "&lt;script&gt;" in email.body_html
    # A nonce is the form's: one for another day does not mute this day's next message.
    reused = client.post(f"/organize/days/{two['theirs'].day.id}/message", data=good)
    assert reused.status_code == 404


def test_a_cancelled_day_has_no_cancel_page_and_its_slots_stay(client, login, two):
    ours = two["ours"]
    login(ours.organizer.email)
    assert client.post(f"/organize/days/{ours.day.id}/cancel", data={"reason": "Storm"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(MarketDay, ours.day.id).status == MarketDayStatus.CANCELLED
    again = client.get(f"/organize/days/{ours.day.id}/cancel")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/organize/days/{ours.day.id}")
    page = client.get(f"/organize/days/{ours.day.id}").get_data(as_text=True)
    assert "Save pickup slots" not in page


def test_other_producers_days_in_what_i_bring(client, login, two):
    """A producer of the other market asks for our day in the day picker, or copies into it."""
    theirs = two["theirs"]
    login(theirs.farm.user.email)
    assert client.get(f"/shop/availability?day={two['ours'].day.id}").status_code == 404
    assert client.get("/shop/availability?day=2147483647").status_code == 404  # an id, not of this grid
    for not_an_id in ("abc", "2147483648", "-1", "1e3"):  # not an id at all: the first day
        page = client.get("/shop/availability", query_string={"day": not_an_id})
        assert page.status_code == 200 and f"-{two['ours'].day.id}-" not in page.get_data(as_text=True)
    assert client.post("/shop/availability", data={"day": str(theirs.day.id), "copy": str(two["ours"].day.id)}
                       ).status_code == 404


def test_admin_pages_for_others_and_odd_roles(client, login, two):
    login(two["ours"].organizer.email)
    target = two["customer"].id
    assert client.get("/admin/").status_code == 404
    assert client.get(f"/admin/users/{target}/roles/admin/grant").status_code == 404
    client.post("/logout")
    admin = UserFactory(roles=[Role.ADMIN])
    db.session.commit()
    login(admin.email)
    assert client.get(f"/admin/users/{target}/roles/emperor/grant").status_code == 404
    assert client.get(f"/admin/users/{target}/roles/admin/promote").status_code == 404
    assert client.get("/admin/users/2147483648/roles/admin/grant").status_code == 404
