"""Read-only group queries: pages, dashboards, the public PGS record, and the standing trust reads."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask import g
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.models import Role, User
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.groups.models import (
    Decision,
    Group,
    GroupCoordinator,
    GroupStatus,
    MarketRecognition,
    Membership,
    MembershipEvent,
    MembershipStatus,
    Outcome,
    Standard,
    StandardItem,
    Visit,
    VisitAnswer,
    VisitPhoto,
    VisitReviewer,
    VisitStatus,
)
from marketplace.markets.models import Market, MarketOrganizer
from marketplace.producers.models import Producer

OPEN_VISITS = (VisitStatus.SCHEDULED, VisitStatus.SIGNED)
APPROVALS = (Outcome.APPROVED, Outcome.APPROVED_WITH_CONDITIONS)


# --- Standing: what trust, the catalog and the record read ------------------------------


def group_in_standing(day: date):
    """Conditions on Group: active, and its standing not lapsed on `day`."""
    return (Group.status == GroupStatus.ACTIVE, or_(Group.standing_until.is_(None), Group.standing_until >= day))


def member_in_standing(producer_id_column, group_id_column, day: date):
    """EXISTS: the producer is an active member of that group and the group stands on `day`.

    Trust adds this to its badge queries, so a group's badge goes by itself, at once,
    when the membership ends or is suspended, or when the group's standing lapses.
    """
    return (select(Membership.id).join(Group, Group.id == Membership.group_id)
            .where(Membership.producer_id == producer_id_column, Membership.group_id == group_id_column,
                   Membership.status == MembershipStatus.ACTIVE, *group_in_standing(day))
            .exists())


@dataclass(frozen=True)
class Standing:
    """A producer's good standing in one group: member since, and its PGS status."""

    group: Group
    member_since: date | None
    #: The last decision of this membership period (None before the first visit is decided).
    decision: Decision | None
    #: The PGS certificate's end, when the last decision approved and is still valid.
    pgs_until: date | None

    @property
    def conditions(self) -> str:
        return self.decision.conditions if self.decision is not None and self.pgs_until else ""


def standing_of(producer_ids, day: date | None = None) -> dict[int, list[Standing]]:
    """Per producer, the groups it is an active member of while the group stands, with its PGS
    status (two queries for any number of producers)."""
    ids = list(set(producer_ids))
    result: dict[int, list[Standing]] = defaultdict(list)
    if not ids:
        return result
    day = day or utcnow().date()
    memberships = list(db.session.execute(
        select(Membership, Group).join(Group, Group.id == Membership.group_id)
        .where(Membership.producer_id.in_(ids), Membership.status == MembershipStatus.ACTIVE,
               *group_in_standing(day))
        .order_by(Group.name)))
    if not memberships:
        return result
    latest: dict[tuple[int, int], Decision] = {}
    for decision in db.session.scalars(
            select(Decision).where(Decision.producer_id.in_(ids),
                                   Decision.group_id.in_({group.id for _m, group in memberships}))
            .order_by(Decision.decided_at.desc(), Decision.id.desc())):
        latest.setdefault((decision.producer_id, decision.group_id), decision)
    for membership, group in memberships:
        decision = latest.get((membership.producer_id, group.id))
        # A decision of an earlier membership (before a removal) does not carry over.
        if decision is not None and membership.member_since and decision.decided_at < membership.member_since:
            decision = None
        valid = (decision is not None and decision.outcome in APPROVALS and decision.valid_until is not None
                 and decision.valid_until >= day)
        result[membership.producer_id].append(
            Standing(group=group, member_since=membership.member_since.date() if membership.member_since else None,
                     decision=decision,
                     pgs_until=decision.valid_until if valid else None))
    return result


def shown_standing(producer_id: int) -> list[Standing]:
    """`standing_of` one producer for the page being rendered, read once per request: the catalog's
    header and trust's block of one producer page share it. Only for showing, never for rules."""
    cache = g.setdefault("groups_shown_standing", {})
    if producer_id not in cache:
        cache[producer_id] = standing_of([producer_id]).get(producer_id, [])
    return cache[producer_id]


