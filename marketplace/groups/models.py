"""Organic districts and PGS groups: coordinators, members, the standard, farm visits, decisions."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, str_enum, utcnow
from marketplace.core.extensions import db

#: The zone of the countries our groups are in; times of a group's decisions are shown in it.
COUNTRY_ZONES = {"KG": "Asia/Bishkek", "KZ": "Asia/Almaty", "UZ": "Asia/Tashkent", "TJ": "Asia/Dushanbe"}


class GroupKind(str, enum.Enum):
    #: An "aimak": neighbouring farms of one district that farm organically and check each other.
    ORGANIC_DISTRICT = "organic_district"
    #: A Participatory Guarantee System group (IFOAM's model) of farmers, consumers and advisers.
    PGS_GROUP = "pgs_group"
    #: A farmer field school that runs a participatory guarantee for its graduates.
    AGROECOLOGY_SCHOOL = "agroecology_school"


class GroupStatus(str, enum.Enum):
    ACTIVE = "active"
    #: Set by an admin: the group's badges are not shown until it is active again.
    SUSPENDED = "suspended"


class Group(db.Model):
    """An organic district or PGS group: created by an admin, run by its coordinators."""

    __tablename__ = "pgs_group"
    __table_args__ = (
        CheckConstraint("radius_km IS NULL OR (radius_km >= 1 AND radius_km <= 300)", name="radius_range"),
        CheckConstraint("validity_months >= 1 AND validity_months <= 36", name="validity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    kind: Mapped[GroupKind] = mapped_column(str_enum(GroupKind, 30))
    country: Mapped[str] = mapped_column(String(2), default="KG")
    region: Mapped[str] = mapped_column(String(120), default="")
    story: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[GroupStatus] = mapped_column(str_enum(GroupStatus), default=GroupStatus.ACTIVE)
    #: The group's own standing (its recognition by the platform) ends after this day; None: no end.
    #: Its members' badges disappear by themselves after it, without a job.
    standing_until: Mapped[date | None]
    #: The map area, coarse: a centre and a radius (a district, never a farm).
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    radius_km: Mapped[int | None]
    #: How long a PGS certificate of this group is valid unless the decision says otherwise.
    validity_months: Mapped[int] = mapped_column(default=12)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    coordinators: Mapped[list[GroupCoordinator]] = relationship(
        back_populates="group", order_by="GroupCoordinator.added_at", cascade="all, delete-orphan")
    photos: Mapped[list[GroupPhoto]] = relationship(
        order_by="GroupPhoto.position, GroupPhoto.id", cascade="all, delete-orphan")

    @property
    def timezone(self) -> str:
        """The zone the group's times are shown in (its country's)."""
        return COUNTRY_ZONES.get(self.country, "UTC")

    def in_standing(self, day: date) -> bool:
        """Whether the group's badges may show on `day`."""
        return self.status == GroupStatus.ACTIVE and (self.standing_until is None or day <= self.standing_until)


