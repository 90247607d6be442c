"""Telling people where they are: followers, producers and organizers, by the channels they chose.

Every message goes through `notifications.channels.notify`, whose unique notice per
(person, kind, occasion) is the rule "at most one message per market day per kind": a job
that runs twice, or on two hosts at once, tells nobody twice. The jobs also skip, in SQL,
whoever was told already, so a rerun costs one query per market day.

- Followers of a market: "ordering for <day> is open" (`tell_ordering_open`) once the day's
  window opens, and "order by <cutoff>" (`tell_order_by`) a few hours before it closes, unless
  they have ordered for that day. Neither is sent in the market's night (QUIET_HOURS_*): an
  opening at night is told in the morning, an "order by" due at night is moved to the evening.
- Followers of a producer: "new this week" (`tell_producer_news`) when the producer added
  products or stock for a day whose ordering is open (producers' `stock_added` signal, kept
  as `ProducerNews` until then), one message per follower and day for all their producers.
- Producers: each new order for a day (`tell_producers_of_orders`, a minute after it is
  confirmed) and a summary the evening before (`send_producer_summaries`).
- Organizers: a certificate waiting for verification, a vendor's application (`tell_organizers`).
- Customers: a refund that went through (`tell_refunds`; the other order updates are sent by
  orders itself, in the transition's transaction).

The jobs read what happened (a confirmed order, a pending certificate, a refund) rather than
asking the features below to send a signal: no feature has to know that these messages exist,
and checkout's transaction does not grow.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    String,
    cast,
    delete,
    distinct,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.models import User
from marketplace.alerts.models import ProducerNews
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.core.locale import DayText, LocalDateTimeText
from marketplace.follows.models import Follow
from marketplace.markets.models import (
    Market,
    MarketDay,
    MarketDayStatus,
    MarketOrganizer,
    Vendor,
    VendorStatus,
)
from marketplace.markets.services import ordering_open_condition
from marketplace.notifications.channels import Recipient, notify, told
from marketplace.notifications.kinds import (
    NEW_THIS_WEEK,
    ORDER_BY,
    ORDER_UPDATES,
    ORDERING_OPEN,
    ORGANIZER_TASKS,
    PRODUCER_ORDERS,
    PRODUCER_SUMMARY,
)
from marketplace.notifications.models import Notice
from marketplace.orders.models import LineStatus, Order, OrderLine, OrderStatus
from marketplace.payments.models import Payment, PaymentRefund
from marketplace.producers.models import Offer, Producer, Product, StockMode
from marketplace.trust.models import Certification, CertificationStatus

#: Messages written per job run; the next run (minutes later) goes on where this one stopped.
BATCH = 2000
#: Commit every so many messages: a long run never holds the write lock for long.
COMMIT_EVERY = 100
#: A producer's additions are told this long after the last one (they fill a grid cell by cell).
NEWS_SETTLE = timedelta(minutes=10)
#: "Ordering is open" is not told for a window that opened longer ago (a new follower, a new host).
OPENING_TOLD_FOR = timedelta(days=2)
#: Pending certificates and applications this recent are told to the organizers.
TASKS_TOLD_FOR = timedelta(days=2)
REFUNDS_TOLD_FOR = timedelta(days=7)
#: New orders this recent are told to their producers (a worker down for a while catches up).
ORDERS_TOLD_FOR = timedelta(days=1)
#: Orders that count as "has ordered for that day" (a pending card payment too).
ORDERED = (OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED, OrderStatus.READY, OrderStatus.PICKED_UP)


def _occasion(day: MarketDay) -> str:
    return f"day-{day.id}"


class _Committer:
    """Counts messages written and commits every COMMIT_EVERY; False once the batch is full."""

    def __init__(self):
        self.count = 0

    def add(self, told_now: bool) -> bool:
        if told_now:
            self.count += 1
            if self.count % COMMIT_EVERY == 0:
                db.session.commit()
        return self.count < BATCH


# --- Quiet hours -------------------------------------------------------------------------------

def _local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))


def is_quiet(now: datetime, zone: str) -> bool:
    """Night at the market (QUIET_HOURS_START to QUIET_HOURS_END, local): no reminders then."""
    start, end = current_app.config["QUIET_HOURS_START"], current_app.config["QUIET_HOURS_END"]
    hour = _local(now, zone).hour
    return (hour >= start or hour < end) if start > end else start <= hour < end


def order_by_due_at(day: MarketDay) -> datetime:
    """When "order by" goes: ORDER_BY_REMINDER_HOURS before the cutoff, or, if that falls in the
    market's night, the last evening hour before it."""
    config = current_app.config
    zone = day.market.timezone
    due = _local(day.cutoff_at - timedelta(hours=config["ORDER_BY_REMINDER_HOURS"]), zone)
    evening = max(config["QUIET_HOURS_START"] - 1, 0)
    if due.hour >= config["QUIET_HOURS_START"]:
        due = due.replace(hour=evening, minute=0, second=0, microsecond=0)
    elif due.hour < config["QUIET_HOURS_END"]:
        due = (due - timedelta(days=1)).replace(hour=evening, minute=0, second=0, microsecond=0)
    return due.astimezone(day.cutoff_at.tzinfo)


