"""The organizer pages through the browser's eyes, and from every outsider's side."""
import io
import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.markets.models import (
    Market,
    MarketDay,
    MarketSchedule,
    PickupSlot,
    Vendor,
    VendorStatus,
)
from tests.factories import MarketDayFactory, UserFactory, VendorFactory, add_organizer
from tests.markets.conftest import place_order


@pytest.fixture
def world(ctx):
    """A market with its organizer and one of everything, plus outsiders of every kind."""
    owner = UserFactory(email="owner@example.test", roles=[Role.ORGANIZER])
    day = MarketDayFactory(market__name="Owner's market")
    market = day.market
    add_organizer(market, owner)
    schedule = MarketSchedule(market=market, rrule="FREQ=WEEKLY;BYDAY=SA", opens_local=time(8),
                              closes_local=time(13))
    db.session.add(schedule)
    vendor = VendorFactory(market=market, status=VendorStatus.APPLIED)
    other_organizer = UserFactory(email="rival@example.test", roles=[Role.ORGANIZER])
    add_organizer(MarketDayFactory(market__name="Rival market").market, other_organizer)
    UserFactory(email="producer@example.test", roles=[Role.PRODUCER])
    UserFactory(email="customer@example.test")
    UserFactory(email="admin@example.test", roles=[Role.ADMIN])
    db.session.commit()
    return dict(market=market.id, day=day.id, slot=day.slots[0].id, schedule=schedule.id, vendor=vendor.id,
                owner=owner.id)


def routes(ids):
    """(method, url, form data) for every organizer route of the market in `ids`."""
    return [
        ("GET", f"/organize/markets/{ids['market']}", None),
        ("GET", f"/organize/markets/{ids['market']}/edit", None),
        ("POST", f"/organize/markets/{ids['market']}/edit", {"name": "Hijacked", "timezone": "UTC",
                                                               "currency": "EUR", "commission": "50",
                                                               "ordering_opens_days_before": "6",
                                                               "cutoff_days_before": "1",
                                                               "cutoff_local_time": "20:00"}),
        ("GET", f"/organize/markets/{ids['market']}/organizers", None),
        ("POST", f"/organize/markets/{ids['market']}/organizers", {"email": "rival@example.test"}),
        ("POST", f"/organize/markets/{ids['market']}/organizers/{ids['owner']}/remove", {}),
        ("GET", f"/organize/markets/{ids['market']}/schedules/new", None),
        ("POST", f"/organize/markets/{ids['market']}/schedules/new", {"kind": "weekly", "weekday": "SU",
                                                                       "position": "1", "opens_local": "08:00",
                                                                       "closes_local": "10:00",
                                                                       "weeks_ahead": "2", "slot_minutes": "30",
                                                                       "slot_capacity": "5"}),
        ("GET", f"/organize/schedules/{ids['schedule']}/edit", None),
        ("POST", f"/organize/schedules/{ids['schedule']}/extend", {}),
        ("GET", f"/organize/markets/{ids['market']}/days/new", None),
        ("GET", f"/organize/days/{ids['day']}", None),
        ("POST", f"/organize/days/{ids['day']}/cancel", {"reason": "Mine now"}),
        ("POST", f"/organize/days/{ids['day']}/slots", {"start_local": "08:00", "end_local": "09:00",
                                                         "slot_minutes": "30", "capacity": "1"}),
        ("POST", f"/organize/days/{ids['day']}/slots/save", {f"capacity-{ids['slot']}": "0"}),
        ("POST", f"/organize/days/{ids['day']}/slots/save", {f"remove-{ids['slot']}": "1"}),
        ("GET", f"/organize/days/{ids['day']}/cancel", None),
        ("GET", f"/organize/markets/{ids['market']}/calendar", None),
        ("GET", f"/organize/markets/{ids['market']}/vendors", None),
        ("GET", f"/organize/vendors/{ids['vendor']}", None),
        ("POST", f"/organize/vendors/{ids['vendor']}/decide", {"action": "approve"}),
        ("POST", f"/organize/vendors/{ids['vendor']}/stall", {"stall": "Z9"}),
    ]