def recognised_group_ids(market_id: int):
    """A select of the groups whose PGS decisions the market's organizers count as verified."""
    return select(MarketRecognition.group_id).where(MarketRecognition.market_id == market_id)


# --- Public pages -----------------------------------------------------------------------


def group_by_slug(slug: str) -> Group | None:
    return db.session.scalar(select(Group).where(Group.slug == slug)
                             .options(selectinload(Group.coordinators), selectinload(Group.photos)))


@dataclass
class GroupListItem:
    group: Group
    members: int
    in_standing: bool


def all_groups(day: date | None = None) -> list[GroupListItem]:
    """Every group with its number of members, groups in standing first."""
    day = day or utcnow().date()
    counts = dict(db.session.execute(
        select(Membership.group_id, func.count(Membership.id))
        .where(Membership.status == MembershipStatus.ACTIVE).group_by(Membership.group_id)).all())
    groups = list(db.session.scalars(select(Group).order_by(Group.name)))
    items = [GroupListItem(g, counts.get(g.id, 0), g.in_standing(day)) for g in groups]
    items.sort(key=lambda item: not item.in_standing)
    return items


@dataclass
class MemberRow:
    producer: Producer
    member_since: date | None
    pgs_until: date | None
    decision: Decision | None


def active_members(group: Group, day: date | None = None) -> list[MemberRow]:
    """The group's active members by name, each with its PGS status (two queries)."""
    day = day or utcnow().date()
    producers = list(db.session.scalars(
        select(Producer).join(Membership, Membership.producer_id == Producer.id)
        .where(Membership.group_id == group.id, Membership.status == MembershipStatus.ACTIVE)
        .options(joinedload(Producer.photo)).order_by(Producer.name)))
    standing = standing_of([p.id for p in producers], day) if group.in_standing(day) else {}
    rows = []
    for producer in producers:
        mine = next((s for s in standing.get(producer.id, []) if s.group.id == group.id), None)
        rows.append(MemberRow(producer, mine.member_since if mine else None, mine.pgs_until if mine else None,
                              mine.decision if mine else None))
    return rows


def standard_version(group: Group, version: int | None = None) -> Standard | None:
    query = select(Standard).where(Standard.group_id == group.id).options(selectinload(Standard.items))
    if version is None:
        query = query.order_by(Standard.version.desc()).limit(1)
    else:
        query = query.where(Standard.version == version)
    return db.session.scalar(query)


def standard_versions(group: Group) -> list[Standard]:
    return list(db.session.scalars(select(Standard).where(Standard.group_id == group.id)
                                   .order_by(Standard.version.desc())))


@dataclass
class RecordEntry:
    """One decided visit in a producer's public record."""

    decision: Decision
    visit: Visit
    standard: Standard
    #: (label or shown name) of each reviewer, as the group chose to show them.
    reviewers: list[VisitReviewer]
    counts: Counter = field(default_factory=Counter)


def record_of(group: Group, producer: Producer, day: date | None = None):
    """The public record behind a producer's PGS badge: membership, current status, every decision
    newest first with its visit, standard version, reviewers (as shown) and answer counts."""
    day = day or utcnow().date()
    membership = db.session.scalar(select(Membership).where(Membership.group_id == group.id,
                                                            Membership.producer_id == producer.id))
    if membership is None:
        return None
    decisions = list(db.session.scalars(
        select(Decision).where(Decision.group_id == group.id, Decision.producer_id == producer.id)
        .options(joinedload(Decision.visit).joinedload(Visit.standard),
                 joinedload(Decision.visit).selectinload(Visit.reviewers))
        .order_by(Decision.decided_at.desc(), Decision.id.desc())))
    counts: dict[int, Counter] = defaultdict(Counter)
    if decisions:
        for visit_id, answer, n in db.session.execute(
                select(VisitAnswer.visit_id, VisitAnswer.answer, func.count())
                .where(VisitAnswer.visit_id.in_([d.visit_id for d in decisions]))
                .group_by(VisitAnswer.visit_id, VisitAnswer.answer)):
            if answer is not None:
                counts[visit_id][answer.value] = n
    entries = [RecordEntry(d, d.visit, d.visit.standard, list(d.visit.reviewers), counts[d.visit_id])
               for d in decisions]
    standing = next((s for s in standing_of([producer.id], day).get(producer.id, []) if s.group.id == group.id), None)
    return {"membership": membership, "entries": entries, "standing": standing,
            "group_in_standing": group.in_standing(day)}