def summary_due_at(day: MarketDay) -> datetime:
    """The producers' summary: the evening before at PRODUCER_SUMMARY_HOUR, or at the cutoff if it is
    later that evening (orders still come in), but before the night starts."""
    config = current_app.config
    zone = ZoneInfo(day.market.timezone)
    eve = day.date - timedelta(days=1)
    earliest = datetime.combine(eve, time(config["PRODUCER_SUMMARY_HOUR"]), zone)
    latest = datetime.combine(eve, time(max(config["QUIET_HOURS_START"] - 1, config["PRODUCER_SUMMARY_HOUR"])), zone)
    return min(max(day.cutoff_at, earliest), latest)


# --- Followers of a market ------------------------------------------------------------------------

def _followers_not_told(market_id: int, kind: str, occasion: str, *, without_order_for: int | None = None):
    query = (select(User).join(Follow, Follow.user_id == User.id)
             .where(Follow.market_id == market_id, User.active.is_(True), User.id.not_in(told(kind, occasion)))
             .order_by(User.id).limit(BATCH))
    if without_order_for is not None:
        query = query.where(User.id.not_in(select(Order.customer_id).where(
            Order.market_day_id == without_order_for, Order.status.in_(ORDERED))))
    return db.session.scalars(query).all()


def _producer_count(day: MarketDay) -> int:
    return db.session.scalar(
        select(func.count(distinct(Product.producer_id))).select_from(Offer).join(Product, Product.id == Offer.product_id)
        .where(Offer.market_day_id == day.id, Offer.quantity_milli > Offer.reserved_milli, Product.active.is_(True))) or 0


def _days(*conditions) -> list[MarketDay]:
    return db.session.scalars(
        select(MarketDay).join(Market, Market.id == MarketDay.market_id)
        .where(MarketDay.status == MarketDayStatus.SCHEDULED, Market.active.is_(True), *conditions)
        .options(joinedload(MarketDay.market)).order_by(MarketDay.cutoff_at, MarketDay.id)).unique().all()


def tell_ordering_open(now: datetime | None = None) -> int:
    """Tell every follower of a market that ordering for a day is open (once per day); returns how many."""
    now = now or utcnow()
    batch = _Committer()
    for day in _days(ordering_open_condition(now), MarketDay.ordering_opens_at > now - OPENING_TOLD_FOR):
        market = day.market
        if is_quiet(now, market.timezone):
            continue  # told in the morning
        # Someone who has ordered for the day already (then followed the market) needs no "order now".
        followers = _followers_not_told(market.id, ORDERING_OPEN, _occasion(day), without_order_for=day.id)
        producers = _producer_count(day) if followers else 0
        for user in followers:
            notice = notify(Recipient.of(user), ORDERING_OPEN, "ordering_open",
                            _l("Ordering for %(day)s at %(market)s is open", day=DayText(day.date), market=market.name),
                            occasion=_occasion(day), page=("catalog.market", {"slug": market.slug}),
                            button=_l("Order now"), user=user, market=market, market_day=day, producers=producers)
            if not batch.add(notice is not None):
                return batch.count
    return batch.count


