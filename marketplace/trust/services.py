"""Trust rules: certificates and their verification, reviews, and the trust score."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from marketplace.accounts.models import Role, User
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidState, NotAllowed
from marketplace.core.events import security_event
from marketplace.core.extensions import db
from marketplace.groups.models import Decision, Membership, MembershipStatus, Outcome
from marketplace.groups.queries import standing_of
from marketplace.groups.signals import (
    group_standing_changed,
    membership_changed,
    visit_decided,
)
from marketplace.markets.models import MarketOrganizer, Vendor
from marketplace.media.services import InvalidUpload, save_document
from marketplace.notifications.services import queue_email
from marketplace.orders.models import LineStatus, Order, OrderLine, OrderStatus
from marketplace.orders.signals import (
    order_cancelled,
    order_handing_over,
    order_no_show,
)
from marketplace.producers.models import Producer
from marketplace.trust.labels import scheme_label
from marketplace.trust.models import (
    Certification,
    CertificationScheme,
    CertificationStatus,
    Review,
    ReviewReport,
    ReviewStatus,
)

#: A review may be written this many days after the pickup, not later.
REVIEW_WINDOW_DAYS = 30
REVIEW_TEXT_MAX = 2000
REPLY_TEXT_MAX = 1000
REPORT_REASON_MAX = 500
#: Producers are reminded this many days before a certificate runs out.
EXPIRY_REMINDER_DAYS = 30
#: Bayesian prior: every producer starts as if it had PRIOR_REVIEWS reviews of PRIOR_RATING,
#: so one 5-star review cannot outrank fifty 4.8s.
PRIOR_REVIEWS = 5
PRIOR_RATING = 4.0
#: Fulfilment prior: as if PRIOR_ITEMS items had been delivered, so one missing item does
#: not sink a new producer.
PRIOR_ITEMS = 10
#: What a group knows of a producer moves the rating's starting point (its prior) up: the
#: neighbours who vouch for a farm are evidence before any review is. Reviews still outweigh
#: it as they come: with fifty reviews these add less than a twentieth of a star.
MEMBER_PRIOR_BONUS = 0.25  #: an active member of an organic district or PGS group in good standing
PGS_PRIOR_BONUS = 0.25     #: and holding a valid PGS certificate from the group's decision


class CertificateError(DomainError):
    """A certificate's data breaks a rule (dates, scheme); the message names the field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message, field=field)
        self.field = field


class ReviewError(DomainError):
    """A review, reply or report was refused; the message says why."""


# --- Certificates ------------------------------------------------------------------


def _check_certificate_fields(scheme, issuer: str, valid_from: date, valid_until: date, today: date):
    try:
        CertificationScheme(getattr(scheme, "value", scheme))
    except ValueError:
        raise CertificateError(str(_l("Choose a certification scheme.")), "scheme") from None
    if not (issuer or "").strip():
        raise CertificateError(str(_l("Enter who issued the certificate.")), "issuer")
    if valid_until < valid_from:
        raise CertificateError(str(_l("The end of validity must not be before its start.")), "valid_until")
    if valid_until < today:
        raise CertificateError(str(_l("This certificate has already expired.")), "valid_until")


def _save_document(stream, user_id: int, filename: str):
    try:
        return save_document(stream, user_id, filename)
    except InvalidUpload as exc:
        raise CertificateError(exc.message, "document") from None


def upload_certificate(producer: Producer, actor: User, *, scheme, issuer: str, number: str = "",
                       scope: str = "", valid_from: date, valid_until: date, stream, filename: str,
                       today: date | None = None) -> Certification:
    """A new certificate of the actor's own producer, pending verification, with its document."""
    if producer.user_id != actor.id:
        raise NotAllowed(str(_l("You can only add certificates to your own profile.")))
    _check_certificate_fields(scheme, issuer, valid_from, valid_until, today or utcnow().date())
    document = _save_document(stream, actor.id, filename)
    certification = Certification(
        producer_id=producer.id, scheme=CertificationScheme(getattr(scheme, "value", scheme)),
        issuer=issuer.strip(), number=(number or "").strip(), scope=(scope or "").strip(),
        valid_from=valid_from, valid_until=valid_until, document_id=document.id,
        status=CertificationStatus.PENDING)
    db.session.add(certification)
    db.session.flush()
    return certification


