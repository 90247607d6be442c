"""Read-only trust queries used by the catalog and producer pages."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from flask_babel import format_decimal, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from marketplace.accounts.models import Role, User
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.core.text import slugify
from marketplace.groups.models import Group, GroupKind, Membership, MembershipStatus
from marketplace.groups.queries import (
    group_in_standing,
    member_in_standing,
    recognised_group_ids,
    shown_standing,
)
from marketplace.markets.models import Market, MarketDay, MarketOrganizer, Vendor
from marketplace.orders.models import Order, OrderLine, OrderStatus
from marketplace.orders.reliability import NO_SHOW_WINDOW_DAYS
from marketplace.producers.models import Producer
from marketplace.trust.models import (
    Certification,
    CertificationScheme,
    CertificationStatus,
    Review,
    ReviewReport,
    ReviewStatus,
)
from marketplace.trust.services import (
    MEMBER_PRIOR_BONUS,
    PGS_PRIOR_BONUS,
    PRIOR_RATING,
    REVIEW_WINDOW_DAYS,
    Prior,
    fulfilment_of,
    prior_of,
)


def badge_conditions(day: date, market_id: int | None = None) -> list:
    """What makes a certificate a badge on `day`: verified and within its validity; one a group
    issued also needs its producer to be an active member of the group, and the group to stand
    (and, on a market's pages, the market's organizers to count the group's decisions).

    Checked in every query that shows or filters badges, not by a job that might not run: a
    badge disappears by itself the day after `valid_until`, and at once when the membership
    ends or the group's standing lapses.
    """
    from_group = member_in_standing(Certification.producer_id, Certification.group_id, day)
    if market_id is not None:
        from_group = from_group & Certification.group_id.in_(recognised_group_ids(market_id))
    return [Certification.status == CertificationStatus.VERIFIED,
            Certification.valid_from <= day, Certification.valid_until >= day,
            or_(Certification.group_id.is_(None), from_group)]


def active_badges(producer_ids, on: date | None = None, market_id: int | None = None) -> dict[int, list[Certification]]:
    """Badges per producer (one query for a whole page): see `badge_conditions`."""
    ids = list(set(producer_ids))
    result: dict[int, list[Certification]] = defaultdict(list)
    if not ids:
        return result
    day = on or utcnow().date()
    rows = db.session.scalars(
        select(Certification)
        .where(Certification.producer_id.in_(ids), *badge_conditions(day, market_id))
        .options(joinedload(Certification.producer), joinedload(Certification.group))
        .order_by(Certification.scheme, Certification.valid_until.desc())
    )
    for certification in rows:
        result[certification.producer_id].append(certification)
    return result


def badges_key(certifications) -> tuple:
    """What the badges macro (templates/trust/macros.html) shows of these badges: a cached
    fragment holding them is kept under this, so a changed badge is a new fragment."""
    return tuple((c.id, c.scheme, c.issuer, c.number, c.valid_until, c.group_id,
                  c.group.slug if c.group_id and c.group else "", c.producer.slug if c.producer else "")
                 for c in certifications)


def producers_with_badge(scheme: str, day: date | None = None):
    """A select of the producers showing a badge of `scheme` on `day` (the catalog's filter).

    "Organic district member" is also every active member of an organic district in standing.
    """
    day = day or utcnow().date()
    holders = select(Certification.producer_id).where(Certification.scheme == scheme, *badge_conditions(day))
    if scheme == CertificationScheme.ORGANIC_DISTRICT.value:
        members = (select(Membership.producer_id).join(Group, Group.id == Membership.group_id)
                   .where(Group.kind == GroupKind.ORGANIC_DISTRICT, Membership.status == MembershipStatus.ACTIVE,
                          *group_in_standing(day)))
        holders = holders.union(members)
    return holders


# --- Certificates ------------------------------------------------------------------

def certificate_status(certification: Certification, today: date | None = None) -> str:
    """What to show: a verified certificate past its end date reads as expired even
    before `send-certificate-reminders` has marked it."""
    day = today or utcnow().date()
    if certification.status in (CertificationStatus.VERIFIED, CertificationStatus.PENDING) \
            and certification.valid_until < day:
        return CertificationStatus.EXPIRED.value
    return certification.status.value


def producer_certificates(producer_id: int) -> list[Certification]:
    """All certificates of one producer, newest first, with who decided."""
    return list(db.session.scalars(
        select(Certification).where(Certification.producer_id == producer_id)
        .options(joinedload(Certification.document), joinedload(Certification.decided_by))
        .order_by(Certification.created_at.desc(), Certification.id.desc())))


def verifiable_producer_ids(user):
    """A select of producer ids whose certificates this user may verify (None: all, for admins)."""
    if user.has_role(Role.ADMIN):
        return None
    return (select(Vendor.producer_id)
            .join(MarketOrganizer, MarketOrganizer.market_id == Vendor.market_id)
            .where(MarketOrganizer.user_id == user.id))


def verification_queue(user, status: str, page: int, per_page: int):
    """Certificates in `status` of producers this user may verify, oldest first; never their own."""
    query = (select(Certification).join(Producer, Producer.id == Certification.producer_id)
             .where(Certification.status == status, Producer.user_id != user.id)
             .options(joinedload(Certification.producer), joinedload(Certification.document),
                      joinedload(Certification.decided_by)))
    scope = verifiable_producer_ids(user)
    if scope is not None:
        query = query.where(Certification.producer_id.in_(scope))
    if status == CertificationStatus.PENDING:
        query = query.order_by(Certification.created_at, Certification.id)
    else:
        query = query.order_by(Certification.decided_at.desc(), Certification.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)


# --- Organic districts -------------------------------------------------------------

def district_group(key: str) -> Group | None:
    """The group an old district link (its name's slug, or the name) now stands for."""
    wanted = slugify(key)
    return db.session.scalar(select(Group).where(or_(Group.slug == wanted, Group.name == key)).limit(1))


# --- Reviews and the trust summary -------------------------------------------------

def _review_options():
    # Market.organizers and User.role_rows load "selectin" by default: a review list needs
    # neither, and each would cost a query per page.
    return (joinedload(Review.order).joinedload(Order.market_day).joinedload(MarketDay.market)
            .lazyload(Market.organizers),
            joinedload(Review.customer).lazyload(User.role_rows))


def producer_reviews(producer_id: int, page: int, per_page: int):
    """Published reviews of a producer, newest first, with their market day (one query a page)."""
    query = (select(Review).where(Review.producer_id == producer_id, Review.status == ReviewStatus.PUBLISHED)
             .options(*_review_options())
             .order_by(Review.created_at.desc(), Review.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)


def reviews_for_producer_owner(producer_id: int, page: int, per_page: int):
    """Every review of the producer (hidden ones too, so the producer knows), newest first."""
    query = (select(Review).where(Review.producer_id == producer_id)
             .options(*_review_options())
             .order_by(Review.created_at.desc(), Review.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)


def reviewable_for(customer_id: int, producer_id: int | None = None, now=None) -> list[tuple]:
    """(order, producer) pairs the customer may still review, newest pickup first."""
    since = (now or utcnow()) - timedelta(days=REVIEW_WINDOW_DAYS)
    reviewed = select(Review.id).where(Review.order_id == Order.id, Review.producer_id == Producer.id)
    query = (select(Order, Producer)
             .join(OrderLine, OrderLine.order_id == Order.id)
             .join(Producer, Producer.id == OrderLine.producer_id)
             .where(Order.customer_id == customer_id, Order.status == OrderStatus.PICKED_UP,
                    Order.picked_up_at >= since, ~reviewed.exists(),
                    Producer.user_id != customer_id)  # never one's own shop
             .options(joinedload(Order.market_day).joinedload(MarketDay.market))
             .distinct()
             .order_by(Order.picked_up_at.desc(), Producer.name))
    if producer_id is not None:
        query = query.where(Producer.id == producer_id)
    return [(order, producer) for order, producer in db.session.execute(query).unique()]


def trust_summary_parts(producer, fulfilment, certificate_count: int, prior: Prior | None = None) -> list[str]:
    """The trust summary as short phrases, e.g. '4.6 from 23 reviews', '97% of 150 ordered items fulfilled',
    'member of Talas organic district', 'PGS certified by Talas organic district'."""
    parts = []
    if producer.rating_count:
        average = format_decimal(round(producer.rating_sum / producer.rating_count, 1), format="0.0")
        parts.append(ngettext("%(avg)s from %(num)d review", "%(avg)s from %(num)d reviews",
                              producer.rating_count, avg=average))
    else:
        parts.append(str(_l("No reviews yet")))
    if fulfilment.counted:
        parts.append(ngettext("%(pct)s%% of %(num)d ordered item fulfilled",
                              "%(pct)s%% of %(num)d ordered items fulfilled",
                              fulfilment.counted, pct=fulfilment.percent))
    if certificate_count:
        parts.append(ngettext("%(num)d verified certificate", "%(num)d verified certificates", certificate_count))
    for name in (prior.member_of if prior else ()):
        if name in prior.pgs_from:
            parts.append(str(_l("PGS certified by %(group)s", group=name)))
        else:
            parts.append(str(_l("member of %(group)s", group=name)))
    parts.append(str(_l("selling here since %(year)s", year=producer.created_at.year)))
    return parts


def prior_explanation(prior: Prior) -> str:
    """Why the score starts higher, naming the groups: '… 4.50 stars instead of 4.00: member of …'."""
    if not prior.member_of:
        return ""
    reasons = [str(_l("member of %(group)s (+%(n)s)", group=", ".join(prior.member_of),
                      n=format_decimal(MEMBER_PRIOR_BONUS, format="0.00")))]
    if prior.pgs_from:
        reasons.append(str(_l("PGS certified by %(group)s (+%(n)s)", group=", ".join(prior.pgs_from),
                              n=format_decimal(PGS_PRIOR_BONUS, format="0.00"))))
    return str(_l("The trust score starts from %(prior)s stars instead of %(base)s: %(why)s.",
                  prior=format_decimal(prior.rating, format="0.00"), base=format_decimal(PRIOR_RATING, format="0.00"),
                  why="; ".join(reasons)))


def producer_trust(producer, review_limit: int = 5, viewer=None) -> dict:
    """Everything the producer page's trust block shows, in a handful of queries."""
    fulfilment = fulfilment_of([producer.id])[producer.id]
    badges = active_badges([producer.id]).get(producer.id, [])
    standings = shown_standing(producer.id)
    prior = prior_of(standings)
    reviews = list(db.session.scalars(
        select(Review).where(Review.producer_id == producer.id, Review.status == ReviewStatus.PUBLISHED)
        .options(*_review_options())
        .order_by(Review.created_at.desc(), Review.id.desc()).limit(review_limit)))
    can_review = []
    if viewer is not None and getattr(viewer, "is_authenticated", False):
        can_review = reviewable_for(viewer.id, producer.id)
    return {
        # A group's PGS certificate is named with its group below, not counted twice.
        "parts": trust_summary_parts(producer, fulfilment, sum(1 for b in badges if b.group_id is None), prior),
        "fulfilment": fulfilment,
        "badges": badges,
        "standings": standings,
        "prior": prior,
        "prior_explanation": prior_explanation(prior),
        "reviews": reviews,
        "more_reviews": producer.rating_count > len(reviews),
        "can_review": can_review,
    }


def open_reports(page: int, per_page: int):
    """Reviews with unresolved reports, most reported first."""
    counts = (select(ReviewReport.review_id, func.count(ReviewReport.id).label("n"),
                     func.max(ReviewReport.created_at).label("last"))
              .where(ReviewReport.resolved_at.is_(None)).group_by(ReviewReport.review_id).subquery())
    query = (select(Review).join(counts, counts.c.review_id == Review.id)
             .options(joinedload(Review.producer), *_review_options())
             .order_by(counts.c.n.desc(), counts.c.last.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)


def report_reasons(review_ids) -> dict[int, list]:
    """Open reports per review (one query for a page)."""
    result: dict[int, list] = defaultdict(list)
    if not review_ids:
        return result
    for report in db.session.scalars(
            select(ReviewReport).where(ReviewReport.review_id.in_(list(review_ids)),
                                       ReviewReport.resolved_at.is_(None))
            .order_by(ReviewReport.created_at)):
        result[report.review_id].append(report)
    return result


def hidden_reviews(page: int, per_page: int):
    """Hidden reviews, newest first, so an admin can publish one again."""
    query = (select(Review).where(Review.status == ReviewStatus.HIDDEN)
             .options(joinedload(Review.producer), *_review_options())
             .order_by(Review.created_at.desc(), Review.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)


# --- Customer reliability (organizer side) -----------------------------------------

def organizer_sees_customer(user, customer_id: int) -> bool:
    """Admins see everyone; organizers only customers with an order at one of their markets."""
    if user.has_role(Role.ADMIN):
        return True
    if not user.has_role(Role.ORGANIZER):
        return False
    return db.session.scalar(
        select(Order.id).join(MarketDay, MarketDay.id == Order.market_day_id)
        .join(MarketOrganizer, MarketOrganizer.market_id == MarketDay.market_id)
        .where(Order.customer_id == customer_id, MarketOrganizer.user_id == user.id).limit(1)) is not None


def customer_no_shows(customer_id: int, now=None) -> list:
    """The customer's no-shows in the reliability window, newest first, with market day."""
    since = (now or utcnow()) - timedelta(days=NO_SHOW_WINDOW_DAYS)
    return list(db.session.scalars(
        select(Order).where(Order.customer_id == customer_id, Order.status == OrderStatus.NO_SHOW,
                            Order.no_show_at >= since)
        .options(joinedload(Order.market_day).joinedload(MarketDay.market))
        .order_by(Order.no_show_at.desc())))


def certificates_of_producer(producer_id: int) -> list[Certification]:
    """The producer's certificates, newest first, whatever their state."""
    return list(db.session.scalars(select(Certification).where(Certification.producer_id == producer_id)
                                   .order_by(Certification.created_at.desc(), Certification.id.desc())))


def waiting_counts() -> dict[str, int]:
    """The admin's overview: certificates waiting for a check, reviews with open reports (two queries)."""
    return {
        "certificates": db.session.scalar(select(func.count(Certification.id))
                                          .where(Certification.status == CertificationStatus.PENDING)) or 0,
        "reports": db.session.scalar(select(func.count(func.distinct(ReviewReport.review_id)))
                                     .where(ReviewReport.resolved_at.is_(None))) or 0,
    }