def tell_order_by(now: datetime | None = None) -> int:
    """Remind followers who have not ordered for a day that its ordering closes soon (once per day)."""
    now = now or utcnow()
    hours = current_app.config["ORDER_BY_REMINDER_HOURS"]
    batch = _Committer()
    # The due time may move up to a night earlier than ORDER_BY_REMINDER_HOURS before the cutoff.
    for day in _days(ordering_open_condition(now), MarketDay.cutoff_at <= now + timedelta(hours=hours + 24),
                     # A window that opened less than an hour ago was just told as open.
                     MarketDay.ordering_opens_at <= now - timedelta(hours=1)):
        if order_by_due_at(day) > now:
            continue
        market = day.market
        for user in _followers_not_told(market.id, ORDER_BY, _occasion(day), without_order_for=day.id):
            notice = notify(Recipient.of(user), ORDER_BY, "order_by",
                            _l("Order by %(time)s for %(day)s at %(market)s",
                               time=LocalDateTimeText(day.cutoff_at, market.timezone), day=DayText(day.date),
                               market=market.name),
                            occasion=_occasion(day), page=("catalog.market", {"slug": market.slug}),
                            button=_l("Order now"), user=user, market=market, market_day=day)
            if not batch.add(notice is not None):
                return batch.count
    return batch.count


# --- Followers of a producer ------------------------------------------------------------------------

def remember_stock_added(producer: Producer, market_day_ids: list[int] | None = None, **_extra) -> None:
    """Receiver of producers' `stock_added`: keep the news until the day's ordering is open.

    `market_day_ids` None means standing stock (crafts, preserves): every coming day of the
    markets the producer sells at.
    """
    now = utcnow()
    if market_day_ids is None:
        market_day_ids = list(db.session.scalars(
            select(MarketDay.id).join(Vendor, Vendor.market_id == MarketDay.market_id)
            .where(Vendor.producer_id == producer.id, Vendor.status == VendorStatus.APPROVED,
                   MarketDay.status == MarketDayStatus.SCHEDULED, MarketDay.cutoff_at > now,
                   MarketDay.ordering_opens_at <= now + timedelta(days=7))))
    for day_id in sorted(set(market_day_ids)):
        moved = db.session.execute(
            update(ProducerNews).where(ProducerNews.producer_id == producer.id, ProducerNews.market_day_id == day_id,
                                       ProducerNews.told_at.is_(None))
            .values(noticed_at=now).execution_options(synchronize_session=False))
        if moved.rowcount:
            continue
        exists = db.session.scalar(select(ProducerNews.id).where(ProducerNews.producer_id == producer.id,
                                                                  ProducerNews.market_day_id == day_id))
        if exists is None:
            with db.session.begin_nested():
                db.session.add(ProducerNews(producer_id=producer.id, market_day_id=day_id, noticed_at=now))


@dataclass
class ProducerBrings:
    producer: Producer
    products: list[str]
    more: int


def tell_producer_news(now: datetime | None = None) -> int:
    """Tell followers of producers what those producers added for a day whose ordering is open."""
    now = now or utcnow()
    # News of days gone by (cutoff passed, cancelled) will never be told.
    db.session.execute(delete(ProducerNews).where(ProducerNews.told_at.is_(None), ProducerNews.market_day_id.in_(
        select(MarketDay.id).where((MarketDay.cutoff_at <= now) | (MarketDay.status != MarketDayStatus.SCHEDULED)))))
    news = db.session.scalars(
        select(ProducerNews).join(MarketDay, MarketDay.id == ProducerNews.market_day_id)
        .where(ProducerNews.told_at.is_(None), ordering_open_condition(now))
        .options(joinedload(ProducerNews.market_day).joinedload(MarketDay.market))).unique().all()
    by_day: dict[int, list[ProducerNews]] = defaultdict(list)
    for item in news:
        by_day[item.market_day_id].append(item)
    batch = _Committer()
    for items in by_day.values():
        day = items[0].market_day
        if max(item.noticed_at for item in items) > now - NEWS_SETTLE or is_quiet(now, day.market.timezone):
            continue  # still adding, or night at the market
        if not _tell_news_of_day(day, [item.producer_id for item in items], batch):
            return batch.count
        for item in items:
            item.told_at = now
        db.session.flush()
    return batch.count