def update_certificate(certification: Certification, actor: User, *, scheme, issuer: str, number: str = "",
                       scope: str = "", valid_from: date, valid_until: date, stream=None,
                       filename: str = "", today: date | None = None) -> Certification:
    """Change a certificate; any change to a decided one sends it back to pending."""
    # Locked and read again: a decision committed after this request read the row would
    # otherwise survive, because setting status to the PENDING it was read with is no change
    # to the ORM, and the badge would stand on a file the verifier never saw.
    db.session.refresh(certification, with_for_update=True)
    if certification.producer.user_id != actor.id:
        raise NotAllowed(str(_l("You can only change your own certificates.")))
    if certification.group_id is not None:
        # Its dates and status are the group's decision: only the group's next decision changes them.
        raise NotAllowed(str(_l("A certificate issued by a group changes only with the group's decisions.")))
    _check_certificate_fields(scheme, issuer, valid_from, valid_until, today or utcnow().date())
    if stream is not None:
        certification.document_id = _save_document(stream, actor.id, filename).id
    if certification.valid_until != valid_until:
        certification.expiry_reminder_sent_at = None  # a renewed certificate gets its own reminder
    certification.scheme = CertificationScheme(getattr(scheme, "value", scheme))
    certification.issuer = issuer.strip()
    certification.number = (number or "").strip()
    certification.scope = (scope or "").strip()
    certification.valid_from = valid_from
    certification.valid_until = valid_until
    # The badge must describe what a person checked: whatever changed, check it again.
    certification.status = CertificationStatus.PENDING
    db.session.flush()
    return certification


def can_verify(user: User, certification: Certification) -> bool:
    """Admins, and organizers of a market where the producer is a vendor; never the producer."""
    if certification.producer.user_id == user.id or certification.group_id is not None:
        return False  # a group's certificate was decided by the group, not checked from a document
    if user.has_role(Role.ADMIN):
        return True
    if not user.has_role(Role.ORGANIZER):
        return False
    return db.session.scalar(
        select(Vendor.id).join(MarketOrganizer, MarketOrganizer.market_id == Vendor.market_id)
        .where(Vendor.producer_id == certification.producer_id, MarketOrganizer.user_id == user.id)
        .limit(1)) is not None


def can_see_document(user: User, certification: Certification) -> bool:
    """The producer, admins, and organizers of a market where the producer is a vendor."""
    if not user.is_authenticated:
        return False
    if certification.producer.user_id == user.id or user.has_role(Role.ADMIN):
        return True
    return can_verify(user, certification)


def document_sha256(certification: Certification) -> str:
    """The SHA-256 of the certificate's document as stored ('' without a document)."""
    return certification.document.sha256 if certification.document is not None else ""


def _decide(certification: Certification, actor: User, status: CertificationStatus, reason: str,
            template: str, subject, seen_sha256: str | None = None) -> Certification:
    # Locked and read again: a producer's replacement written but not committed yet would
    # otherwise be checked against this transaction's older read, and the decision's update,
    # waiting for the producer's, would then verify a file nobody looked at.
    db.session.refresh(certification, with_for_update=True)
    if not can_verify(actor, certification):
        raise NotAllowed(str(_l("You cannot decide on this certificate.")))
    if certification.status != CertificationStatus.PENDING:
        raise InvalidState(str(_l("This certificate was already decided on.")))
    if status == CertificationStatus.VERIFIED and certification.valid_until < utcnow().date():
        raise InvalidState(str(_l("This certificate has already expired.")))
    checked = document_sha256(certification)
    if seen_sha256 is not None and seen_sha256 != checked:
        # The producer uploaded another file after the verifier opened this page.
        raise InvalidState(str(_l("The document changed while you were looking at it. Look at the new one and decide again.")))
    certification.status = status
    certification.decided_by_id = actor.id
    certification.decided_at = utcnow()
    certification.decision_reason = reason
    certification.decided_sha256 = checked
    db.session.flush()
    security_event("certificate_decided", outcome=status.value, user_id=actor.id,
                   certification_id=certification.id, producer_id=certification.producer_id,
                   document_sha256=checked)
    owner = certification.producer.user
    queue_email(owner.email, template, subject, locale=owner.message_locale,
                dedupe_key=f"cert-{status.value}-{certification.id}-{certification.decided_at.isoformat()}",
                certification=certification, producer=certification.producer,
                scheme=scheme_label(certification.scheme), reason=reason)
    return certification


def verify_certificate(certification: Certification, actor: User, reason: str = "",
                       seen_sha256: str | None = None) -> Certification:
    """A verifier checked the document (the one whose SHA-256 is `seen_sha256`, when given):
    the badge shows while the certificate is valid."""
    return _decide(certification, actor, CertificationStatus.VERIFIED, (reason or "").strip()[:255],
                   "cert_verified", _l("Your certificate was verified"), seen_sha256)


