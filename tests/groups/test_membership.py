"""Membership: a producer applies, the group's coordinators (only they) accept, refuse, suspend,
reinstate or remove; every change is recorded with who and when."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.core.errors import InvalidState, NotAllowed
from marketplace.core.extensions import db
from marketplace.groups import services
from marketplace.groups.models import GroupStatus, MembershipEvent, MembershipStatus
from tests.factories import ProducerFactory, UserFactory, today
from tests.groups.helpers import add_member, coordinator_of, make_group


def test_a_producer_applies_and_the_coordinators_are_emailed(ctx, outbox):
    group = make_group("Talas")
    producer = ProducerFactory()
    membership = services.apply_to_group(producer, producer.user, group, "Beans since 1998")
    db.session.commit()
    assert membership.status == MembershipStatus.APPLIED and membership.message == "Beans since 1998"
    mails = outbox(coordinator_of(group).email)
    assert len(mails) == 1 and producer.name in mails[0].body_text
    with pytest.raises(services.GroupError):
        services.apply_to_group(producer, producer.user, group)  # already applied


def test_only_the_owner_applies_for_a_producer(ctx):
    group, producer = make_group(), ProducerFactory()
    with pytest.raises(NotAllowed):
        services.apply_to_group(producer, UserFactory(), group)


def test_a_group_out_of_standing_takes_no_members(ctx):
    group = make_group(status=GroupStatus.SUSPENDED)
    producer = ProducerFactory()
    with pytest.raises(services.GroupError):
        services.apply_to_group(producer, producer.user, group)


def test_accepting_makes_a_member_with_a_first_visit_due_and_records_who_and_when(ctx, outbox):
    group = make_group()
    membership = add_member(group, status=MembershipStatus.APPLIED)
    coordinator = coordinator_of(group)
    services.accept_member(coordinator, membership)
    db.session.commit()
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.member_since.date() == today() and membership.next_visit_due == today()
    assert membership.decided_by_id == coordinator.id and membership.decided_at is not None
    event = db.session.scalars(select(MembershipEvent).where(MembershipEvent.membership_id == membership.id)).all()
    assert [(e.status, e.actor_id) for e in event] == [(MembershipStatus.ACTIVE, coordinator.id)]
    assert outbox(membership.producer.user.email)


@pytest.mark.parametrize("who", ["stranger", "other_coordinator", "the_producer", "admin"])
def test_only_the_groups_coordinators_decide_on_its_members(ctx, who):
    group, other = make_group(), make_group()
    membership = add_member(group, status=MembershipStatus.APPLIED)
    actor = {"stranger": UserFactory(), "other_coordinator": coordinator_of(other),
             "the_producer": membership.producer.user, "admin": UserFactory(roles=["admin"])}[who]
    for action in (lambda: services.accept_member(actor, membership),
                   lambda: services.refuse_member(actor, membership, "no"),
                   lambda: services.remove_member(actor, membership, "no")):
        with pytest.raises(NotAllowed):
            action()
    db.session.rollback()
    assert db.session.get(type(membership), membership.id).status == MembershipStatus.APPLIED


def test_a_coordinator_does_not_accept_their_own_farm(ctx):
    group = make_group()
    coordinator = coordinator_of(group)
    own = ProducerFactory(user=coordinator)
    membership = add_member(group, own, status=MembershipStatus.APPLIED)
    with pytest.raises(NotAllowed):
        services.accept_member(coordinator, membership)


def test_the_whole_life_of_a_membership_with_reasons(ctx):
    group = make_group()
    coordinator = coordinator_of(group)
    membership = add_member(group, status=MembershipStatus.APPLIED)
    with pytest.raises(services.GroupError):
        services.refuse_member(coordinator, membership, "  ")  # a refusal says why
    services.accept_member(coordinator, membership)
    services.suspend_member(coordinator, membership, "Sprayed the orchard")
    assert membership.reason == "Sprayed the orchard"
    services.reinstate_member(coordinator, membership)
    services.remove_member(coordinator, membership, "Left farming")
    db.session.commit()
    assert membership.status == MembershipStatus.REMOVED and membership.next_visit_due is None
    statuses = db.session.scalars(select(MembershipEvent.status).where(MembershipEvent.membership_id == membership.id)
                                  .order_by(MembershipEvent.id)).all()
    assert statuses == [MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED, MembershipStatus.ACTIVE,
                        MembershipStatus.REMOVED]
    # A removed producer may apply again; the coordinators decide anew.
    producer = membership.producer
    services.apply_to_group(producer, producer.user, group)
    assert membership.status == MembershipStatus.APPLIED and membership.member_since is None


def test_a_change_from_a_state_that_no_longer_holds_is_refused_once(ctx):
    group = make_group()
    coordinator = coordinator_of(group)
    membership = add_member(group, status=MembershipStatus.APPLIED)
    services.accept_member(coordinator, membership)
    with pytest.raises(InvalidState):
        services.accept_member(coordinator, membership)  # a double click
    with pytest.raises(InvalidState):
        services.reinstate_member(coordinator, membership)


def test_a_producer_leaves_and_only_their_own_membership(ctx):
    group = make_group()
    membership = add_member(group)
    other = ProducerFactory()
    with pytest.raises(NotAllowed):
        services.leave_group(other, other.user, membership)
    producer = membership.producer
    services.leave_group(producer, producer.user, membership)
    assert membership.status == MembershipStatus.REMOVED


def test_admins_create_groups_and_name_coordinators_and_nobody_else(ctx):
    admin, someone = UserFactory(roles=["admin"]), UserFactory()
    with pytest.raises(NotAllowed):
        services.create_group(someone, name="Naryn PGS", kind="pgs_group", country="KG")
    group = services.create_group(admin, name="Naryn PGS", kind="pgs_group", country="kg", region="Naryn")
    assert group.slug == "naryn-pgs" and group.country == "KG"
    with pytest.raises(services.GroupError):
        services.create_group(admin, name="naryn pgs", kind="pgs_group", country="KG")
    with pytest.raises(NotAllowed):
        services.add_coordinator(someone, group, someone.email)
    with pytest.raises(services.GroupError):
        services.add_coordinator(admin, group, "nobody@example.test")
    services.add_coordinator(admin, group, someone.email.upper(), "Асель")
    assert services.is_coordinator(someone, group)
    with pytest.raises(services.GroupError):
        services.remove_coordinator(admin, group, someone.id)  # the last one stays