def _tell_news_of_day(day: MarketDay, producer_ids: list[int], batch: _Committer) -> bool:
    occasion = _occasion(day)
    follows = db.session.execute(
        select(Follow.user_id, Follow.producer_id).join(User, User.id == Follow.user_id)
        .where(Follow.producer_id.in_(producer_ids), User.active.is_(True),
               Follow.user_id.not_in(told(NEW_THIS_WEEK, occasion)))
        .order_by(Follow.user_id, Follow.producer_id)).all()
    if not follows:
        return True
    wanted: dict[int, list[int]] = defaultdict(list)
    for user_id, producer_id in follows:
        wanted[user_id].append(producer_id)
    brings = _what_they_bring(day, {producer_id for _user, producer_id in follows})
    users = {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(list(wanted))))}
    market = day.market
    for user_id, ids in wanted.items():
        theirs = [brings[producer_id] for producer_id in ids if producer_id in brings]
        if not theirs:
            continue
        page = (("catalog.producer", {"slug": theirs[0].producer.slug}) if len(theirs) == 1
                else ("catalog.market", {"slug": market.slug}))
        notice = notify(Recipient.of(users[user_id]), NEW_THIS_WEEK, "new_this_week",
                        _l("New for %(day)s at %(market)s from producers you follow", day=DayText(day.date),
                           market=market.name),
                        occasion=occasion, page=page, button=_l("See what they bring"),
                        user=users[user_id], market=market, market_day=day, brings=theirs)
        if not batch.add(notice is not None):
            return False
    return True


def _what_they_bring(day: MarketDay, producer_ids: set[int], shown: int = 5) -> dict[int, ProducerBrings]:
    """For each producer, the names of the products with stock left that day (a few), in one query."""
    rows = db.session.execute(
        select(Product.producer_id, Product.name).join(Offer, Offer.product_id == Product.id)
        .where(Offer.market_day_id == day.id, Product.producer_id.in_(producer_ids), Product.active.is_(True),
               Offer.quantity_milli > Offer.reserved_milli)
        .order_by(Product.producer_id, Product.name)).all()
    inventory = db.session.execute(
        select(Product.producer_id, Product.name).join(Vendor, Vendor.producer_id == Product.producer_id)
        .where(Vendor.market_id == day.market_id, Vendor.status == VendorStatus.APPROVED,
               Product.producer_id.in_(producer_ids), Product.active.is_(True),
               Product.stock_mode == StockMode.INVENTORY,
               Product.inventory_milli > Product.inventory_reserved_milli)
        .order_by(Product.producer_id, Product.name)).all()
    names: dict[int, list[str]] = defaultdict(list)
    for producer_id, name in [*rows, *inventory]:
        if name not in names[producer_id]:
            names[producer_id].append(name)
    producers = {p.id: p for p in db.session.scalars(select(Producer).where(Producer.id.in_(list(names))))}
    return {pid: ProducerBrings(producers[pid], sorted(found)[:shown], max(len(found) - shown, 0))
            for pid, found in names.items()}


# --- Producers: each new order, and the evening before ------------------------------------------------

