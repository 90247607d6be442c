"""Group rules: who runs a group, who belongs to it, its standard, farm visits and decisions.

Coordinators are a role scoped to one group (GroupCoordinator rows), not a site-wide role:
every rule below asks "does this user coordinate *this* group?". Membership changes and
visit states move with one conditional UPDATE each, so two coordinators pressing the same
button at once do it once. The group's badges and the trust score follow in trust, which
listens to this feature's signals (groups/signals.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Role, User, normalize_email
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidState, NotAllowed, NotFound
from marketplace.core.extensions import db
from marketplace.core.text import slugify
from marketplace.groups.labels import membership_label
from marketplace.groups.models import (
    Answer,
    Decision,
    Group,
    GroupCoordinator,
    GroupKind,
    GroupPhoto,
    GroupStatus,
    MarketRecognition,
    Membership,
    MembershipEvent,
    MembershipStatus,
    Outcome,
    ReviewerRole,
    Standard,
    StandardItem,
    Visit,
    VisitAnswer,
    VisitPhoto,
    VisitReviewer,
    VisitStatus,
)
from marketplace.groups.signals import (
    group_standing_changed,
    membership_changed,
    visit_decided,
)
from marketplace.markets.models import Market
from marketplace.markets.services import can_manage
from marketplace.media.services import InvalidUpload, delete_image, save_image
from marketplace.notifications.services import queue_email
from marketplace.producers.models import Producer

MAX_GROUP_PHOTOS = 12
MAX_ITEM_PHOTOS = 5
MAX_STANDARD_ITEMS = 100
MAX_REVIEWERS = 8
NOTE_MAX = 1000
REASONS_MAX = 4000
#: Coordinators and the producer are reminded this many days before a visit is due.
VISIT_REMINDER_DAYS = 30
#: A renewal visit falls due this long before the certificate ends, so it can be renewed in time.
RENEWAL_LEAD_DAYS = 30
#: A certificate is valid at most this long after its decision.
MAX_VALIDITY_MONTHS = 36
#: Visits can be recorded this long after they happened, and scheduled this far ahead.
VISIT_PAST_DAYS = 60
VISIT_AHEAD_DAYS = 366
_UPLOAD_KEY = re.compile(r"^[A-Za-z0-9-]{8,40}$")


class GroupError(DomainError):
    """A group rule refused the action; `field` names the form field it is about."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message, field=field)
        self.field = field


# --- Who may do what ------------------------------------------------------------------