# --- The signed-in person's part -------------------------------------------------------


def coordinated_groups(user_id: int) -> list[Group]:
    return list(db.session.scalars(select(Group).join(GroupCoordinator, GroupCoordinator.group_id == Group.id)
                                   .where(GroupCoordinator.user_id == user_id).order_by(Group.name)))


def visits_to_review(user_id: int) -> list[tuple[Visit, VisitReviewer]]:
    """Open visits the user reviews, soonest first."""
    rows = db.session.execute(
        select(Visit, VisitReviewer).join(VisitReviewer, VisitReviewer.visit_id == Visit.id)
        .where(VisitReviewer.user_id == user_id, Visit.status.in_(OPEN_VISITS))
        .options(joinedload(Visit.group), joinedload(Visit.producer))
        .order_by(Visit.scheduled_for, Visit.id))
    return [(visit, reviewer) for visit, reviewer in rows]


def memberships_of(producer_id: int) -> list[Membership]:
    return list(db.session.scalars(select(Membership).where(Membership.producer_id == producer_id)
                                   .options(joinedload(Membership.group))
                                   .order_by(Membership.applied_at.desc())))


def groups_open_to(producer_id: int, day: date | None = None) -> list[Group]:
    """Groups in standing the producer may apply to (not already applied, member or suspended)."""
    day = day or utcnow().date()
    taken = select(Membership.group_id).where(
        Membership.producer_id == producer_id,
        Membership.status.in_([MembershipStatus.APPLIED, MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED]))
    return list(db.session.scalars(select(Group).where(*group_in_standing(day), Group.id.notin_(taken))
                                   .order_by(Group.name)))


# --- The coordinator's dashboard --------------------------------------------------------


@dataclass
class MembershipRow:
    membership: Membership
    open_visit: Visit | None
    last_decision: Decision | None


def dashboard(group: Group) -> dict:
    """Applications, members (active and suspended) with their visits, and the visits in progress."""
    memberships = list(db.session.scalars(
        select(Membership).where(Membership.group_id == group.id,
                                 Membership.status.in_([MembershipStatus.APPLIED, MembershipStatus.ACTIVE,
                                                        MembershipStatus.SUSPENDED]))
        .options(joinedload(Membership.producer).joinedload(Producer.user).lazyload(User.role_rows))
        .order_by(Membership.next_visit_due.is_(None), Membership.next_visit_due, Membership.applied_at)))
    ids = [m.id for m in memberships]
    open_visits = {v.membership_id: v for v in db.session.scalars(
        select(Visit).where(Visit.membership_id.in_(ids), Visit.status.in_(OPEN_VISITS)))} if ids else {}
    last: dict[int, Decision] = {}
    if ids:
        for decision, membership_id in db.session.execute(
                select(Decision, Visit.membership_id).join(Visit, Visit.id == Decision.visit_id)
                .where(Visit.membership_id.in_(ids)).order_by(Decision.decided_at.desc(), Decision.id.desc())):
            last.setdefault(membership_id, decision)
    rows = [MembershipRow(m, open_visits.get(m.id), last.get(m.id)) for m in memberships]
    return {
        "applications": [r for r in rows if r.membership.status == MembershipStatus.APPLIED],
        "members": [r for r in rows if r.membership.status != MembershipStatus.APPLIED],
        "visits": list(db.session.scalars(
            select(Visit).where(Visit.group_id == group.id, Visit.status.in_(OPEN_VISITS))
            .options(joinedload(Visit.producer), selectinload(Visit.reviewers).joinedload(VisitReviewer.user))
            .order_by(Visit.scheduled_for))),
        "decided": list(db.session.scalars(
            select(Decision).where(Decision.group_id == group.id)
            .options(joinedload(Decision.visit).joinedload(Visit.producer), joinedload(Decision.decided_by))
            .order_by(Decision.decided_at.desc()).limit(10))),
    }


