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
from marketplace.trust.services import REVIEW_WINDOW_DAYS, fulfilment_of


def active_badges(producer_ids, on: date | None = None) -> dict[int, list[Certification]]:
    """Verified certificates valid today, per producer (one query for a whole page).

    A badge disappears by itself the day after `valid_until`: validity is checked here,
    not by a job that might not run.
    """
    ids = list(set(producer_ids))
    result: dict[int, list[Certification]] = defaultdict(list)
    if not ids:
        return result
    day = on or utcnow().date()
    rows = db.session.scalars(
        select(Certification)
        .where(Certification.producer_id.in_(ids), Certification.status == CertificationStatus.VERIFIED,
               Certification.valid_from <= day, Certification.valid_until >= day)
        .options(joinedload(Certification.producer))
        .order_by(Certification.scheme, Certification.valid_until.desc())
    )
    for certification in rows:
        result[certification.producer_id].append(certification)
    return result


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

def _district_certificates(day: date):
    """Verified, valid organic-district certificates: their issuer names the district."""
    return (Certification.scheme == CertificationScheme.ORGANIC_DISTRICT,
            Certification.status == CertificationStatus.VERIFIED,
            Certification.valid_from <= day, Certification.valid_until >= day)


def district_by_key(key: str, today: date | None = None) -> str | None:
    """The organic district's name for a URL key (its slug or its exact name), or None.

    A district is named by producers (`Producer.organic_district`) or by the issuer of a
    verified organic-district membership certificate.
    """
    day = today or utcnow().date()
    names = list(db.session.scalars(select(Producer.organic_district).where(Producer.organic_district != "")
                                    .distinct()))
    names += list(db.session.scalars(select(Certification.issuer).where(*_district_certificates(day)).distinct()))
    wanted = slugify(key)
    for name in names:
        if name == key or slugify(name) == wanted:
            return name
    return None


def district_members(name: str, today: date | None = None):
    """(producer, badges, verified member?) of the district: verified members first, then by name."""
    day = today or utcnow().date()
    certified = select(Certification.producer_id).where(*_district_certificates(day), Certification.issuer == name)
    producers = list(db.session.scalars(
        select(Producer).where(or_(Producer.organic_district == name, Producer.id.in_(certified)))
        .options(joinedload(Producer.photo)).order_by(Producer.name)))
    badges = active_badges([p.id for p in producers], day)

    def verified(producer) -> bool:
        return any(c.scheme == CertificationScheme.ORGANIC_DISTRICT for c in badges.get(producer.id, []))

    producers.sort(key=lambda p: (not verified(p), p.name.lower()))
    return [(p, badges.get(p.id, []), verified(p)) for p in producers]


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
                    Order.picked_up_at >= since, ~reviewed.exists())
             .options(joinedload(Order.market_day).joinedload(MarketDay.market))
             .distinct()
             .order_by(Order.picked_up_at.desc(), Producer.name))
    if producer_id is not None:
        query = query.where(Producer.id == producer_id)
    return [(order, producer) for order, producer in db.session.execute(query).unique()]


def trust_summary_parts(producer, fulfilment, certificate_count: int) -> list[str]:
    """The trust summary as short phrases, e.g. '4.6 from 23 reviews', '97% of 150 ordered items fulfilled'."""
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
    parts.append(str(_l("selling here since %(year)s", year=producer.created_at.year)))
    return parts


def producer_trust(producer, review_limit: int = 5, viewer=None) -> dict:
    """Everything the producer page's trust block shows, in a handful of queries."""
    fulfilment = fulfilment_of([producer.id])[producer.id]
    badges = active_badges([producer.id]).get(producer.id, [])
    reviews = list(db.session.scalars(
        select(Review).where(Review.producer_id == producer.id, Review.status == ReviewStatus.PUBLISHED)
        .options(*_review_options())
        .order_by(Review.created_at.desc(), Review.id.desc()).limit(review_limit)))
    can_review = []
    if viewer is not None and getattr(viewer, "is_authenticated", False):
        can_review = reviewable_for(viewer.id, producer.id)
    return {
        "parts": trust_summary_parts(producer, fulfilment, len(badges)),
        "fulfilment": fulfilment,
        "badges": badges,
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