def is_coordinator(user, group: Group) -> bool:
    """Whether the user coordinates this group (the role is scoped to the group)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.get(GroupCoordinator, (group.id, user.id)) is not None


def _require_coordinator(actor: User, group: Group) -> None:
    if not is_coordinator(actor, group):
        raise NotAllowed(str(_l("Only the group's coordinators can do this.")))


def _require_admin(actor: User) -> None:
    if actor is None or not actor.has_role(Role.ADMIN):
        raise NotAllowed(str(_l("Only admins can do this.")))


def _not_own_farm(actor: User, producer_id: int) -> None:
    if db.session.scalar(select(Producer.user_id).where(Producer.id == producer_id)) == actor.id:
        raise NotAllowed(str(_l("Nobody decides on their own farm: another coordinator must.")))


def _active_user(email: str, field: str) -> User:
    user = db.session.scalar(select(User).where(User.email == normalize_email(email or "")))
    if user is None or not user.active:
        raise GroupError(str(_l("No account uses that email. Ask them to register first.")), field)
    return user


def _email(user: User, template: str, subject, dedupe_key: str, **context) -> None:
    queue_email(user.email, template, subject, locale=user.locale, dedupe_key=dedupe_key, user=user, **context)


# --- Groups (admins create them; coordinators run their page) ---------------------------


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise GroupError(str(_l("Enter the group's name.")), "name")
    if len(name) > 120:
        raise GroupError(str(_l("Keep the name under %(n)s characters.", n=120)), "name")
    return name


def _unique_slug(name: str, group_id: int | None = None) -> str:
    base = slugify(name)[:120] or "group"
    slug, n = base, 2
    while db.session.scalar(select(Group.id).where(Group.slug == slug, Group.id != (group_id or 0))) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_group(actor: User, *, name: str, kind, country: str, region: str = "", story: str = "",
                 standing_until: date | None = None, validity_months: int = 12) -> Group:
    """An admin creates a group; its coordinators are added next."""
    _require_admin(actor)
    name = _clean_name(name)
    if db.session.scalar(select(Group.id).where(func.lower(Group.name) == name.lower())) is not None:
        raise GroupError(str(_l("A group with this name exists already.")), "name")
    _check_validity_months(validity_months)
    group = Group(name=name, slug=_unique_slug(name), kind=GroupKind(getattr(kind, "value", kind)),
                  country=(country or "KG").upper()[:2], region=(region or "").strip()[:120],
                  story=(story or "").strip(), standing_until=standing_until, validity_months=validity_months,
                  created_by_id=actor.id)
    db.session.add(group)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise GroupError(str(_l("A group with this name exists already.")), "name") from None
    return group


def _check_validity_months(months: int) -> None:
    if not isinstance(months, int) or not 1 <= months <= MAX_VALIDITY_MONTHS:
        raise GroupError(str(_l("A certificate is valid from 1 to %(n)s months.", n=MAX_VALIDITY_MONTHS)),
                         "validity_months")


def set_standing(actor: User, group: Group, *, status, standing_until: date | None) -> Group:
    """An admin suspends a group or sets until when it stands; its badges follow at once."""
    _require_admin(actor)
    group.status = GroupStatus(getattr(status, "value", status))
    group.standing_until = standing_until
    db.session.flush()
    group_standing_changed.send(group, actor=actor)
    return group


def add_coordinator(actor: User, group: Group, email: str, shown_name: str = "") -> GroupCoordinator:
    """An admin makes an existing user a coordinator of this group (of this group only)."""
    _require_admin(actor)
    user = _active_user(email, "email")
    if db.session.get(GroupCoordinator, (group.id, user.id)) is not None:
        raise GroupError(str(_l("%(name)s already coordinates this group.", name=user.name)), "email")
    link = GroupCoordinator(group_id=group.id, user_id=user.id, added_by_id=actor.id,
                            shown_name=(shown_name or "").strip()[:80] or user.name[:80])
    db.session.add(link)
    db.session.flush()
    db.session.expire(group, ["coordinators"])
    return link


def remove_coordinator(actor: User, group: Group, user_id: int) -> None:
    """An admin takes a coordinator off the group; the last one stays."""
    _require_admin(actor)
    link = db.session.get(GroupCoordinator, (group.id, user_id))
    if link is None:
        raise NotFound(str(_l("That person does not coordinate this group.")))
    count = db.session.scalar(select(func.count()).select_from(GroupCoordinator)
                              .where(GroupCoordinator.group_id == group.id))
    if count <= 1:
        raise GroupError(str(_l("A group needs at least one coordinator.")))
    db.session.delete(link)
    db.session.flush()
    db.session.expire(group, ["coordinators"])


def update_group_page(actor: User, group: Group, *, region: str, story: str, lat: float | None,
                      lon: float | None, radius_km: int | None, validity_months: int) -> Group:
    """A coordinator edits what the group's page says: region, story, the map area."""
    _require_coordinator(actor, group)
    if (lat is None) != (lon is None):
        raise GroupError(str(_l("Enter both latitude and longitude, or neither.")), "lat")
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise GroupError(str(_l("Enter a point on the map.")), "lat")
    if radius_km is not None and not 1 <= radius_km <= 300:
        raise GroupError(str(_l("Enter a radius from 1 to 300 km.")), "radius_km")
    if lat is not None and radius_km is None:
        raise GroupError(str(_l("Enter how far the area reaches.")), "radius_km")
    _check_validity_months(validity_months)
    group.region = (region or "").strip()[:120]
    group.story = (story or "").strip()[:8000]
    # Two decimals: a district's centre, never a farm.
    group.lat = None if lat is None else round(lat, 2)
    group.lon = None if lon is None else round(lon, 2)
    group.radius_km = radius_km if lat is not None else None
    group.validity_months = validity_months
    db.session.flush()
    return group


def add_group_photo(actor: User, group: Group, stream) -> GroupPhoto:
    _require_coordinator(actor, group)
    count = db.session.scalar(select(func.count()).select_from(GroupPhoto).where(GroupPhoto.group_id == group.id))
    if count >= MAX_GROUP_PHOTOS:
        raise GroupError(str(_l("A group shows up to %(n)s photos; remove one first.", n=MAX_GROUP_PHOTOS)), "photo")
    image = _image(stream, actor, group.name)
    photo = GroupPhoto(group_id=group.id, image_id=image.id, position=count)
    db.session.add(photo)
    db.session.flush()
    db.session.expire(group, ["photos"])
    return photo


def _image(stream, actor: User, alt: str):
    """The upload as a stored image; what is not an image we accept is refused beside the photo field."""
    try:
        return save_image(stream, actor.id, alt=alt[:200])
    except InvalidUpload as exc:
        raise GroupError(exc.message, "photo") from None