def membership_history(membership_id: int) -> list[MembershipEvent]:
    return list(db.session.scalars(select(MembershipEvent).where(MembershipEvent.membership_id == membership_id)
                                   .options(joinedload(MembershipEvent.actor))
                                   .order_by(MembershipEvent.at.desc(), MembershipEvent.id.desc())))


def candidate_reviewers(group: Group, exclude_user_id: int) -> list[tuple[User, Producer]]:
    """Active members' users who may review a farm (everyone but its owner)."""
    return [(user, producer) for user, producer in db.session.execute(
        select(User, Producer).join(Producer, Producer.user_id == User.id)
        .join(Membership, Membership.producer_id == Producer.id)
        .where(Membership.group_id == group.id, Membership.status == MembershipStatus.ACTIVE,
               User.id != exclude_user_id, User.active.is_(True))
        .options(selectinload(User.role_rows))
        .order_by(Producer.name))]


# --- A visit ---------------------------------------------------------------------------


@dataclass
class VisitSheet:
    visit: Visit
    items: list[StandardItem]
    answers: dict[int, VisitAnswer]
    photos: dict[int, list[VisitPhoto]]

    @property
    def answered(self) -> int:
        return sum(1 for a in self.answers.values() if a.answer is not None)


def visit_sheet(visit: Visit) -> VisitSheet:
    """The checklist of a visit with its answers and photos (three queries)."""
    items = list(db.session.scalars(select(StandardItem).where(StandardItem.standard_id == visit.standard_id)
                                    .order_by(StandardItem.position)))
    answers = {a.item_id: a for a in db.session.scalars(select(VisitAnswer).where(VisitAnswer.visit_id == visit.id))}
    photos: dict[int, list[VisitPhoto]] = defaultdict(list)
    for photo in db.session.scalars(select(VisitPhoto).where(VisitPhoto.visit_id == visit.id)
                                    .options(joinedload(VisitPhoto.image)).order_by(VisitPhoto.id)):
        photos[photo.item_id].append(photo)
    return VisitSheet(visit, items, answers, photos)


def visit_with_people(visit_id: int) -> Visit | None:
    return db.session.scalar(select(Visit).where(Visit.id == visit_id)
                             .options(joinedload(Visit.group), joinedload(Visit.producer),
                                      joinedload(Visit.standard),
                                      selectinload(Visit.reviewers).joinedload(VisitReviewer.user)))


# --- Markets ---------------------------------------------------------------------------


def organised_markets(user) -> list[Market]:
    query = select(Market).order_by(Market.name)
    if not user.has_role(Role.ADMIN):
        query = query.join(MarketOrganizer, MarketOrganizer.market_id == Market.id).where(
            MarketOrganizer.user_id == user.id)
    return list(db.session.scalars(query))


def recognitions(market_ids) -> set[tuple[int, int]]:
    ids = list(market_ids)
    if not ids:
        return set()
    return set(db.session.execute(select(MarketRecognition.market_id, MarketRecognition.group_id)
                                  .where(MarketRecognition.market_id.in_(ids))).all())


def verification_at_market(market_id: int, producer_ids, day: date | None = None) -> dict[int, list[tuple]]:
    """Per producer, (standing, recognised here?) for each group it stands in with a valid PGS."""
    recognised = set(db.session.scalars(recognised_group_ids(market_id)))
    result: dict[int, list[tuple]] = defaultdict(list)
    for producer_id, standings in standing_of(producer_ids, day).items():
        for standing in standings:
            if standing.pgs_until:
                result[producer_id].append((standing, standing.group.id in recognised))
    return result