def reject_certificate(certification: Certification, actor: User, reason: str,
                       seen_sha256: str | None = None) -> Certification:
    """A verifier refused the certificate; the producer is told why."""
    reason = (reason or "").strip()
    if not reason:
        raise CertificateError(str(_l("Say why the certificate is rejected.")), "reason")
    return _decide(certification, actor, CertificationStatus.REJECTED, reason[:255],
                   "cert_rejected", _l("Your certificate was not accepted"), seen_sha256)


def send_expiry_reminders(today: date | None = None) -> int:
    """Email each producer once when a verified certificate has 30 days or less left."""
    today = today or utcnow().date()
    due = db.session.scalars(
        select(Certification)
        .where(Certification.status == CertificationStatus.VERIFIED,
               # A group's certificate is renewed by its next visit, which has its own reminder.
               Certification.group_id.is_(None),
               Certification.valid_until >= today,
               Certification.valid_until <= today + timedelta(days=EXPIRY_REMINDER_DAYS),
               Certification.expiry_reminder_sent_at.is_(None))
        .order_by(Certification.id)
    ).all()
    producers = {p.id: p for p in db.session.scalars(
        select(Producer).where(Producer.id.in_({c.producer_id for c in due}))
        .options(joinedload(Producer.user)))} if due else {}
    sent = 0
    for certification in due:
        producer = producers[certification.producer_id]
        email = queue_email(
            producer.user.email, "cert_expiring", _l("Your certificate expires soon"),
            locale=producer.user.message_locale,
            dedupe_key=f"cert-expiring-{certification.id}-{certification.valid_until.isoformat()}",
            certification=certification, producer=producer, scheme=scheme_label(certification.scheme),
            days_left=(certification.valid_until - today).days)
        certification.expiry_reminder_sent_at = utcnow()
        sent += email is not None
    db.session.flush()
    return sent


def mark_expired(today: date | None = None) -> int:
    """Show certificates past their end date as expired (badges already hide by date)."""
    today = today or utcnow().date()
    result = db.session.execute(
        update(Certification)
        .where(Certification.valid_until < today,
               Certification.status.in_([CertificationStatus.VERIFIED, CertificationStatus.PENDING]))
        .values(status=CertificationStatus.EXPIRED))
    return result.rowcount


# --- Reviews -----------------------------------------------------------------------


def review_refusal(order: Order, producer_id: int, customer: User, now=None) -> str | None:
    """Why this customer may not review this producer for this order, or None."""
    if order.customer_id != customer.id:
        return str(_l("You can only review your own orders."))
    if order.status != OrderStatus.PICKED_UP or order.picked_up_at is None:
        return str(_l("You can review a producer once you have picked up the order."))
    if (now or utcnow()) > order.picked_up_at + timedelta(days=REVIEW_WINDOW_DAYS):
        return str(_l("Reviews can be written up to %(days)s days after pickup.", days=REVIEW_WINDOW_DAYS))
    if not any(line.producer_id == producer_id for line in order.lines):
        return str(_l("This producer was not part of the order."))
    if db.session.scalar(select(Producer.user_id).where(Producer.id == producer_id)) == customer.id:
        # A producer may buy at their own stall; their stars for themselves would lift their own score.
        return str(_l("You cannot review your own shop."))
    if db.session.scalar(select(Review.id).where(Review.order_id == order.id,
                                                 Review.producer_id == producer_id)) is not None:
        return str(_l("You have already reviewed this producer for this order."))
    return None


def create_review(order: Order, producer_id: int, customer: User, rating: int, text: str = "",
                  now=None) -> Review:
    """The customer's one review of one producer of a picked-up order."""
    reason = review_refusal(order, producer_id, customer, now)
    if reason:
        raise ReviewError(reason)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ReviewError(str(_l("Choose from 1 to 5 stars.")))
    text = (text or "").strip()
    if len(text) > REVIEW_TEXT_MAX:
        raise ReviewError(str(_l("Keep the review under %(n)s characters.", n=REVIEW_TEXT_MAX)))
    review = Review(order_id=order.id, producer_id=producer_id, customer_id=customer.id,
                    rating=rating, text=text)
    try:
        with db.session.begin_nested():
            db.session.add(review)
    except IntegrityError:
        # Two submits at once: the unique (order, producer) constraint let only one through.
        raise ReviewError(str(_l("You have already reviewed this producer for this order."))) from None
    producer = recompute_trust(producer_id)
    _email_producer_about(review, producer)
    return review


