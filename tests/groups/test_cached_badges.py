"""A group's badge leaves the anonymous page cache with the change that ends it: an organizer who
stops counting the group at their market, a suspension, a group's lapse (web.pagecache)."""
from __future__ import annotations

import pytest

from marketplace.core.extensions import db
from marketplace.groups import services
from marketplace.groups.models import GroupStatus
from tests.factories import MarketFactory, ProductFactory, UserFactory, VendorFactory, add_organizer
from tests.groups.helpers import approved_member, coordinator_of, make_group


@pytest.fixture
def cached(app, tmp_path):
    app.config.update(PAGE_CACHE_SECONDS=600, PAGE_CACHE_VERSION_FILE=str(tmp_path / "version"))
    app.extensions.pop("pagecache", None)
    yield
    app.config.pop("PAGE_CACHE_SECONDS")
    app.config.pop("PAGE_CACHE_VERSION_FILE")
    app.extensions.pop("pagecache", None)


@pytest.fixture
def member_at_market(ctx):
    group = make_group("Talas Organic")
    membership, _decision = approved_member(group)
    market = MarketFactory()
    VendorFactory(market=market, producer=membership.producer)
    ProductFactory(producer=membership.producer, name="Honey")
    organizer = UserFactory(roles=["organizer"])
    add_organizer(market, organizer)
    services.set_recognition(organizer, market, group, True)
    db.session.commit()
    return group, membership, market, organizer


def _pgs_badges(client, url: str) -> int:
    return client.get(url).get_data(as_text=True).count("PGS")


def test_a_market_that_stops_counting_the_group_drops_its_badge_from_cached_pages(client, cached, member_at_market):
    group, _membership, market, organizer = member_at_market
    url = f"/markets/{market.slug}"
    assert _pgs_badges(client, url) and _pgs_badges(client, url)  # the second from the cache
    services.set_recognition(organizer, market, group, False)
    db.session.commit()
    assert _pgs_badges(client, url) == 0


def test_a_suspension_or_a_groups_lapse_drops_the_badge_from_cached_pages(client, cached, member_at_market):
    group, membership, market, _organizer = member_at_market
    urls = [f"/markets/{market.slug}", f"/producers/{membership.producer.slug}"]
    assert all(_pgs_badges(client, url) for url in urls + urls)
    services.suspend_member(coordinator_of(group), membership, "A complaint")
    db.session.commit()
    assert [_pgs_badges(client, url) for url in urls] == [0, 0]
    services.reinstate_member(coordinator_of(group), membership)
    db.session.commit()
    assert all(_pgs_badges(client, url) for url in urls)
    services.set_standing(UserFactory(roles=["admin"]), group, status=GroupStatus.SUSPENDED, standing_until=None)
    db.session.commit()
    assert [_pgs_badges(client, url) for url in urls] == [0, 0]