def remove_group_photo(actor: User, group: Group, photo_id: int) -> None:
    _require_coordinator(actor, group)
    photo = db.session.scalar(select(GroupPhoto).where(GroupPhoto.id == photo_id, GroupPhoto.group_id == group.id))
    if photo is None:
        raise NotFound()
    image = photo.image
    db.session.delete(photo)
    delete_image(image)
    db.session.expire(group, ["photos"])


# --- The standard: a versioned checklist ---------------------------------------------


def parse_items(text: str) -> list[tuple[str, str]]:
    """Checklist lines: one requirement a line, optional guidance after a vertical bar."""
    items = []
    for line in (text or "").splitlines():
        requirement, _bar, guidance = line.partition("|")
        requirement, guidance = " ".join(requirement.split()), " ".join(guidance.split())
        if requirement:
            items.append((requirement, guidance))
    return items


def current_standard(group_id: int) -> Standard | None:
    """The group's newest version of its standard (None before it has one)."""
    return db.session.scalar(select(Standard).where(Standard.group_id == group_id)
                             .order_by(Standard.version.desc()).limit(1))


def save_standard(actor: User, group: Group, title: str, items: list[tuple[str, str]]) -> Standard:
    """Save the checklist as the group's next version; the old versions stay as they were,
    with the visits that used them. Saving what is already the current version changes nothing."""
    _require_coordinator(actor, group)
    title = " ".join((title or "").split())
    if not title:
        raise GroupError(str(_l("Name the standard.")), "title")
    if len(title) > 160:
        raise GroupError(str(_l("Keep the name under %(n)s characters.", n=160)), "title")
    if not items:
        raise GroupError(str(_l("Write at least one requirement.")), "items")
    if len(items) > MAX_STANDARD_ITEMS:
        raise GroupError(str(_l("A checklist has at most %(n)s requirements.", n=MAX_STANDARD_ITEMS)), "items")
    for text, guidance in items:
        if len(text) > 500 or len(guidance) > 1000:
            raise GroupError(str(_l("Keep each requirement under 500 characters and its guidance under 1000.")),
                             "items")
    current = current_standard(group.id)
    if current is not None and current.title == title and [(i.text, i.guidance) for i in current.items] == items:
        return current
    standard = Standard(group_id=group.id, version=(current.version + 1) if current else 1, title=title,
                        created_by_id=actor.id,
                        items=[StandardItem(position=n, text=text, guidance=guidance)
                               for n, (text, guidance) in enumerate(items, start=1)])
    db.session.add(standard)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # Two coordinators saved at once: the unique (group, version) let one through.
        raise GroupError(str(_l("Another coordinator saved the standard just now. Look at it and save again.")),
                         "items") from None
    return standard


# --- Membership -----------------------------------------------------------------------


def _lock_membership(membership: Membership) -> Membership:
    """Take the membership's row (NO KEY UPDATE: its events may still point at it) and read it again.
    What changes a farm's visits takes it first — scheduling, deciding, removing — so two of them
    at once go one after the other: one visit in progress, no deadlock between visit and membership."""
    db.session.execute(select(Membership.id).where(Membership.id == membership.id).with_for_update(key_share=True))
    db.session.refresh(membership)
    return membership


def _record(membership: Membership, status: MembershipStatus, actor: User | None, reason: str = "") -> None:
    db.session.add(MembershipEvent(membership_id=membership.id, status=status,
                                   actor_id=actor.id if actor else None, reason=reason))


def _move_membership(membership: Membership, from_states, to_state: MembershipStatus, actor: User,
                     reason: str = "", **values) -> None:
    """The one conditional UPDATE of a membership change, recorded with who, when and why."""
    previous = membership.status
    now = utcnow()
    result = db.session.execute(
        update(Membership).where(Membership.id == membership.id, Membership.status.in_(list(from_states)))
        .values(status=to_state, decided_by_id=actor.id, decided_at=now, reason=reason, **values)
        .execution_options(synchronize_session=False))
    db.session.refresh(membership)
    if result.rowcount != 1:
        raise InvalidState(str(_l("This membership is now “%(status)s”; it cannot be changed that way.",
                                  status=membership_label(membership.status))))
    _record(membership, to_state, actor, reason)
    db.session.flush()
    membership_changed.send(membership, previous=previous, actor=actor)


def _reason(reason: str, required: bool) -> str:
    reason = " ".join((reason or "").split())
    if required and not reason:
        raise GroupError(str(_l("Say why; the producer is told.")), "reason")
    return reason[:255]