def tell_producers_of_orders(now: datetime | None = None) -> int:
    """Each producer hears of every new order with their products (once per order).

    A job a minute after the confirmation rather than a receiver inside checkout: the checkout
    transaction, which holds stock rows locked, stays as short as it was.
    """
    now = now or utcnow()
    told_already = select(Notice.id).where(Notice.kind == PRODUCER_ORDERS,
                                           Notice.occasion == literal("order-") + cast(Order.id, String))
    orders = db.session.scalars(
        select(Order).where(Order.status.in_([OrderStatus.CONFIRMED, OrderStatus.READY]),
                            Order.confirmed_at >= now - ORDERS_TOLD_FOR, ~exists(told_already))
        .options(selectinload(Order.lines), joinedload(Order.market_day).joinedload(MarketDay.market))
        .order_by(Order.id).limit(BATCH)).unique().all()
    if not orders:
        return 0
    owners = {producer_id: (producer, user) for producer_id, producer, user in db.session.execute(
        select(Producer.id, Producer, User).join(User, User.id == Producer.user_id)
        .where(Producer.id.in_({line.producer_id for order in orders for line in order.lines})))}
    count = 0
    for order in orders:
        by_producer: dict[int, list[OrderLine]] = defaultdict(list)
        for line in order.lines:
            if line.status != LineStatus.CANCELLED:
                by_producer[line.producer_id].append(line)
        day = order.market_day
        for producer_id, lines in by_producer.items():
            producer, owner = owners[producer_id]
            notice = notify(Recipient.of(owner), PRODUCER_ORDERS, "producer_new_order",
                            _l("New order %(code)s for %(day)s at %(market)s", code=order.pickup_code,
                               day=DayText(day.date), market=day.market.name),
                            occasion=f"order-{order.id}", page=("orders.pick_list", {"market_day_id": day.id}),
                            button=_l("Open the pick list"), user=owner, producer=producer, order=order,
                            market_day=day, lines=lines)
            count += notice is not None
        # Committed order by order: a crash never leaves one producer of an order told and another not.
        db.session.commit()
    return count


@dataclass
class DaySummary:
    orders: int
    #: (product name, unit, quantity in thousandths), the largest first.
    products: list[tuple[str, str, int]]


def send_producer_summaries(now: datetime | None = None) -> int:
    """The evening before a market day, each producer with orders gets "14 orders: 32 kg potatoes, ..."."""
    now = now or utcnow()
    batch = _Committer()
    for day in _days(MarketDay.opens_at > now, MarketDay.opens_at <= now + timedelta(hours=48)):
        if summary_due_at(day) > now:
            continue
        summaries = _summaries(day)
        if not summaries:
            continue
        producers = db.session.scalars(
            select(Producer).where(Producer.id.in_(list(summaries)),
                                   Producer.user_id.not_in(told(PRODUCER_SUMMARY, _occasion(day))))
            .options(joinedload(Producer.user))).all()
        for producer in producers:
            owner = producer.user
            summary = summaries[producer.id]
            notice = notify(Recipient.of(owner), PRODUCER_SUMMARY, "producer_summary",
                            _l("Tomorrow at %(market)s: what to bring", market=day.market.name),
                            occasion=_occasion(day), page=("orders.pick_list", {"market_day_id": day.id}),
                            button=_l("Open the pick list"), user=owner, producer=producer, market_day=day,
                            summary=summary)
            if not batch.add(notice is not None):
                return batch.count
    return batch.count


def _summaries(day: MarketDay) -> dict[int, DaySummary]:
    """Per producer: orders to prepare for the day and the quantity of each product (two queries)."""
    live = (Order.market_day_id == day.id, Order.status.in_([OrderStatus.CONFIRMED, OrderStatus.READY]),
            OrderLine.status != LineStatus.CANCELLED)
    counts = dict(db.session.execute(
        select(OrderLine.producer_id, func.count(distinct(OrderLine.order_id))).join(Order, Order.id == OrderLine.order_id)
        .where(*live).group_by(OrderLine.producer_id)).all())
    quantities: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for producer_id, name, unit, quantity in db.session.execute(
            select(OrderLine.producer_id, OrderLine.product_name, OrderLine.unit, func.sum(OrderLine.quantity_milli))
            .join(Order, Order.id == OrderLine.order_id).where(*live)
            .group_by(OrderLine.producer_id, OrderLine.product_name, OrderLine.unit)):
        quantities[producer_id].append((name, unit, int(quantity)))
    return {producer_id: DaySummary(count, sorted(quantities[producer_id], key=lambda item: (-item[2], item[0])))
            for producer_id, count in counts.items()}


# --- Organizers -----------------------------------------------------------------------------------------