def snapshot(app, ids):
    with app.app_context():
        market = db.session.get(Market, ids["market"])
        return (market.name, db.session.get(MarketDay, ids["day"]).status,
                db.session.scalar(select(func.count(PickupSlot.id))),
                db.session.get(Vendor, ids["vendor"]).status, db.session.get(Vendor, ids["vendor"]).stall,
                len(market.organizers), db.session.scalar(select(func.count(MarketDay.id))))


@pytest.mark.parametrize("email", ["rival@example.test", "producer@example.test", "customer@example.test"])
def test_outsiders_get_404_on_every_route_and_change_nothing(app, client, login, world, email, outbox):
    before = snapshot(app, world)
    login(email)
    for method, url, data in routes(world):
        response = client.open(url, method=method, data=data)
        assert response.status_code == 404, (email, method, url, response.status_code)
    assert snapshot(app, world) == before
    assert outbox() == []


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    for method, url, data in routes(world):
        response = client.open(url, method=method, data=data)
        assert response.status_code == 302 and "/login" in response.headers["Location"], (method, url)


def test_owner_and_admin_reach_every_page(client, login, world):
    for email in ("owner@example.test", "admin@example.test"):
        login(email)
        for method, url, _ in routes(world):
            if method == "GET":
                assert client.get(url).status_code == 200, (email, url)
        client.post("/logout")


def test_unknown_ids_are_404(client, login, world):
    login("owner@example.test")
    for url in ("/organize/markets/999999", "/organize/days/999999", "/organize/schedules/999999/edit",
                "/organize/markets/999999/vendors"):
        assert client.get(url).status_code == 404
    assert client.post("/organize/days/999999/slots/save", data={"capacity-1": "3"}).status_code == 404
    assert client.get("/organize/vendors/999999").status_code == 404
    assert client.get("/organize/markets/999999/calendar").status_code == 404
    assert client.get(f"/organize/markets/{world['market']}/vendors?status=bogus").status_code == 400


def png_bytes():
    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "PNG")
    buffer.seek(0)
    return buffer