def apply_to_group(producer: Producer, actor: User, group: Group, message: str = "") -> Membership:
    """The producer asks to join the group; its coordinators are emailed."""
    if actor is None or producer.user_id != actor.id:
        raise NotAllowed()
    if not group.in_standing(utcnow().date()):
        raise GroupError(str(_l("This group does not take members at the moment.")))
    message = (message or "").strip()
    if len(message) > 1000:
        raise GroupError(str(_l("Keep the message under %(n)s characters.", n=1000)), "message")
    membership = db.session.scalar(select(Membership).where(Membership.group_id == group.id,
                                                            Membership.producer_id == producer.id))
    if membership is None:
        membership = Membership(group_id=group.id, producer_id=producer.id, message=message)
        try:
            with db.session.begin_nested():
                db.session.add(membership)
        except IntegrityError:
            raise GroupError(str(_l("You have already applied to this group."))) from None
        _record(membership, MembershipStatus.APPLIED, actor)
        db.session.flush()
        membership_changed.send(membership, previous=None, actor=actor)
    else:
        if membership.status in (MembershipStatus.APPLIED, MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED):
            raise GroupError(str(_l("You are already in this group’s list: “%(status)s”.",
                                    status=membership_label(membership.status))))
        _move_membership(membership, [MembershipStatus.REMOVED, MembershipStatus.REFUSED], MembershipStatus.APPLIED,
                         actor, message=message, applied_at=utcnow(), member_since=None)
    for link in group.coordinators:
        _email(link.user, "group_application", _l("A producer wants to join your group"),
               f"group-application-{membership.id}-{membership.applied_at.isoformat()}-{link.user_id}",
               group=group, producer=producer, membership=membership)
    return membership


def _tell_producer(membership: Membership, action: str) -> None:
    producer = membership.producer
    _email(producer.user, "group_membership", _l("Your membership of %(group)s", group=membership.group.name),
           f"membership-{membership.id}-{action}-{membership.decided_at.isoformat()}",
           group=membership.group, producer=producer, membership=membership, action=action)


def accept_member(actor: User, membership: Membership, today: date | None = None) -> Membership:
    """A coordinator accepts an application: the producer is a member and its first visit is due."""
    _require_coordinator(actor, membership.group)
    _not_own_farm(actor, membership.producer_id)
    today = today or utcnow().date()
    _move_membership(membership, [MembershipStatus.APPLIED], MembershipStatus.ACTIVE, actor,
                     member_since=utcnow(), next_visit_due=today, reminder_sent_for=None)
    _tell_producer(membership, "accepted")
    return membership


def refuse_member(actor: User, membership: Membership, reason: str) -> Membership:
    _require_coordinator(actor, membership.group)
    _move_membership(membership, [MembershipStatus.APPLIED], MembershipStatus.REFUSED, actor,
                     _reason(reason, True))
    _tell_producer(membership, "refused")
    return membership


def suspend_member(actor: User, membership: Membership, reason: str) -> Membership:
    """The member's badges hide at once; they come back if the member is reinstated."""
    _require_coordinator(actor, membership.group)
    _move_membership(membership, [MembershipStatus.ACTIVE], MembershipStatus.SUSPENDED, actor,
                     _reason(reason, True))
    _tell_producer(membership, "suspended")
    return membership


def reinstate_member(actor: User, membership: Membership) -> Membership:
    _require_coordinator(actor, membership.group)
    _not_own_farm(actor, membership.producer_id)
    _move_membership(membership, [MembershipStatus.SUSPENDED], MembershipStatus.ACTIVE, actor)
    _tell_producer(membership, "reinstated")
    return membership


def remove_member(actor: User, membership: Membership, reason: str) -> Membership:
    """The membership ends: the group's badge and PGS certificate go at once; open visits are cancelled."""
    _require_coordinator(actor, membership.group)
    _move_membership(membership, [MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED], MembershipStatus.REMOVED,
                     actor, _reason(reason, True), next_visit_due=None)
    _cancel_open_visits(membership)
    _tell_producer(membership, "removed")
    return membership


def leave_group(producer: Producer, actor: User, membership: Membership) -> Membership:
    """The producer leaves (or withdraws an application); the badge goes at once."""
    if actor is None or producer.user_id != actor.id or membership.producer_id != producer.id:
        raise NotAllowed()
    _move_membership(membership, [MembershipStatus.APPLIED, MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED],
                     MembershipStatus.REMOVED, actor, str(_l("Left the group")), next_visit_due=None)
    _cancel_open_visits(membership)
    return membership


def _cancel_open_visits(membership: Membership) -> None:
    db.session.execute(update(Visit).where(Visit.membership_id == membership.id,
                                           Visit.status.in_([VisitStatus.SCHEDULED, VisitStatus.SIGNED]))
                       .values(status=VisitStatus.CANCELLED).execution_options(synchronize_session=False))


# --- Visits ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewerChoice:
    """A reviewer the coordinator picked: a member's user id, or the email of a consumer or adviser."""

    role: ReviewerRole
    user_id: int | None = None
    email: str = ""
    shown_name: str = ""


