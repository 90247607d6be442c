"""Market settings and organizers."""
from datetime import time
from decimal import Decimal

import pytest

from marketplace.accounts.models import Role
from marketplace.core.errors import NotAllowed
from marketplace.core.extensions import db
from marketplace.markets import services
from marketplace.markets.models import Market
from tests.factories import MarketDayFactory, UserFactory
from tests.markets.conftest import place_order


def data(**changes):
    values = dict(name="Osh bazaar organic row", description="", address="Osh", lat=42.87, lon=74.61,
                  timezone="Asia/Bishkek", currency="KGS", commission_bp=300, accepts_cash=True,
                  ordering_opens_days_before=6, cutoff_days_before=1, cutoff_local_time=time(20, 0))
    values.update(changes)
    return services.MarketData(**values)


def test_an_organizer_creates_a_market_and_becomes_its_organizer(ctx):
    organizer = UserFactory(roles=[Role.ORGANIZER])
    market = services.create_market(organizer, data())
    db.session.commit()
    assert market.slug == "osh-bazaar-organic-row"
    assert services.can_manage(organizer, market)
    assert services.markets_of(organizer) == [market]
    second = services.create_market(organizer, data())
    assert second.slug == "osh-bazaar-organic-row-2"


def test_customers_and_producers_cannot_create_markets(ctx):
    for user in (UserFactory(), UserFactory(roles=[Role.PRODUCER])):
        with pytest.raises(NotAllowed):
            services.create_market(user, data())


@pytest.mark.parametrize("changes,field", [
    (dict(timezone="Mars/Olympus"), "timezone"),
    (dict(timezone="../../etc/passwd"), "timezone"),
    (dict(timezone=""), "timezone"),
    (dict(currency="XYZ"), "currency"),
    (dict(currency="KZ"), "currency"),
    (dict(lat=95.0), "lat"),
    (dict(lat=None), "lat"),
    (dict(cutoff_days_before=7), "ordering_opens_days_before"),
    (dict(name="  "), "name"),
])
def test_bad_settings_are_refused_beside_their_field(ctx, changes, field):
    organizer = UserFactory(roles=[Role.ORGANIZER])
    with pytest.raises(services.MarketError) as info:
        services.create_market(organizer, data(**changes))
    assert info.value.field == field


def test_currency_is_normalised_and_commission_kept_in_basis_points(ctx):
    assert services.validate_currency(" kzt ") == "KZT"
    assert services.percent_to_bp(Decimal("7.5")) == 750
    assert services.percent_to_bp(Decimal("0")) == 0
    assert services.percent_to_bp(Decimal("100")) == 10000
    assert services.bp_to_percent(750) == "7.5" and services.bp_to_percent(500) == "5"
    for bad in (Decimal("100.01"), Decimal("1.234")):
        with pytest.raises(services.MarketError):
            services.percent_to_bp(bad)


def test_zone_and_currency_are_fixed_once_there_are_orders(ctx):
    organizer = UserFactory(roles=[Role.ORGANIZER])
    market = services.create_market(organizer, data())
    db.session.commit()
    services.update_market(organizer, market, data(timezone="Asia/Almaty", currency="KZT", name="Renamed"))
    db.session.commit()
    day = MarketDayFactory(market=market)
    place_order(day)
    with pytest.raises(services.MarketError) as info:
        services.update_market(organizer, market, data(timezone="Asia/Bishkek", currency="KZT"))
    assert info.value.field == "timezone"
    db.session.rollback()
    services.update_market(organizer, market, data(timezone="Asia/Almaty", currency="KZT", commission_bp=0))
    db.session.commit()
    assert db.session.get(Market, market.id).commission_bp == 0


def test_add_an_organizer_by_email(ctx):
    organizer = UserFactory(roles=[Role.ORGANIZER])
    market = services.create_market(organizer, data())
    helper = UserFactory(email="helper@example.test")
    with pytest.raises(services.MarketError) as info:
        services.add_organizer(organizer, market, "nobody@example.test")
    assert info.value.field == "email"
    added = services.add_organizer(organizer, market, " Helper@Example.TEST ")
    db.session.commit()
    assert added.id == helper.id and helper.has_role(Role.ORGANIZER)
    assert services.can_manage(helper, market)
    with pytest.raises(services.MarketError):
        services.add_organizer(organizer, market, "helper@example.test")
    services.remove_organizer(helper, market, organizer)
    db.session.commit()
    assert not services.can_manage(organizer, market)
    with pytest.raises(services.MarketError):
        services.remove_organizer(helper, market, helper)


def test_another_organizer_cannot_add_themselves(ctx):
    owner = UserFactory(roles=[Role.ORGANIZER])
    market = services.create_market(owner, data())
    intruder = UserFactory(roles=[Role.ORGANIZER])
    with pytest.raises(NotAllowed):
        services.add_organizer(intruder, market, intruder.email)
    with pytest.raises(NotAllowed):
        services.update_market(intruder, market, data())