def test_create_market_through_the_form(app, client, login, ctx):
    UserFactory(email="new@example.test", roles=[Role.ORGANIZER])
    login("new@example.test")
    assert client.get("/organize/markets/new").status_code == 200
    response = client.post("/organize/markets/new", data={
        "name": "Talas organic market", "description": "Beans", "address": "Talas, Lenin st. 1",
        "lat": "42.52", "lon": "72.24", "timezone": "Asia/Bishkek", "currency": "kgs", "commission": "2,5",
        "accepts_cash": "y", "ordering_opens_days_before": "5", "cutoff_days_before": "1",
        "cutoff_local_time": "18:30", "photo": (png_bytes(), "market.png")}, content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        market = db.session.scalar(select(Market).where(Market.name == "Talas organic market"))
        assert market.currency == "KGS" and market.commission_bp == 250 and market.photo_id is not None
        assert market.cutoff_local_time == time(18, 30)
        assert [u.email for u in market.organizers] == ["new@example.test"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Talas organic market" in page


@pytest.mark.parametrize("field,value,message", [
    ("timezone", "Asia/Nowhere", "Unknown time zone"),
    ("currency", "ABC", "currency code"),
    ("commission", "101", "between 0 and 100"),
    ("commission", "-5", "Enter a number"),
    ("lat", "north", "Not a valid float"),
])
def test_bad_market_form_shows_the_error_beside_the_field(app, client, login, ctx, field, value, message):
    UserFactory(email="new@example.test", roles=[Role.ORGANIZER])
    login("new@example.test")
    form = {"name": "X market", "timezone": "Asia/Almaty", "currency": "KZT", "commission": "5",
            "ordering_opens_days_before": "6", "cutoff_days_before": "1", "cutoff_local_time": "20:00"}
    form[field] = value
    response = client.post("/organize/markets/new", data=form)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(rf'id="{field}-errors">\s*<li>[^<]*{re.escape(message)}', html), html[-3000:]
    with app.app_context():
        assert db.session.scalar(select(func.count(Market.id))) == 0


def test_schedule_form_generates_days_and_slots(app, client, login, world):
    login("owner@example.test")
    response = client.post(f"/organize/markets/{world['market']}/schedules/new", data={
        "kind": "monthly", "position": "-1", "weekday": "SU", "opens_local": "09:00", "closes_local": "12:00",
        "weeks_ahead": "10", "slot_minutes": "60", "slot_capacity": "15"})
    assert response.status_code == 302
    with app.app_context():
        schedule = db.session.scalar(select(MarketSchedule).where(MarketSchedule.rrule == "FREQ=MONTHLY;BYDAY=-1SU"))
        days = list(db.session.scalars(select(MarketDay).where(MarketDay.schedule_id == schedule.id)))
        assert 2 <= len(days) <= 3
        assert all(d.date.weekday() == 6 and (d.date + timedelta(days=7)).month != d.date.month for d in days)
        assert all([s.capacity for s in d.slots] == [15, 15, 15] for d in days)
    edit = client.get(f"/organize/schedules/{schedule.id}/edit").get_data(as_text=True)
    assert '<input checked id="kind-1" name="kind" type="radio" value="monthly">' in edit
    assert '<option selected value="-1">' in edit


def test_schedule_form_with_a_bad_rule_says_so(client, login, world):
    login("owner@example.test")
    response = client.post(f"/organize/markets/{world['market']}/schedules/new", data={
        "kind": "rrule", "raw": "FREQ=SOMETIMES", "position": "1", "weekday": "SA", "opens_local": "09:00",
        "closes_local": "12:00", "weeks_ahead": "4", "slot_minutes": "30", "slot_capacity": "5"})
    assert response.status_code == 200
    assert 'id="raw-errors"' in response.get_data(as_text=True)


def test_edit_a_day_in_local_time(app, client, login, world):
    login("owner@example.test")
    with app.app_context():
        day = db.session.get(MarketDay, world["day"])
        day_date = day.date
    response = client.post(f"/organize/days/{world['day']}", data={
        "title": "Harvest day", "opens_local": "10:00", "closes_local": "14:00",
        "ordering_opens_local": (day_date - timedelta(days=5)).isoformat() + "T09:00",
        "cutoff_local": (day_date - timedelta(days=1)).isoformat() + "T21:00"})
    assert response.status_code == 302
    assert "outside the new hours" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        day = db.session.get(MarketDay, world["day"])
        almaty = ZoneInfo("Asia/Almaty")
        assert day.opens_at == datetime.combine(day_date, time(10, 0), tzinfo=almaty).astimezone(timezone.utc)
        assert day.cutoff_at == datetime.combine(day_date - timedelta(days=1), time(21, 0),
                                                 tzinfo=almaty).astimezone(timezone.utc)
        assert day.title == "Harvest day"
    page = client.get(f"/organize/days/{world['day']}").get_data(as_text=True)
    assert 'value="10:00"' in page and "T21:00" in page
    bad = client.post(f"/organize/days/{world['day']}", data={
        "opens_local": "10:00", "closes_local": "09:00",
        "ordering_opens_local": (day_date - timedelta(days=5)).isoformat() + "T09:00",
        "cutoff_local": (day_date - timedelta(days=1)).isoformat() + "T21:00"})
    assert bad.status_code == 400 and 'id="closes_local-errors"' in bad.get_data(as_text=True)


def test_slot_capacity_below_reserved_is_refused_on_the_page(app, client, login, world):
    with app.app_context():
        day = db.session.get(MarketDay, world["day"])
        slot = db.session.get(PickupSlot, world["slot"])
        place_order(day, slot)
        place_order(day, slot)
    login("owner@example.test")
    save = f"/organize/days/{world['day']}/slots/save"
    response = client.post(save, data={f"capacity-{world['slot']}": "1"})
    assert response.status_code == 400 and "already holds 2 orders" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PickupSlot, world["slot"]).capacity == 20
    client.post(save, data={f"capacity-{world['slot']}": "2"})
    with app.app_context():
        assert db.session.get(PickupSlot, world["slot"]).capacity == 2
    refused = client.post(save, data={f"capacity-{world['slot']}": "2", f"remove-{world['slot']}": "1"})
    assert "cannot be removed" in refused.get_data(as_text=True)


def test_every_slot_is_saved_with_one_form_or_none_is(app, client, login, world):
    with app.app_context():
        day = db.session.get(MarketDay, world["day"])
        extra = PickupSlot(market_day=day, starts_at=day.opens_at, ends_at=day.closes_at, capacity=5)
        spare = PickupSlot(market_day=day, starts_at=day.opens_at, ends_at=day.closes_at, capacity=5)
        db.session.add_all([extra, spare])
        db.session.commit()
        extra_id, spare_id = extra.id, spare.id
    login("owner@example.test")
    page = client.get(f"/organize/days/{world['day']}").get_data(as_text=True)
    assert page.count("Save pickup slots") == 1 and f'name="capacity-{extra_id}"' in page
    save = f"/organize/days/{world['day']}/slots/save"
    bad = client.post(save, data={f"capacity-{world['slot']}": "7", f"capacity-{extra_id}": "lots"})
    assert bad.status_code == 400
    with app.app_context():
        assert db.session.get(PickupSlot, world["slot"]).capacity == 20  # nothing saved
    ok = client.post(save, data={f"capacity-{world['slot']}": "7", f"capacity-{extra_id}": "9",
                                 f"remove-{spare_id}": "1"}, follow_redirects=True)
    assert "3 pickup slots changed." in ok.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PickupSlot, world["slot"]).capacity == 7
        assert db.session.get(PickupSlot, extra_id).capacity == 9
        assert db.session.get(PickupSlot, spare_id) is None
    # A slot of another day in this day's form is not this form's.
    assert client.post(save, data={"capacity-999999": "3"}).status_code in (302, 404)