def _email_producer_about(review: Review, producer: Producer) -> None:
    owner = producer.user
    queue_email(owner.email, "review_received", _l("A customer reviewed your shop"), locale=owner.message_locale,
                dedupe_key=f"review-received-{review.id}", review=review, producer=producer)


def reply_to_review(review: Review, actor: User, text: str) -> Review:
    """The producer answers a review, once."""
    if review.producer.user_id != actor.id:
        raise NotAllowed(str(_l("Only the producer can reply to this review.")))
    if review.replied_at is not None:
        raise ReviewError(str(_l("You have already replied to this review.")))
    text = (text or "").strip()
    if not text:
        raise ReviewError(str(_l("Write a reply.")))
    if len(text) > REPLY_TEXT_MAX:
        raise ReviewError(str(_l("Keep the reply under %(n)s characters.", n=REPLY_TEXT_MAX)))
    review.reply = text
    review.replied_at = utcnow()
    db.session.flush()
    return review


def report_review(review: Review, reporter: User, reason: str = "") -> ReviewReport | None:
    """Flag a review for the admins; a second open report by the same person adds nothing."""
    reason = (reason or "").strip()
    if len(reason) > REPORT_REASON_MAX:
        raise ReviewError(str(_l("Keep the reason under %(n)s characters.", n=REPORT_REASON_MAX)))
    existing = db.session.scalar(select(ReviewReport).where(
        ReviewReport.review_id == review.id, ReviewReport.reporter_id == reporter.id,
        ReviewReport.resolved_at.is_(None)))
    if existing is not None:
        return None
    report = ReviewReport(review_id=review.id, reporter_id=reporter.id, reason=reason)
    db.session.add(report)
    db.session.flush()
    return report


def _resolve_reports(review: Review) -> None:
    db.session.execute(update(ReviewReport)
                       .where(ReviewReport.review_id == review.id, ReviewReport.resolved_at.is_(None))
                       .values(resolved_at=utcnow()))


def hide_review(review: Review, actor: User, reason: str) -> Review:
    """An admin hides a review from everyone, with a reason; its rating stops counting."""
    if not actor.has_role(Role.ADMIN):
        raise NotAllowed(str(_l("Only admins moderate reviews.")))
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(str(_l("Say why the review is hidden.")))
    if review.status == ReviewStatus.HIDDEN:
        raise InvalidState(str(_l("This review is already hidden.")))
    review.status = ReviewStatus.HIDDEN
    review.hidden_reason = reason[:255]
    _resolve_reports(review)
    db.session.flush()
    recompute_trust(review.producer_id)
    return review


def unhide_review(review: Review, actor: User, reason: str = "") -> Review:
    """An admin publishes a hidden review again."""
    if not actor.has_role(Role.ADMIN):
        raise NotAllowed(str(_l("Only admins moderate reviews.")))
    if review.status != ReviewStatus.HIDDEN:
        raise InvalidState(str(_l("This review is not hidden.")))
    review.status = ReviewStatus.PUBLISHED
    review.hidden_reason = (reason or "").strip()[:255]
    _resolve_reports(review)
    db.session.flush()
    recompute_trust(review.producer_id)
    return review


def dismiss_reports(review: Review, actor: User) -> None:
    """An admin looked at the reports and keeps the review published."""
    if not actor.has_role(Role.ADMIN):
        raise NotAllowed(str(_l("Only admins moderate reviews.")))
    _resolve_reports(review)
    db.session.flush()


# --- Trust score -------------------------------------------------------------------


@dataclass(frozen=True)
class Fulfilment:
    counted: int
    delivered: int

    @property
    def percent(self) -> int | None:
        return None if not self.counted else (self.delivered * 100) // self.counted


def bayesian_rating(rating_sum: int, rating_count: int, prior: float = PRIOR_RATING) -> float:
    """The average rating pulled towards `prior` by PRIOR_REVIEWS imaginary reviews."""
    return (prior * PRIOR_REVIEWS + rating_sum) / (PRIOR_REVIEWS + rating_count)


def trust_score(rating_sum: int, rating_count: int, fulfilment: Fulfilment, prior: float = PRIOR_RATING) -> int:
    """Hundredths of a 0–5 score: Bayesian rating × smoothed share of items delivered."""
    share = (fulfilment.delivered + PRIOR_ITEMS) / (fulfilment.counted + PRIOR_ITEMS)
    return round(bayesian_rating(rating_sum, rating_count, prior) * share * 100)