class GroupCoordinator(db.Model):
    """The coordinator role, scoped to one group: a user who runs it (members, standard, visits, decisions)."""

    __tablename__ = "group_coordinator"

    group_id: Mapped[int] = mapped_column(ForeignKey("pgs_group.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True)
    #: The name the group shows publicly for this coordinator (never their email or phone).
    shown_name: Mapped[str] = mapped_column(String(80), default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    group: Mapped[Group] = relationship(back_populates="coordinators")
    user = relationship("User", foreign_keys=[user_id])


class GroupPhoto(db.Model):
    __tablename__ = "group_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("pgs_group.id", ondelete="CASCADE"), index=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("image.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)

    image = relationship("Image")


class MembershipStatus(str, enum.Enum):
    APPLIED = "applied"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REMOVED = "removed"
    REFUSED = "refused"


class Membership(db.Model):
    """A producer's place in a group: applied, then accepted (active), suspended or removed."""

    __tablename__ = "group_membership"
    __table_args__ = (
        UniqueConstraint("group_id", "producer_id"),
        Index("ix_group_membership_status_due", "status", "next_visit_due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("pgs_group.id", ondelete="CASCADE"))
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="CASCADE"), index=True)
    status: Mapped[MembershipStatus] = mapped_column(str_enum(MembershipStatus), default=MembershipStatus.APPLIED)
    message: Mapped[str] = mapped_column(String(1000), default="")
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the current membership began (None until accepted). A decision made before it
    #: (in an earlier membership, before a removal) does not count for this one.
    member_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The last change of status: who and when, and why (the full trail is in MembershipEvent).
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(255), default="")
    #: When the farm should next be visited (set by a decision); the reminder comes back from it.
    next_visit_due: Mapped[date | None]
    #: The due date a reminder was sent for (so each due date is reminded once).
    reminder_sent_for: Mapped[date | None]

    group: Mapped[Group] = relationship()
    producer = relationship("Producer")


class MembershipEvent(db.Model):
    """One change of a membership, kept for the record: the new status, who, when and why."""

    __tablename__ = "membership_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("group_membership.id", ondelete="CASCADE"), index=True)
    status: Mapped[MembershipStatus] = mapped_column(str_enum(MembershipStatus))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(255), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor = relationship("User")


class Standard(db.Model):
    """One version of a group's standard: a checklist. A version is never changed once saved;
    editing the standard saves the next version, and each visit keeps the version it used."""

    __tablename__ = "group_standard"
    __table_args__ = (UniqueConstraint("group_id", "version"), CheckConstraint("version >= 1", name="version_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("pgs_group.id", ondelete="CASCADE"))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(160))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    items: Mapped[list[StandardItem]] = relationship(order_by="StandardItem.position",
                                                     cascade="all, delete-orphan")


class StandardItem(db.Model):
    __tablename__ = "standard_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("group_standard.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(String(500))
    #: What the reviewers look at to tell (optional).
    guidance: Mapped[str] = mapped_column(String(1000), default="")


class VisitStatus(str, enum.Enum):
    #: Reviewers fill in the checklist and sign off.
    SCHEDULED = "scheduled"
    #: Every reviewer signed off: the answers are final and wait for the group's decision.
    SIGNED = "signed"
    DECIDED = "decided"
    CANCELLED = "cancelled"


class Visit(db.Model):
    """A peer review visit to a member's farm against one version of the group's standard."""

    __tablename__ = "farm_visit"
    __table_args__ = (Index("ix_farm_visit_group_status", "group_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("pgs_group.id", ondelete="CASCADE"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("group_membership.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="CASCADE"), index=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("group_standard.id"))
    scheduled_for: Mapped[date]
    status: Mapped[VisitStatus] = mapped_column(str_enum(VisitStatus), default=VisitStatus.SCHEDULED)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the last reviewer signed off.
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    group: Mapped[Group] = relationship()
    producer = relationship("Producer")
    standard: Mapped[Standard] = relationship()
    reviewers: Mapped[list[VisitReviewer]] = relationship(
        order_by="VisitReviewer.id", cascade="all, delete-orphan", back_populates="visit")
    decision: Mapped[Decision | None] = relationship(back_populates="visit", uselist=False)


class ReviewerRole(str, enum.Enum):
    MEMBER = "member"
    CONSUMER = "consumer"
    ADVISER = "adviser"


class VisitReviewer(db.Model):
    """A person who visits the farm and signs off the checklist (never the farm's own producer)."""

    __tablename__ = "visit_reviewer"
    __table_args__ = (UniqueConstraint("visit_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("farm_visit.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[ReviewerRole] = mapped_column(str_enum(ReviewerRole))
    #: What the public record shows for this reviewer, as the group chose ("" shows the role only).
    shown_name: Mapped[str] = mapped_column(String(80), default="")
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    visit: Mapped[Visit] = relationship(back_populates="reviewers")
    user = relationship("User")


class Answer(str, enum.Enum):
    COMPLIES = "complies"
    DOES_NOT_COMPLY = "not"
    NOT_APPLICABLE = "na"


class VisitAnswer(db.Model):
    """One checklist item of one visit: complies / not / not applicable, and a note."""

    __tablename__ = "visit_answer"
    __table_args__ = (UniqueConstraint("visit_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("farm_visit.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("standard_item.id", ondelete="CASCADE"))
    #: None while only a note was written.
    answer: Mapped[Answer | None] = mapped_column(str_enum(Answer, 10))
    note: Mapped[str] = mapped_column(String(1000), default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VisitPhoto(db.Model):
    """A photo taken for one checklist item (visible to the group and the producer, not the public)."""

    __tablename__ = "visit_photo"
    __table_args__ = (UniqueConstraint("visit_id", "upload_key"), Index("ix_visit_photo_visit_item", "visit_id", "item_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("farm_visit.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("standard_item.id", ondelete="CASCADE"))
    image_id: Mapped[int] = mapped_column(ForeignKey("image.id", ondelete="CASCADE"))
    #: Chosen by the phone for each photo: an upload retried after a dropped connection is stored once.
    upload_key: Mapped[str] = mapped_column(String(40))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    image = relationship("Image")


class Outcome(str, enum.Enum):
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "conditions"
    REFUSED = "refused"


class Decision(db.Model):
    """The group's decision on a visit, recorded with who and when; an approval issues or renews
    the producer's PGS certificate until `valid_until`."""

    __tablename__ = "visit_decision"
    __table_args__ = (
        CheckConstraint("outcome = 'refused' OR valid_until IS NOT NULL", name="approval_has_validity"),
        CheckConstraint("outcome <> 'conditions' OR conditions_due IS NOT NULL", name="conditions_have_deadline"),
        Index("ix_visit_decision_producer_group", "producer_id", "group_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One decision per visit: a second submit finds it taken.
    visit_id: Mapped[int] = mapped_column(ForeignKey("farm_visit.id", ondelete="CASCADE"), unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("pgs_group.id", ondelete="CASCADE"))
    producer_id: Mapped[int] = mapped_column(ForeignKey("producer.id", ondelete="CASCADE"))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome))
    reasons: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str] = mapped_column(Text, default="")
    conditions_due: Mapped[date | None]
    valid_until: Mapped[date | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    visit: Mapped[Visit] = relationship(back_populates="decision")
    group: Mapped[Group] = relationship()
    decided_by = relationship("User")


class MarketRecognition(db.Model):
    """A market's organizers count this group's PGS decisions as verified at their market."""

    __tablename__ = "market_group_recognition"

    market_id: Mapped[int] = mapped_column(ForeignKey("market.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("pgs_group.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)
    recognised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    recognised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
