"""The organizer's lists cost the same number of queries with 2 rows or 10."""
from datetime import timedelta

from marketplace.core.extensions import db
from marketplace.markets.models import VendorStatus
from tests.factories import (
    MarketDayFactory,
    MarketFactory,
    UserFactory,
    VendorFactory,
    add_organizer,
    today,
)
from tests.markets.conftest import count_queries, place_order


def _market_with(count: int, organizer):
    market = MarketFactory()
    add_organizer(market, organizer)
    for i in range(count):
        day = MarketDayFactory(market=market, date=today() + timedelta(days=3 + i))
        place_order(day)
        VendorFactory(market=market, status=[VendorStatus.APPLIED, VendorStatus.APPROVED][i % 2])
    db.session.commit()
    return market.id


def test_market_overview_and_vendor_list_do_not_query_per_row(app, client, login, ctx):
    organizer = UserFactory(roles=["organizer"])
    small, large = _market_with(2, organizer), _market_with(10, organizer)
    login(organizer.email)
    for path in ("/organize/markets/{}", "/organize/markets/{}/vendors", "/organize/markets/{}/vendors?status=applied"):
        counts = []
        for market_id in (small, large):
            with count_queries(app) as statements:
                assert client.get(path.format(market_id)).status_code == 200
            counts.append(len(statements))
        assert counts[0] == counts[1], (path, counts)


def test_extend_schedules_command_fills_the_horizon(app, ctx):
    from datetime import time

    from sqlalchemy import func, select

    from marketplace.markets.models import MarketDay, MarketSchedule

    market = MarketFactory(timezone="Asia/Almaty")
    db.session.add(MarketSchedule(market=market, rrule="FREQ=WEEKLY;BYDAY=SA", opens_local=time(8),
                                  closes_local=time(12), weeks_ahead=3))
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["extend-schedules"])
    assert first.exit_code == 0 and "3 market day(s) added" in first.output
    again = runner.invoke(args=["extend-schedules"])
    assert "0 market day(s) added" in again.output
    db.session.rollback()
    assert db.session.scalar(select(func.count(MarketDay.id)).where(MarketDay.market_id == market.id)) == 3
