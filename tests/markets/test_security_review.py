"""Security review, from the attacker's side: a page number too large for the database is a
page like any other (empty), not a 500."""
from tests.conftest import PASSWORD

HUGE_PAGES = ("99999999999999999999", "9223372036854775807", str(2**63 // 20 + 1))


def test_market_and_vendor_lists_with_a_page_number_beyond_the_database_integer_are_not_a_500(
        client, organized):
    market, organizer = organized
    client.post("/login", data={"email": organizer.email, "password": PASSWORD})
    for page in HUGE_PAGES:
        assert client.get(f"/organize/markets/{market.id}?page={page}").status_code == 200
        assert client.get(f"/organize/markets/{market.id}/vendors?page={page}").status_code == 200


def test_an_ordering_window_at_the_ends_of_the_calendar_is_a_form_error_not_a_500(client, organized):
    from marketplace.core.extensions import db
    from marketplace.markets.models import MarketDay
    from tests.factories import MarketDayFactory

    market, organizer = organized
    market_day = MarketDayFactory(market=market)
    before = (market_day.ordering_opens_at, market_day.cutoff_at)
    client.post("/login", data={"email": organizer.email, "password": PASSWORD})
    # Berlin is ahead of UTC: midnight of 1 January of year 1 there is in year 0 in UTC.
    for opens, cutoff in (("0001-01-01T00:00", "2030-01-01T00:00"), ("2020-01-01T00:00", "9999-12-31T23:59")):
        response = client.post(f"/organize/days/{market_day.id}", data={
            "opens_local": "08:00", "closes_local": "12:00", "ordering_opens_local": opens, "cutoff_local": cutoff})
        assert response.status_code == 400
        if opens.startswith("0001"):
            assert "Enter a date." in response.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(MarketDay, market_day.id)
    assert (saved.ordering_opens_at, saved.cutoff_at) == before


def test_a_one_off_day_on_the_last_day_of_the_calendar_west_of_utc_is_a_form_error_not_a_500(client, ctx):
    from sqlalchemy import func, select

    from marketplace.accounts.models import Role
    from marketplace.core.extensions import db
    from marketplace.markets.models import MarketDay
    from tests.factories import MarketFactory, UserFactory, add_organizer

    organizer = UserFactory(roles=[Role.ORGANIZER])
    market = MarketFactory(timezone="America/Los_Angeles")
    add_organizer(market, organizer)
    db.session.commit()
    client.post("/login", data={"email": organizer.email, "password": PASSWORD})
    response = client.post(f"/organize/markets/{market.id}/days/new", data={
        "date": "9999-12-31", "opens_local": "08:00", "closes_local": "23:00", "slot_minutes": "30",
        "slot_capacity": "5"})
    assert response.status_code == 200 and "Enter a date." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(MarketDay).where(MarketDay.market_id == market.id)) == 0