def _reviewer_user(group: Group, choice: ReviewerChoice) -> User:
    if choice.role == ReviewerRole.MEMBER:
        # Only producers who are active members of *this* group review as members.
        user = db.session.scalar(
            select(User).join(Producer, Producer.user_id == User.id)
            .join(Membership, Membership.producer_id == Producer.id)
            .where(User.id == (choice.user_id or 0), User.active.is_(True), Membership.group_id == group.id,
                   Membership.status == MembershipStatus.ACTIVE))
        if user is None:
            raise GroupError(str(_l("Choose reviewers among the group's members.")), "members")
        return user
    return _active_user(choice.email, "consumer_email" if choice.role == ReviewerRole.CONSUMER else "adviser_email")


def schedule_visit(actor: User, membership: Membership, scheduled_for: date, reviewers: list[ReviewerChoice],
                   today: date | None = None) -> Visit:
    """A coordinator schedules a visit of a member's farm with its reviewers, against the
    group's current standard. A reviewer never reviews their own farm."""
    group = membership.group
    _require_coordinator(actor, group)
    today = today or utcnow().date()
    _lock_membership(membership)
    if membership.status != MembershipStatus.ACTIVE:
        raise GroupError(str(_l("Only members are visited; accept the application first.")))
    standard = current_standard(group.id)
    if standard is None or not standard.items:
        raise GroupError(str(_l("Write the group's standard first: the visit checks the farm against it.")))
    if not today - timedelta(days=VISIT_PAST_DAYS) <= scheduled_for <= today + timedelta(days=VISIT_AHEAD_DAYS):
        raise GroupError(str(_l("Choose a date within the next year.")), "scheduled_for")
    if not reviewers:
        raise GroupError(str(_l("Choose at least one reviewer.")), "members")
    if len(reviewers) > MAX_REVIEWERS:
        raise GroupError(str(_l("A visit has at most %(n)s reviewers.", n=MAX_REVIEWERS)), "members")
    farm_owner_id = membership.producer.user_id
    people: dict[int, tuple[User, ReviewerChoice]] = {}
    for choice in reviewers:
        user = _reviewer_user(group, choice)
        if user.id == farm_owner_id:
            raise GroupError(str(_l("A producer cannot review their own farm.")),
                             "members" if choice.role == ReviewerRole.MEMBER else
                             "consumer_email" if choice.role == ReviewerRole.CONSUMER else "adviser_email")
        if user.id in people:
            raise GroupError(str(_l("%(name)s is chosen twice.", name=user.name)), "members")
        people[user.id] = (user, choice)
    open_visit = db.session.scalar(select(Visit.id).where(
        Visit.membership_id == membership.id, Visit.status.in_([VisitStatus.SCHEDULED, VisitStatus.SIGNED])))
    if open_visit is not None:
        raise GroupError(str(_l("This farm already has a visit in progress.")))
    visit = Visit(group_id=group.id, membership_id=membership.id, producer_id=membership.producer_id,
                  standard_id=standard.id, scheduled_for=scheduled_for, created_by_id=actor.id,
                  reviewers=[VisitReviewer(user_id=user.id, role=choice.role,
                                           shown_name=" ".join((choice.shown_name or "").split())[:80])
                             for user, choice in people.values()])
    db.session.add(visit)
    db.session.flush()
    producer = membership.producer
    for user, _choice in people.values():
        _email(user, "visit_scheduled", _l("You are a reviewer of a farm visit"), f"visit-reviewer-{visit.id}-{user.id}",
               group=group, producer=producer, visit=visit, reviewer=True)
    _email(producer.user, "visit_scheduled", _l("Your farm will be visited"), f"visit-producer-{visit.id}",
           group=group, producer=producer, visit=visit, reviewer=False)
    return visit


def cancel_visit(actor: User, visit: Visit) -> Visit:
    _require_coordinator(actor, visit.group)
    _move_visit(visit, [VisitStatus.SCHEDULED, VisitStatus.SIGNED], VisitStatus.CANCELLED)
    return visit


def _move_visit(visit: Visit, from_states, to_state: VisitStatus, **values) -> None:
    result = db.session.execute(
        update(Visit).where(Visit.id == visit.id, Visit.status.in_(list(from_states)))
        .values(status=to_state, **values).execution_options(synchronize_session=False))
    db.session.refresh(visit)
    if result.rowcount != 1:
        raise InvalidState(str(_l("This visit can no longer be changed.")))


def reviewer_of(visit: Visit, user) -> VisitReviewer | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(VisitReviewer).where(VisitReviewer.visit_id == visit.id,
                                                         VisitReviewer.user_id == user.id))


