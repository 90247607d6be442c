"""Anonymous catalog pages are cached for a few seconds; what a group changes must show on them at
once all the same: an organizer no longer counting a group at their market, a suspension, a
group's standing. (Found trying the demo: the market page kept the badge for up to 10 s.)"""
from __future__ import annotations

import re

import pytest

from marketplace.core.extensions import db
from marketplace.groups import services
from marketplace.groups.models import GroupStatus
from marketplace.markets.models import VendorStatus
from tests.bench.test_page_cache import cached  # noqa: F401 (fixture)
from tests.factories import MarketFactory, UserFactory, VendorFactory, add_organizer
from tests.groups.helpers import approved_member, coordinator_of, make_group

PGS = re.compile(r"PGS organic")


@pytest.fixture
def counted(ctx):
    """A member with a PGS certificate selling at a market whose organizer counts the group."""
    group = make_group()
    membership, _decision = approved_member(group)
    market = MarketFactory()
    VendorFactory(market=market, producer=membership.producer, status=VendorStatus.APPROVED)
    organizer = UserFactory(roles=["organizer"])
    add_organizer(market, organizer)
    services.set_recognition(organizer, market, group, True)
    db.session.commit()
    return group, membership, market, organizer


def test_a_market_no_longer_counting_the_group_drops_the_badge_from_its_cached_page(cached, client,  # noqa: F811
                                                                                     counted):
    group, _membership, market, organizer = counted
    url = f"/markets/{market.slug}"
    assert PGS.search(client.get(url).text)
    services.set_recognition(organizer, market, group, False)
    db.session.commit()
    assert not PGS.search(client.get(url).text)
    services.set_recognition(organizer, market, group, True)
    db.session.commit()
    assert PGS.search(client.get(url).text)


def test_a_group_suspended_by_the_admin_loses_its_badges_on_cached_pages_at_once(cached, client,  # noqa: F811
                                                                                   counted):
    group, membership, market, _organizer = counted
    pages = [f"/markets/{market.slug}", f"/producers/{membership.producer.slug}"]
    assert all(PGS.search(client.get(url).text) for url in pages)
    services.set_standing(UserFactory(roles=["admin"]), group, status=GroupStatus.SUSPENDED, standing_until=None)
    db.session.commit()
    assert not any(PGS.search(client.get(url).text) for url in pages)


def test_a_suspended_member_loses_the_badge_on_cached_pages_at_once(cached, client, counted):  # noqa: F811
    group, membership, market, _organizer = counted
    pages = [f"/markets/{market.slug}", f"/producers/{membership.producer.slug}"]
    assert all(PGS.search(client.get(url).text) for url in pages)
    services.suspend_member(coordinator_of(group), membership, "A complaint to look into")
    db.session.commit()
    assert not any(PGS.search(client.get(url).text) for url in pages)