@dataclass(frozen=True)
class Prior:
    """Where a producer's rating starts, and the groups that moved it (named in the explanation)."""

    rating: float
    #: Groups the producer is an active member of (in good standing), by name.
    member_of: tuple[str, ...]
    #: Of those, the groups whose valid PGS certificate the producer holds.
    pgs_from: tuple[str, ...]


def prior_of(standings) -> Prior:
    """The rating prior from a producer's standing in groups (groups.queries.standing_of)."""
    member_of = tuple(s.group.name for s in standings)
    pgs_from = tuple(s.group.name for s in standings if s.pgs_until)
    rating = PRIOR_RATING + (MEMBER_PRIOR_BONUS if member_of else 0) + (PGS_PRIOR_BONUS if pgs_from else 0)
    return Prior(rating, member_of, pgs_from)


def fulfilment_of(producer_ids) -> dict[int, Fulfilment]:
    """Items (order lines) each producer was asked to bring and how many were handed over.

    Lines of picked-up orders count: missing or cancelled ones against the producer.
    Orders the producer cancelled count fully against it. Customer cancellations, expiries,
    no-shows and cancelled market days are not the producer's doing and do not count.
    """
    ids = list(set(producer_ids))
    if not ids:
        return {}
    picked_up = Order.status == OrderStatus.PICKED_UP
    cancelled_by_producer = (Order.status == OrderStatus.CANCELLED) & (Order.cancelled_by_id == Producer.user_id)
    delivered = picked_up & OrderLine.status.notin_([LineStatus.MISSING, LineStatus.CANCELLED])
    rows = db.session.execute(
        select(OrderLine.producer_id,
               func.count(OrderLine.id),
               func.coalesce(func.sum(case((delivered, 1), else_=0)), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .join(Producer, Producer.id == OrderLine.producer_id)
        .where(OrderLine.producer_id.in_(ids), picked_up | cancelled_by_producer)
        .group_by(OrderLine.producer_id))
    result = {pid: Fulfilment(0, 0) for pid in ids}
    for producer_id, counted, delivered_count in rows:
        result[producer_id] = Fulfilment(int(counted), int(delivered_count))
    return result


def recompute_trust(producer_id: int) -> Producer:
    """Store the producer's rating count, sum and trust score from its published reviews."""
    count, total = db.session.execute(
        select(func.count(Review.id), func.coalesce(func.sum(Review.rating), 0))
        .where(Review.producer_id == producer_id, Review.status == ReviewStatus.PUBLISHED)).one()
    producer = db.session.get(Producer, producer_id)
    producer.rating_count = int(count)
    producer.rating_sum = int(total)
    prior = prior_of(standing_of([producer_id]).get(producer_id, []))
    producer.trust_score = trust_score(producer.rating_sum, producer.rating_count,
                                       fulfilment_of([producer_id])[producer_id], prior.rating)
    db.session.flush()
    return producer


def recompute_group_members() -> int:
    """Recompute producers who are or were in a group: a group's standing or a PGS certificate
    can lapse by date alone, and the stored score (the catalog sorts by it) must follow."""
    ids = list(db.session.scalars(select(Membership.producer_id).distinct().order_by(Membership.producer_id)))
    for producer_id in ids:
        recompute_trust(producer_id)
    return len(ids)


def recompute_all() -> int:
    """Recompute every producer's stored trust figures (after a formula change)."""
    ids = list(db.session.scalars(select(Producer.id).order_by(Producer.id)))
    for producer_id in ids:
        recompute_trust(producer_id)
    return len(ids)


# Fulfilment changes when orders are handed over, cancelled or missed: remember which
# producers were touched and recompute their scores just before the transaction commits,
# when the order's final state is in the session.
_DIRTY_KEY = "trust_dirty_producers"


def _mark_order_dirty(order: Order, **_extra) -> None:
    db.session.info.setdefault(_DIRTY_KEY, set()).update(line.producer_id for line in order.lines)


def invite_to_review(order: Order, **_extra) -> None:
    """Email the customer, once per order, a link to review each producer who delivered."""
    delivered = {line.producer_id for line in order.lines
                 if line.status not in (LineStatus.MISSING, LineStatus.CANCELLED)}
    if not delivered:
        return
    producers = list(db.session.scalars(select(Producer).where(Producer.id.in_(delivered)).order_by(Producer.name)))
    customer = order.customer
    queue_email(customer.email, "review_invite", _l("How was your market day?"), locale=customer.message_locale,
                dedupe_key=f"review-invite-{order.id}", order=order, customer=customer, producers=producers,
                days=REVIEW_WINDOW_DAYS)


# --- Groups: their decisions become certificates, their members' figures follow -----


def _mark_producers_dirty(producer_ids) -> None:
    db.session.info.setdefault(_DIRTY_KEY, set()).update(producer_ids)


def apply_group_decision(decision: Decision, actor=None, **_extra) -> Certification:
    """An approval issues or renews the producer's PGS certificate from the group (valid until
    the decision says); a refusal ends it. One certificate per producer and group, renewed."""
    group = decision.group
    standard = decision.visit.standard
    certification = db.session.scalar(
        select(Certification).where(Certification.producer_id == decision.producer_id,
                                    Certification.group_id == group.id,
                                    Certification.scheme == CertificationScheme.ORGANIC_PGS)
        .order_by(Certification.id.desc()).limit(1))
    approved = decision.outcome in (Outcome.APPROVED, Outcome.APPROVED_WITH_CONDITIONS)
    if certification is None:
        if not approved:
            _mark_producers_dirty([decision.producer_id])
            return None
        day = decision.decided_at.date()
        certification = Certification(producer_id=decision.producer_id, group_id=group.id,
                                      scheme=CertificationScheme.ORGANIC_PGS, valid_from=day,
                                      valid_until=decision.valid_until)
        db.session.add(certification)
    day = decision.decided_at.date()
    certification.issuer = group.name[:160]
    certification.number = f"PGS-{group.id}-{decision.producer_id}"
    certification.scope = f"{standard.title} (v{standard.version})"[:255]
    certification.decided_by_id = decision.decided_by_id
    certification.decided_at = decision.decided_at
    certification.expiry_reminder_sent_at = None
    if approved:
        certification.status = CertificationStatus.VERIFIED
        certification.valid_from = day
        certification.valid_until = decision.valid_until
        certification.decision_reason = ""
    else:
        certification.status = CertificationStatus.REJECTED
        certification.valid_until = max(certification.valid_from, min(certification.valid_until, day))
        certification.decision_reason = str(_l("Refused by the group after the visit"))[:255]
    db.session.flush()
    _mark_producers_dirty([decision.producer_id])
    return certification


def follow_membership(membership: Membership, previous=None, actor=None, **_extra) -> None:
    """A removed member's certificates from the group end now (a suspended one's only hide,
    and come back on reinstatement); the producer's score follows any change."""
    if membership.status == MembershipStatus.REMOVED:
        today = utcnow().date()
        for certification in db.session.scalars(
                select(Certification).where(Certification.producer_id == membership.producer_id,
                                            Certification.group_id == membership.group_id,
                                            Certification.status.in_([CertificationStatus.VERIFIED,
                                                                      CertificationStatus.PENDING]))):
            certification.status = CertificationStatus.EXPIRED
            certification.valid_until = max(certification.valid_from, min(certification.valid_until, today))
            certification.decision_reason = str(_l("Membership of the group ended"))[:255]
        db.session.flush()
    _mark_producers_dirty([membership.producer_id])


def follow_group_standing(group, actor=None, **_extra) -> None:
    _mark_producers_dirty(db.session.scalars(select(Membership.producer_id).where(Membership.group_id == group.id)))


def connect_receivers() -> None:
    """Trust follows orders and groups: a hand-over invites a review, every ending changes the
    producer's figures; a group's decision issues its certificate, a membership's end takes it.

    Connected once however many apps a process makes (tests make one per session).
    """
    order_handing_over.connect(invite_to_review, weak=False)
    order_handing_over.connect(_mark_order_dirty, weak=False)
    order_cancelled.connect(_mark_order_dirty, weak=False)
    order_no_show.connect(_mark_order_dirty, weak=False)
    visit_decided.connect(apply_group_decision, weak=False)
    membership_changed.connect(follow_membership, weak=False)
    group_standing_changed.connect(follow_group_standing, weak=False)
    if not event.contains(db.session, "before_commit", _recompute_dirty):
        event.listen(db.session, "before_commit", _recompute_dirty)
        event.listen(db.session, "after_rollback", _forget_dirty)


def _recompute_dirty(session) -> None:
    dirty = session.info.pop(_DIRTY_KEY, None)
    for producer_id in sorted(dirty or ()):
        recompute_trust(producer_id)


def _forget_dirty(session) -> None:
    session.info.pop(_DIRTY_KEY, None)