def test_one_off_day_through_the_form(app, client, login, world):
    login("owner@example.test")
    fair_date = date.today() + timedelta(days=40)
    response = client.post(f"/organize/markets/{world['market']}/days/new", data={
        "title": "Autumn fair", "date": fair_date.isoformat(), "opens_local": "10:00", "closes_local": "18:00",
        "slot_minutes": "120", "slot_capacity": "50"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Autumn fair" in page
    with app.app_context():
        day = db.session.scalar(select(MarketDay).where(MarketDay.title == "Autumn fair"))
        assert len(day.slots) == 4 and day.schedule_id is None


def test_vendor_list_filters_and_decisions(app, client, login, world, outbox):
    with app.app_context():
        market = db.session.get(Market, world["market"])
        approved = VendorFactory(market=market, status=VendorStatus.APPROVED, producer__name="Approved Farm")
        applied_name = db.session.get(Vendor, world["vendor"]).producer.name
        approved_id = approved.id
    login("owner@example.test")
    applied_page = client.get(f"/organize/markets/{world['market']}/vendors?status=applied").get_data(as_text=True)
    assert applied_name in applied_page and "Approved Farm" not in applied_page
    all_page = client.get(f"/organize/markets/{world['market']}/vendors").get_data(as_text=True)
    assert applied_name in all_page and "Approved Farm" in all_page

    refused = client.post(f"/organize/vendors/{world['vendor']}/decide", data={"action": "reject", "reason": ""},
                          follow_redirects=True)
    assert "Tell the producer why" in refused.get_data(as_text=True)
    ok = client.post(f"/organize/vendors/{world['vendor']}/decide",
                     data={"action": "approve", "stall": "7", "return_status": "applied"})
    assert ok.status_code == 302 and "status=applied" in ok.headers["Location"]
    client.post(f"/organize/vendors/{approved_id}/decide", data={"action": "suspend", "reason": "No licence"})
    client.post(f"/organize/vendors/{approved_id}/stall", data={"stall": "North gate"})
    with app.app_context():
        assert db.session.get(Vendor, world["vendor"]).status == VendorStatus.APPROVED
        assert db.session.get(Vendor, world["vendor"]).stall == "7"
        assert db.session.get(Vendor, approved_id).status == VendorStatus.SUSPENDED
        assert db.session.get(Vendor, approved_id).stall == "North gate"
    assert len(outbox()) == 2


def test_add_organizer_through_the_page(app, client, login, world):
    UserFactory(email="friend@example.test")
    login("owner@example.test")
    missing = client.post(f"/organize/markets/{world['market']}/organizers", data={"email": "ghost@example.test"})
    assert missing.status_code == 200 and "No account uses that email" in missing.get_data(as_text=True)
    added = client.post(f"/organize/markets/{world['market']}/organizers", data={"email": "friend@example.test"})
    assert added.status_code == 302
    client.post("/logout")
    login("friend@example.test")
    assert client.get(f"/organize/markets/{world['market']}").status_code == 200
    assert client.get("/organize/").status_code == 200


def test_pages_have_no_inline_script_or_style(client, login, world):
    login("owner@example.test")
    for method, url, _ in routes(world):
        if method == "GET":
            html = client.get(url).get_data(as_text=True)
            assert "<script>" not in html and " style=" not in html and " onclick=" not in html, url


def test_edit_market_settings_and_refuse_a_bad_photo(app, client, login, world):
    login("owner@example.test")
    form = client.get(f"/organize/markets/{world['market']}/edit").get_data(as_text=True)
    assert 'value="5"' in form  # 500 basis points shown as a percent
    data = {"name": "Owner's market renamed", "address": "New square 2", "timezone": "Asia/Almaty",
            "currency": "KZT", "commission": "12.25", "ordering_opens_days_before": "4", "cutoff_days_before": "0",
            "cutoff_local_time": "06:00"}
    bad = client.post(f"/organize/markets/{world['market']}/edit",
                      data={**data, "photo": (io.BytesIO(b"not an image"), "photo.png")},
                      content_type="multipart/form-data")
    assert bad.status_code == 200 and 'id="photo-errors"' in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Market, world["market"]).name == "Owner's market"
    ok = client.post(f"/organize/markets/{world['market']}/edit", data=data)
    assert ok.status_code == 302
    with app.app_context():
        market = db.session.get(Market, world["market"])
        assert (market.name, market.commission_bp, market.cutoff_days_before) == ("Owner's market renamed", 1225, 0)


def test_pages_render_in_russian(client, login, world):
    login("owner@example.test")
    client.set_cookie("locale", "ru")
    for method, url, _ in routes(world):
        if method == "GET":
            response = client.get(url)
            assert response.status_code == 200 and 'lang="ru"' in response.get_data(as_text=True), url


def test_a_removable_slot_says_remove_once_on_a_phone(app, client, login, world):
    """On a phone each slot row is a card whose cells show their column's name: the removable
    slot's card read "Remove  ☐ Remove" (tryout of issue 21). Its checkbox names itself; a slot
    that cannot be removed keeps the column's name beside its dash."""
    with app.app_context():
        day = db.session.get(MarketDay, world["day"])
        place_order(day, db.session.get(PickupSlot, world["slot"]))
        spare = PickupSlot(market_day=day, starts_at=day.opens_at, ends_at=day.closes_at, capacity=5)
        db.session.add(spare)
        db.session.commit()
        spare_id = spare.id
    login("owner@example.test")
    page = client.get(f"/organize/days/{world['day']}").get_data(as_text=True)
    rows = [row.split("</tr>")[0] for row in page.split("<tr")]
    spare_row = next(row for row in rows if f'name="capacity-{spare_id}"' in row)
    taken_row = next(row for row in rows if f'name="capacity-{world["slot"]}"' in row)
    assert f'name="remove-{spare_id}"' in spare_row and spare_row.count("Remove") == 2  # the label: hidden + shown
    assert 'data-label="Remove"' not in spare_row
    assert 'data-label="Remove"' in taken_row and "—" in taken_row
