"""Test data for groups: a group with its coordinator and checklist, members, and a visit taken
through the real services (so trust's receivers issue the certificate as in production)."""
from __future__ import annotations

import itertools
from datetime import timedelta

from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.core.text import slugify
from marketplace.groups import services
from marketplace.groups.models import (
    Answer,
    Group,
    GroupCoordinator,
    GroupKind,
    Membership,
    MembershipStatus,
    Outcome,
    ReviewerRole,
    Standard,
    StandardItem,
    Visit,
)
from tests.factories import ProducerFactory, UserFactory, today

_names = itertools.count(1)


def make_group(name: str | None = None, *, coordinator: User | None = None, kind=GroupKind.ORGANIC_DISTRICT,
               items: int = 3, **fields) -> Group:
    """A group in standing with one coordinator and a checklist of `items` requirements (version 1)."""
    name = name or f"Group {next(_names)}"
    group = Group(name=name, slug=slugify(name), kind=kind, country="KG", region="Talas",
                  **fields)
    db.session.add(group)
    db.session.flush()
    coordinator = coordinator or UserFactory()
    db.session.add(GroupCoordinator(group_id=group.id, user_id=coordinator.id, shown_name="Coordinator"))
    if items:
        db.session.add(Standard(group_id=group.id, version=1, title=f"Standard of {name}",
                                items=[StandardItem(position=n, text=f"Requirement {n}") for n in range(1, items + 1)]))
    db.session.commit()
    return group


def coordinator_of(group: Group) -> User:
    return db.session.get(User, group.coordinators[0].user_id)


def add_member(group: Group, producer=None, status=MembershipStatus.ACTIVE, since_days: int = 30) -> Membership:
    producer = producer or ProducerFactory()
    membership = Membership(group_id=group.id, producer_id=producer.id, status=status,
                            member_since=utcnow() - timedelta(days=since_days)
                            if status in (MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED) else None)
    db.session.add(membership)
    db.session.commit()
    return membership


def scheduled_visit(group: Group, membership: Membership, reviewers: list[User] | None = None) -> Visit:
    """A visit scheduled by the coordinator with member reviewers (new members made if none given)."""
    if reviewers is None:
        reviewers = [add_member(group).producer.user]
    visit = services.schedule_visit(coordinator_of(group), membership, today(),
                                    [services.ReviewerChoice(ReviewerRole.MEMBER, user_id=user.id) for user in reviewers])
    db.session.commit()
    return visit


def signed_visit(group: Group, membership: Membership, reviewers: list[User] | None = None) -> Visit:
    """A visit every reviewer filled in (all "complies") and signed."""
    visit = scheduled_visit(group, membership, reviewers)
    items = db.session.get(Standard, visit.standard_id).items
    for reviewer in visit.reviewers:
        user = db.session.get(User, reviewer.user_id)
        for item in items:
            services.save_answer(user, visit, item.id, Answer.COMPLIES.value, "")
        services.sign_off(user, visit)
    db.session.commit()
    return visit


def approved_member(group: Group, producer=None, *, valid_days: int = 300, outcome=Outcome.APPROVED):
    """An active member whose visit the group approved (the PGS certificate issued by trust)."""
    membership = add_member(group, producer)
    visit = signed_visit(group, membership)
    conditions = {"conditions": "Plant a hedge", "conditions_due": today() + timedelta(days=30)} \
        if outcome == Outcome.APPROVED_WITH_CONDITIONS else {}
    decision = services.decide(coordinator_of(group), visit, outcome, "All good",
                               valid_until=today() + timedelta(days=valid_days), **conditions)
    db.session.commit()
    return membership, decision