def _lock_visit(visit: Visit) -> None:
    """Take the visit's row (NO KEY UPDATE: answers and photos may still point at it) and read its
    state again. Filling in and signing then happen one after the other: without it, an answer
    changed while the last reviewer signed was saved after the visit became signed, taking back
    the signatures of a visit the group could already decide on."""
    db.session.execute(select(Visit.id).where(Visit.id == visit.id).with_for_update(key_share=True))
    db.session.refresh(visit, ["status", "signed_at"])


def _active_member(group_id: int, user_id: int) -> bool:
    return db.session.scalar(
        select(Membership.id).join(Producer, Producer.id == Membership.producer_id)
        .where(Membership.group_id == group_id, Producer.user_id == user_id,
               Membership.status == MembershipStatus.ACTIVE)) is not None


def _require_filling(actor: User, visit: Visit) -> VisitReviewer:
    reviewer = reviewer_of(visit, actor)
    if reviewer is None:
        raise NotAllowed(str(_l("Only the visit's reviewers fill in its checklist.")))
    if visit.producer.user_id == actor.id:
        raise NotAllowed(str(_l("A producer cannot review their own farm.")))
    if reviewer.role == ReviewerRole.MEMBER and not _active_member(visit.group_id, actor.id):
        # Chosen as an active member; suspended or removed since, they no longer speak for the group.
        raise GroupError(str(_l("Only active members of the group review as members. "
                                "A coordinator can schedule the visit again with other reviewers.")))
    _lock_visit(visit)
    if visit.status != VisitStatus.SCHEDULED:
        raise InvalidState(str(_CLOSED_VISIT[visit.status]))
    return reviewer


#: Why a visit takes no more answers or signatures, as its reviewer is told.
_CLOSED_VISIT = {
    VisitStatus.SIGNED: _l("Every reviewer has signed this visit; its answers are final."),
    VisitStatus.DECIDED: _l("The group has decided on this visit; its answers are final."),
    VisitStatus.CANCELLED: _l("This visit was cancelled: its answers are no longer saved."),
}


def _item_of(visit: Visit, item_id: int) -> StandardItem:
    item = db.session.scalar(select(StandardItem).where(StandardItem.id == item_id,
                                                        StandardItem.standard_id == visit.standard_id))
    if item is None:
        raise NotFound()
    return item


@dataclass(frozen=True)
class SavedAnswer:
    answer: VisitAnswer
    #: The change took back the sign-offs already given (they signed other answers).
    signatures_cleared: bool


def save_answer(actor: User, visit: Visit, item_id: int, answer: str | None, note: str) -> SavedAnswer:
    """Save one checklist item as it is answered (the phone sends each item on its own).

    Saving the same answer again changes nothing, so a retried request after a dropped
    connection is harmless. A change after a reviewer signed takes the signatures back.
    """
    _require_filling(actor, visit)
    item = _item_of(visit, item_id)
    try:
        value = Answer(answer) if answer else None
    except ValueError:
        raise GroupError(str(_l("Choose complies, does not comply or not applicable.")), "answer") from None
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise GroupError(str(_l("Keep the note under %(n)s characters.", n=NOTE_MAX)), "note")
    row = db.session.scalar(select(VisitAnswer).where(VisitAnswer.visit_id == visit.id,
                                                      VisitAnswer.item_id == item.id))
    if row is not None and row.answer == value and row.note == note:
        return SavedAnswer(row, False)
    if row is None:
        row = VisitAnswer(visit_id=visit.id, item_id=item.id, answer=value, note=note, updated_by_id=actor.id)
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:
            # Two reviewers' phones sent the same item at once: update the row the other made.
            row = db.session.scalar(select(VisitAnswer).where(VisitAnswer.visit_id == visit.id,
                                                              VisitAnswer.item_id == item.id))
    row.answer, row.note, row.updated_by_id, row.updated_at = value, note, actor.id, utcnow()
    cleared = db.session.execute(
        update(VisitReviewer).where(VisitReviewer.visit_id == visit.id, VisitReviewer.signed_off_at.is_not(None))
        .values(signed_off_at=None).execution_options(synchronize_session=False)).rowcount
    db.session.flush()
    return SavedAnswer(row, bool(cleared))