def tell_organizers(now: datetime | None = None) -> int:
    """Organizers hear of a certificate waiting for them and of a vendor's application (once each)."""
    now = now or utcnow()
    batch = _Committer()
    certificates = db.session.scalars(
        select(Certification).where(Certification.status == CertificationStatus.PENDING,
                                    Certification.created_at >= now - TASKS_TOLD_FOR)
        .options(joinedload(Certification.producer)).order_by(Certification.id)).all()
    for certification in certificates:
        occasion = f"cert-{certification.id}"
        organizers = db.session.scalars(
            select(User).where(User.active.is_(True), User.id != certification.producer.user_id,
                               User.id.in_(select(MarketOrganizer.user_id)
                                           .join(Vendor, Vendor.market_id == MarketOrganizer.market_id)
                                           .where(Vendor.producer_id == certification.producer_id,
                                                  Vendor.status.in_([VendorStatus.APPROVED, VendorStatus.APPLIED]))),
                               User.id.not_in(told(ORGANIZER_TASKS, occasion)))).all()
        for user in organizers:
            notice = notify(Recipient.of(user), ORGANIZER_TASKS, "organizer_certificate",
                            _l("A certificate of %(producer)s waits for verification",
                               producer=certification.producer.name),
                            occasion=occasion, page=("trust.verification_detail", {"cert_id": certification.id}),
                            button=_l("Verify it"), user=user, certification=certification,
                            producer=certification.producer)
            if not batch.add(notice is not None):
                return batch.count
    applications = db.session.scalars(
        select(Vendor).where(Vendor.status == VendorStatus.APPLIED, Vendor.created_at >= now - TASKS_TOLD_FOR)
        .options(joinedload(Vendor.market), joinedload(Vendor.producer)).order_by(Vendor.id)).all()
    for vendor in applications:
        # Applying again after a refusal is a new application: its own occasion.
        occasion = f"vendor-{vendor.id}-{int(vendor.created_at.timestamp())}"
        organizers = db.session.scalars(
            select(User).where(User.active.is_(True), User.id.in_(
                select(MarketOrganizer.user_id).where(MarketOrganizer.market_id == vendor.market_id)),
                User.id.not_in(told(ORGANIZER_TASKS, occasion)))).all()
        for user in organizers:
            notice = notify(Recipient.of(user), ORGANIZER_TASKS, "organizer_vendor_applied",
                            _l("%(producer)s applies to sell at %(market)s", producer=vendor.producer.name,
                               market=vendor.market.name),
                            occasion=occasion, page=("markets.vendors", {"market_id": vendor.market_id}),
                            button=_l("See the application"), user=user, vendor=vendor,
                            producer=vendor.producer, market=vendor.market)
            if not batch.add(notice is not None):
                return batch.count
    return batch.count


# --- Customers: refunds -----------------------------------------------------------------------------------

def tell_refunds(now: datetime | None = None) -> int:
    """A customer hears when money went back to their card (a refund Stripe confirmed), once per refund."""
    now = now or utcnow()
    batch = _Committer()
    refunds = db.session.scalars(
        select(PaymentRefund).where(PaymentRefund.provider_refund_id.is_not(None),
                                    PaymentRefund.created_at >= now - REFUNDS_TOLD_FOR)
        .options(joinedload(PaymentRefund.payment).joinedload(Payment.order).joinedload(Order.customer),
                 joinedload(PaymentRefund.payment).joinedload(Payment.order).joinedload(Order.market_day)
                 .joinedload(MarketDay.market),
                 joinedload(PaymentRefund.payment).joinedload(Payment.order).selectinload(Order.lines))
        .order_by(PaymentRefund.id)).unique().all()
    for refund in refunds:
        order = refund.payment.order
        customer = order.customer
        notice = notify(Recipient.of(customer), ORDER_UPDATES, "order_refunded",
                        _l("Your order %(code)s: money refunded to your card", code=order.pickup_code),
                        occasion=f"refund-{refund.id}", page=("orders.order_detail", {"order_id": order.id}),
                        button=_l("See the order"), customer=customer, order=order,
                        amount_minor=refund.amount_minor, currency=refund.payment.currency)
        if not batch.add(notice is not None):
            return batch.count
    return batch.count


def recipient_of(user_id: int) -> Recipient | None:
    """An account as notifications knows it (the Telegram bot's language, the email on linking)."""
    user = db.session.get(User, user_id)
    return Recipient.of(user) if user is not None else None
