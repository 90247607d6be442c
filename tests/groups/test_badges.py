"""A group's badges end by themselves: with the membership (at once), the certificate's validity,
or the group's standing; the trust score and its explanation name the groups; markets choose."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core.errors import NotAllowed
from marketplace.core.extensions import db
from marketplace.groups import services
from marketplace.groups.models import GroupKind, GroupStatus, MembershipStatus
from marketplace.groups.queries import standing_of
from marketplace.producers.models import Producer
from marketplace.trust import services as trust_services
from marketplace.trust.models import Certification, CertificationScheme, CertificationStatus
from marketplace.trust.queries import active_badges, producer_trust, producers_with_badge
from marketplace.trust.services import PRIOR_RATING, recompute_trust
from tests.factories import MarketFactory, ProducerFactory, UserFactory, add_organizer, today
from tests.groups.helpers import add_member, approved_member, coordinator_of, make_group


def _pgs(producer_id, day=None, market_id=None):
    return [c for c in active_badges([producer_id], day, market_id=market_id)[producer_id]
            if c.scheme == CertificationScheme.ORGANIC_PGS]


def _holders(scheme, day=None):
    return set(db.session.scalars(producers_with_badge(scheme, day)))


def test_the_badge_ends_at_once_when_the_membership_ends(ctx):
    group = make_group()
    membership, _decision = approved_member(group)
    producer_id = membership.producer_id
    assert _pgs(producer_id) and producer_id in _holders("organic_pgs")
    services.remove_member(coordinator_of(group), membership, "Left the district")
    db.session.commit()
    assert _pgs(producer_id) == [] and producer_id not in _holders("organic_pgs")
    certificate = db.session.scalar(select(Certification).where(Certification.producer_id == producer_id))
    assert certificate.status == CertificationStatus.EXPIRED  # the producer's own list says so too
    # Accepted again later, the old certificate does not come back: a new visit decides.
    producer = db.session.get(Producer, producer_id)
    services.apply_to_group(producer, producer.user, group)
    services.accept_member(coordinator_of(group), membership)
    db.session.commit()
    assert _pgs(producer_id) == []
    assert standing_of([producer_id])[producer_id][0].pgs_until is None


def test_a_suspension_hides_the_badge_and_a_reinstatement_brings_it_back(ctx):
    group = make_group()
    membership, _decision = approved_member(group)
    services.suspend_member(coordinator_of(group), membership, "Investigating a complaint")
    db.session.commit()
    assert _pgs(membership.producer_id) == []
    services.reinstate_member(coordinator_of(group), membership)
    db.session.commit()
    assert _pgs(membership.producer_id)


def test_the_badge_ends_with_the_certificates_validity(ctx):
    group = make_group()
    membership, decision = approved_member(group, valid_days=30)
    last = decision.valid_until
    assert _pgs(membership.producer_id, last)
    assert _pgs(membership.producer_id, last + timedelta(days=1)) == []
    assert standing_of([membership.producer_id], last + timedelta(days=1))[membership.producer_id][0].pgs_until is None


def test_the_badges_end_when_the_groups_standing_lapses_or_is_suspended(ctx):
    group = make_group(standing_until=today() + timedelta(days=5))
    membership, _decision = approved_member(group)
    producer_id = membership.producer_id
    assert _pgs(producer_id, today() + timedelta(days=5))
    assert _pgs(producer_id, today() + timedelta(days=6)) == []  # by itself, no job
    assert standing_of([producer_id], today() + timedelta(days=6)) == {}
    services.set_standing(UserFactory(roles=["admin"]), group, status=GroupStatus.SUSPENDED, standing_until=None)
    db.session.commit()
    assert _pgs(producer_id) == [] and producer_id not in _holders("organic_pgs")


def test_a_district_member_counts_for_the_organic_district_filter(ctx):
    district, school = make_group(), make_group(kind=GroupKind.AGROECOLOGY_SCHOOL)
    member = add_member(district).producer_id
    applicant = add_member(district, status=MembershipStatus.APPLIED).producer_id
    pupil = add_member(school).producer_id
    holders = _holders("organic_district")
    assert member in holders and applicant not in holders and pupil not in holders


def test_the_trust_score_counts_membership_and_pgs_and_names_the_groups(ctx):
    group = make_group("Talas organic district")
    plain = ProducerFactory()
    member = add_member(group).producer
    certified, _decision = approved_member(group)
    for producer in (plain, member, certified.producer):
        recompute_trust(producer.id)
    db.session.commit()
    assert plain.trust_score == round(PRIOR_RATING * 100)
    assert plain.trust_score < member.trust_score < certified.producer.trust_score
    trust = producer_trust(certified.producer)
    assert "PGS certified by Talas organic district" in trust["parts"]
    assert "member of Talas organic district (+0.25)" in trust["prior_explanation"]
    assert "PGS certified by Talas organic district (+0.25)" in trust["prior_explanation"]
    assert "member of Talas organic district" in producer_trust(member)["parts"]
    # The score follows a removal in the same transaction.
    services.remove_member(coordinator_of(group), certified, "Moved away")
    db.session.commit()
    assert certified.producer.trust_score == plain.trust_score


def test_each_market_chooses_whether_a_group_counts_there(ctx):
    group = make_group()
    membership, _decision = approved_member(group)
    market, other = MarketFactory(), MarketFactory()
    organizer = UserFactory(roles=["organizer"])
    add_organizer(market, organizer)
    assert _pgs(membership.producer_id, market_id=market.id) == []
    with pytest.raises(NotAllowed):
        services.set_recognition(organizer, other, group, True)
    services.set_recognition(organizer, market, group, True)
    services.set_recognition(organizer, market, group, True)  # twice is once
    db.session.commit()
    assert _pgs(membership.producer_id, market_id=market.id)
    assert _pgs(membership.producer_id, market_id=other.id) == []
    services.set_recognition(organizer, market, group, False)
    db.session.commit()
    assert _pgs(membership.producer_id, market_id=market.id) == []


def test_a_groups_certificate_is_not_edited_or_verified_by_hand(ctx):
    group = make_group()
    membership, _decision = approved_member(group)
    certificate = db.session.scalar(select(Certification).where(Certification.producer_id == membership.producer_id))
    with pytest.raises(NotAllowed):
        trust_services.update_certificate(certificate, membership.producer.user, scheme="organic_pgs",
                                          issuer="Me", valid_from=today(), valid_until=today() + timedelta(days=3000),
                                          stream=None)
    assert not trust_services.can_verify(UserFactory(roles=["admin"]), certificate)