def add_visit_photo(actor: User, visit: Visit, item_id: int, stream, upload_key: str) -> VisitPhoto:
    """A photo for one item; sending the same upload key again returns the photo already stored."""
    _require_filling(actor, visit)
    item = _item_of(visit, item_id)
    if not _UPLOAD_KEY.match(upload_key or ""):
        raise GroupError(str(_l("The photo could not be sent; try again.")), "photo")
    existing = db.session.scalar(select(VisitPhoto).where(VisitPhoto.visit_id == visit.id,
                                                          VisitPhoto.upload_key == upload_key))
    if existing is not None:
        return existing
    count = db.session.scalar(select(func.count()).select_from(VisitPhoto)
                              .where(VisitPhoto.visit_id == visit.id, VisitPhoto.item_id == item.id))
    if count >= MAX_ITEM_PHOTOS:
        raise GroupError(str(_l("An item has at most %(n)s photos.", n=MAX_ITEM_PHOTOS)), "photo")
    image = _image(stream, actor, item.text)
    photo = VisitPhoto(visit_id=visit.id, item_id=item.id, image_id=image.id, upload_key=upload_key,
                       uploaded_by_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(photo)
    except IntegrityError:
        # The same upload arrived twice at once: keep the first (this one's files go with the rollback).
        delete_image(image)
        return db.session.scalar(select(VisitPhoto).where(VisitPhoto.visit_id == visit.id,
                                                          VisitPhoto.upload_key == upload_key))
    return photo


def remove_visit_photo(actor: User, visit: Visit, photo_id: int) -> None:
    _require_filling(actor, visit)
    photo = db.session.scalar(select(VisitPhoto).where(VisitPhoto.id == photo_id, VisitPhoto.visit_id == visit.id))
    if photo is None:
        raise NotFound()
    image = photo.image
    db.session.delete(photo)
    delete_image(image)


def unanswered_count(visit: Visit) -> int:
    answered = select(func.count()).select_from(VisitAnswer).where(VisitAnswer.visit_id == visit.id,
                                                                   VisitAnswer.answer.is_not(None))
    total = select(func.count()).select_from(StandardItem).where(StandardItem.standard_id == visit.standard_id)
    return db.session.scalar(total) - db.session.scalar(answered)


def sign_off(actor: User, visit: Visit) -> Visit:
    """A reviewer signs the answers; when the last one signs, the answers are final."""
    reviewer = _require_filling(actor, visit)
    missing = unanswered_count(visit)
    if missing:
        raise GroupError(str(_l("Answer every item before signing: %(n)s left.", n=missing)))
    now = utcnow()
    db.session.execute(update(VisitReviewer).where(VisitReviewer.id == reviewer.id,
                                                   VisitReviewer.signed_off_at.is_(None))
                       .values(signed_off_at=now).execution_options(synchronize_session=False))
    unsigned = db.session.scalar(select(func.count()).select_from(VisitReviewer)
                                 .where(VisitReviewer.visit_id == visit.id, VisitReviewer.signed_off_at.is_(None)))
    if unsigned == 0:
        try:
            _move_visit(visit, [VisitStatus.SCHEDULED], VisitStatus.SIGNED, signed_at=now)
        except InvalidState:
            pass  # the other last reviewer moved it at the same moment
    db.session.expire(visit, ["reviewers"])
    db.session.flush()
    return visit


# --- Decisions ------------------------------------------------------------------------


def default_valid_until(group: Group, today: date) -> date:
    return today + relativedelta(months=group.validity_months)


def decide(actor: User, visit: Visit, outcome, reasons: str, *, conditions: str = "",
           conditions_due: date | None = None, valid_until: date | None = None,
           today: date | None = None) -> Decision:
    """The group's decision on a signed visit, recorded with who and when. Only a coordinator
    records it, never on their own farm; an approval issues or renews the PGS certificate."""
    group = visit.group
    _require_coordinator(actor, group)
    _not_own_farm(actor, visit.producer_id)
    today = today or utcnow().date()
    try:
        outcome = Outcome(getattr(outcome, "value", outcome))
    except ValueError:
        raise GroupError(str(_l("Choose a decision.")), "outcome") from None
    reasons = (reasons or "").strip()
    if not reasons:
        raise GroupError(str(_l("Write the reasons for the decision.")), "reasons")
    if len(reasons) > REASONS_MAX:
        raise GroupError(str(_l("Keep the reasons under %(n)s characters.", n=REASONS_MAX)), "reasons")
    conditions = (conditions or "").strip()
    if outcome == Outcome.REFUSED:
        conditions, conditions_due, valid_until = "", None, None
    else:
        valid_until = valid_until or default_valid_until(group, today)
        if valid_until <= today:
            raise GroupError(str(_l("The certificate must be valid after today.")), "valid_until")
        if valid_until > today + relativedelta(months=MAX_VALIDITY_MONTHS):
            raise GroupError(str(_l("A certificate is valid at most %(n)s months.", n=MAX_VALIDITY_MONTHS)),
                             "valid_until")
    if outcome == Outcome.APPROVED_WITH_CONDITIONS:
        if not conditions:
            raise GroupError(str(_l("Write the conditions.")), "conditions")
        if len(conditions) > REASONS_MAX:
            raise GroupError(str(_l("Keep the conditions under %(n)s characters.", n=REASONS_MAX)), "conditions")
        if conditions_due is None or conditions_due <= today or conditions_due > valid_until:
            raise GroupError(str(_l("Set a deadline for the conditions, after today and within the validity.")),
                             "conditions_due")
    elif outcome == Outcome.APPROVED:
        conditions, conditions_due = "", None
    # The membership's row first, as a removal takes it (then the visits): a decision and a removal
    # at once go one after the other, never deadlocked, and a removal that came first is seen here —
    # a removal that comes second sees the certificate and ends it.
    membership = _lock_membership(db.session.get(Membership, visit.membership_id))
    if membership.status != MembershipStatus.ACTIVE:
        raise GroupError(str(_l("The producer is not an active member any more.")))
    if visit.status != VisitStatus.SIGNED:
        if visit.status == VisitStatus.DECIDED:
            raise InvalidState(str(_l("This visit was already decided.")))
        raise InvalidState(str(_l("The group decides once every reviewer has signed the visit.")))
    now = utcnow()
    _move_visit(visit, [VisitStatus.SIGNED], VisitStatus.DECIDED)
    decision = Decision(visit_id=visit.id, group_id=group.id, producer_id=visit.producer_id, outcome=outcome,
                        reasons=reasons, conditions=conditions, conditions_due=conditions_due,
                        valid_until=valid_until, decided_by_id=actor.id, decided_at=now)
    db.session.add(decision)
    db.session.flush()
    if outcome == Outcome.APPROVED:
        due = max(valid_until - timedelta(days=RENEWAL_LEAD_DAYS), today + timedelta(days=1))
    elif outcome == Outcome.APPROVED_WITH_CONDITIONS:
        due = conditions_due  # a follow-up visit checks the conditions
    else:
        due = None
    membership.next_visit_due, membership.reminder_sent_for = due, None
    db.session.flush()
    visit_decided.send(decision, actor=actor)
    producer = visit.producer
    _email(producer.user, "visit_decided", _l("The decision on your farm visit"), f"visit-decided-{decision.id}",
           group=group, producer=producer, decision=decision, visit=visit)
    return decision


# --- Reminders ------------------------------------------------------------------------


def send_visit_reminders(today: date | None = None) -> int:
    """Email the coordinators and the producer once for each member whose visit falls due
    within VISIT_REMINDER_DAYS and has none scheduled; returns how many memberships."""
    today = today or utcnow().date()
    open_visit = select(Visit.id).where(Visit.membership_id == Membership.id,
                                        Visit.status.in_([VisitStatus.SCHEDULED, VisitStatus.SIGNED]))
    due = list(db.session.scalars(
        select(Membership).join(Group, Group.id == Membership.group_id)
        .where(Membership.status == MembershipStatus.ACTIVE, Group.status == GroupStatus.ACTIVE,
               Membership.next_visit_due.is_not(None),
               Membership.next_visit_due <= today + timedelta(days=VISIT_REMINDER_DAYS),
               (Membership.reminder_sent_for.is_(None)) | (Membership.reminder_sent_for != Membership.next_visit_due),
               ~open_visit.exists())
        .order_by(Membership.id)))
    for membership in due:
        group, producer = membership.group, membership.producer
        context = {"group": group, "producer": producer, "due": membership.next_visit_due,
                   "overdue": membership.next_visit_due < today}
        for link in group.coordinators:
            _email(link.user, "visit_due", _l("A farm visit is due"),
                   f"visit-due-{membership.id}-{membership.next_visit_due.isoformat()}-{link.user_id}",
                   coordinator=True, **context)
        _email(producer.user, "visit_due", _l("Your farm visit is due"),
               f"visit-due-{membership.id}-{membership.next_visit_due.isoformat()}-producer",
               coordinator=False, **context)
        membership.reminder_sent_for = membership.next_visit_due
    db.session.flush()
    return len(due)


# --- Markets ----------------------------------------------------------------------------


def set_recognition(actor: User, market: Market, group: Group, recognised: bool) -> None:
    """An organizer decides whether this group's PGS decisions count as verified at their market."""
    if not can_manage(actor, market):
        raise NotAllowed(str(_l("You do not organise this market.")))
    link = db.session.get(MarketRecognition, (market.id, group.id))
    if recognised and link is None:
        db.session.add(MarketRecognition(market_id=market.id, group_id=group.id, recognised_by_id=actor.id))
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:
            pass  # recognised by another organizer at the same moment: the same result
    elif not recognised and link is not None:
        db.session.execute(delete(MarketRecognition).where(MarketRecognition.market_id == market.id,
                                                           MarketRecognition.group_id == group.id))
    db.session.flush()
