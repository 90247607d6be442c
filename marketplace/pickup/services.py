"""The pickup point on market day: find an order by its code, hand it over (and undo a
mistake), no-shows, the organizer's live summary of the day, and closing the day.

The transitions themselves are the orders services (`hand_over`, `undo_hand_over`,
`mark_no_show`, `mark_line_missing`), each one conditional UPDATE on the order's state, so
two organizers pressing the same button at once do it once. This module adds what the
pickup point needs around them, money included: it stands above orders and payments, so a
hand-over decides here, once, what goes on the card and what is paid in cash.
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidState, NotAllowed
from marketplace.core.extensions import db
from marketplace.core.locale import format_local_datetime, format_local_time
from marketplace.core.money import cash_minor, cash_minor_up, money_whole, whole_unit_step
from marketplace.markets.models import MarketDay, MarketDayStatus, PickupSlot
from marketplace.markets.services import can_manage, close_day
from marketplace.orders import services as orders
from marketplace.orders.models import (
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)
from marketplace.orders.services import PICKUP_CODE_LENGTH
from marketplace.payments import services as payments
from marketplace.payments.models import Payment
from marketplace.producers.models import Producer

#: Orders still to be handed over at the pickup point.
TO_HAND_OVER = (OrderStatus.CONFIRMED, OrderStatus.READY)
#: What the pickup point shows (a card order never authorised is not an order of the day).
SHOWN_STATES = (OrderStatus.CONFIRMED, OrderStatus.READY, OrderStatus.PICKED_UP, OrderStatus.NO_SHOW,
                OrderStatus.CANCELLED)

#: Look-alikes typed on a Cyrillic (Russian, Kazakh, Kyrgyz) keyboard, read as the Latin
#: letter or digit of the code alphabet they look like; a volunteer copies what they see.
_LOOKALIKES = str.maketrans({
    "А": "A", "В": "B", "Е": "E", "З": "3", "К": "K", "М": "M", "Н": "H", "Р": "P", "С": "C",
    "Т": "T", "У": "Y", "Ү": "Y", "Х": "X",
})
#: Typed or scanned separators people add ("ABC DEF", "ABC-DEF").
_SEPARATORS = str.maketrans("", "", " \t\r\n-_.·\u00a0\u2010\u2011\u2012\u2013\u2014")


def normalise_code(text: str | None) -> str:
    """A typed or scanned pickup code as stored: upper case, no spaces, look-alikes mapped."""
    text = unicodedata.normalize("NFKC", text or "").upper()
    return text.translate(_SEPARATORS).translate(_LOOKALIKES)


def _require_manager(actor: User | None, market_day: MarketDay) -> None:
    if actor is None or not can_manage(actor, market_day.market):
        raise NotAllowed()


# --- Finding an order ------------------------------------------------------------------

def _order_query():
    return select(Order).options(
        selectinload(Order.lines).joinedload(OrderLine.producer), joinedload(Order.customer),
        joinedload(Order.pickup_slot), joinedload(Order.market_day).joinedload(MarketDay.market))


def find_order(market_day: MarketDay, actor: User, code_text: str | None) -> Order | None:
    """The order of this market day with this pickup code (typed loosely), or None.

    A code of another market day is not found: codes are unique only within a day.
    """
    _require_manager(actor, market_day)
    code = normalise_code(code_text)
    if not code or len(code) > 2 * PICKUP_CODE_LENGTH:
        return None
    return db.session.scalar(_order_query().where(Order.market_day_id == market_day.id, Order.pickup_code == code))


def order_of_day(market_day: MarketDay, actor: User, order_id: int) -> Order | None:
    """The order (lines, producers, customer, slot) if it belongs to this market day."""
    _require_manager(actor, market_day)
    return db.session.scalar(_order_query().where(Order.id == order_id, Order.market_day_id == market_day.id))


# --- What to collect -------------------------------------------------------------------

@dataclass
class AmountDue:
    """What the customer pays at hand-over, and how."""

    total_minor: int
    currency: str
    method: PaymentMethod
    #: Card orders: what is charged to the card (never more than it holds).
    card_minor: int = 0
    #: Collected in cash: the whole total for a cash order, what is above the hold for a card.
    cash_minor: int = 0
    #: The card was charged before the hand-over (captured early): not charged again.
    charged_early: bool = False
    #: A cash order because its card hold lapsed or was cancelled (the pickup point says so).
    card_lapsed_at: datetime | None = None
    #: The card hold lapses before this market day closes: charge it early in the day, or take cash.
    hold_lapses_at: datetime | None = None


def amount_due(order: Order) -> AmountDue:
    """Cash to collect and card amount to capture if the order were handed over now."""
    return _amount_due(order, _card_payment(order))


def _card_payment(order: Order) -> Payment | None:
    return payments.current_payment(order) if order.payment_method == PaymentMethod.CARD else None


def _amount_due(order: Order, payment: Payment | None) -> AmountDue:
    total, currency = order.total_minor, order.currency
    if order.payment_method != PaymentMethod.CARD:
        # Cash changes hands in whole units where the currency has no fractions in use: the
        # weighed 587.10 ₸ is paid 587 ₸ (see docs/architecture.md, "Cash in whole units").
        return AmountDue(total, currency, order.payment_method, cash_minor=cash_minor(total, currency),
                         card_lapsed_at=order.card_lapsed_at)
    charged = payments.card_charged_minor(payment)
    if charged:
        # The card's part is fixed already: the rest is cash, rounded like a cash order.
        return AmountDue(total, currency, order.payment_method, card_minor=min(charged, total),
                         cash_minor=cash_minor(max(0, total - charged), currency), charged_early=True)
    hold = payments.card_hold_minor(payment)
    # A card that holds nothing is still asked for the total: the capture then refuses,
    # and the organizer is told to take cash instead.
    over = max(0, total - hold) if hold is not None else 0
    # What is above the hold is paid in cash rounded up to the whole unit, and the card takes
    # the exact rest (less than it holds): card and cash add up to the total to the tiyn.
    cash = cash_minor_up(over, currency) if over else 0
    lapses = payment.capture_before if payment is not None and payment.capture_before is not None \
        and payment.capture_before < order.market_day.closes_at else None
    return AmountDue(total, currency, order.payment_method, card_minor=max(0, total - cash), cash_minor=cash,
                     hold_lapses_at=lapses)


def lines_by_producer(order: Order) -> list[tuple[Producer, list[OrderLine]]]:
    """The order's lines grouped by producer (by name), cancelled lines last in each group."""
    groups: dict[int, list[OrderLine]] = defaultdict(list)
    for line in order.lines:
        groups[line.producer_id].append(line)
    result = [(lines[0].producer, sorted(lines, key=lambda l: (l.status == LineStatus.CANCELLED, l.id)))
              for lines in groups.values()]
    return sorted(result, key=lambda item: item[0].name.lower())


# --- Hand-over and its undo --------------------------------------------------------------

#: What an organizer may confirm to hand over anyway (the form sends them back as `confirm`).
EARLY = "early"
UNWEIGHED = "unweighed"
ANYWAY = frozenset({EARLY, UNWEIGHED})


@dataclass
class HandoverCheck:
    """Something unusual about handing this order over now, and why it matters."""

    code: str
    message: str


class NeedsConfirmation(DomainError):
    """The hand-over is refused until the organizer confirms each of `checks` explicitly."""

    def __init__(self, checks: list[HandoverCheck]):
        super().__init__(" ".join(check.message for check in checks), codes=[check.code for check in checks])
        self.checks = checks


def handover_checks(order: Order, now: datetime | None = None) -> list[HandoverCheck]:
    """What needs an explicit yes before this order is handed over now: the market day has
    not opened yet, or by-weight lines were never weighed (the estimate would be charged)."""
    now = now or utcnow()
    checks = []
    market_day = order.market_day
    if now < market_day.opens_at:
        checks.append(HandoverCheck(EARLY, _(
            "The market day has not opened yet (it opens %(when)s). Hand over now only if the customer "
            "is really here to take the order.", when=format_local_datetime(market_day.opens_at,
                                                                            market_day.market.timezone))))
    unweighed = [line for line in order.lines if line.sold_by_weight and line.actual_quantity_milli is None
                 and line.status in (LineStatus.RESERVED, LineStatus.PACKED)]
    if unweighed:
        checks.append(HandoverCheck(UNWEIGHED, _(
            "Not weighed: %(lines)s. The customer will pay the estimate as ordered (%(total)s), not the "
            "weighed amount.", lines=", ".join(line.product_name for line in unweighed),
            total=money_whole(order.total_minor, order.currency))))
    return checks


@dataclass
class HandedOver:
    """An order handed over, and what its page says about the card's refunds."""

    order: Order
    #: Card refunds of this order Stripe has not confirmed yet (an excess refunded at this
    #: hand-over whose answer was lost, or the refund of an earlier undo).
    refund_pending_minor: int = 0


def hand_over(order: Order, actor: User, cash_received_minor: int | None = None,
              now: datetime | None = None, confirm: frozenset[str] | set[str] = frozenset()) -> HandedOver:
    """Hand the order over and take its money, decided here once.

    Refused (`NeedsConfirmation`) before the market day opens or with by-weight lines never
    weighed, unless the organizer confirmed each (`confirm` holds EARLY, UNWEIGHED).
    A cash order records the cash received (its total unless told). A card order is charged
    what its card holds, at most the total; what is above the hold is collected in cash and
    recorded as such (`cash_received_minor` is not asked for a card order). One payment
    lookup, whatever the method (a cash order may keep a refund of an earlier undo pending);
    the access check is asked of the database once per transaction (`can_manage`); the state
    check is the transition's (`orders.hand_over`), and the card is charged only after it,
    so two organizers pressing at once charge it once.
    """
    _require_manager(actor, order.market_day)
    order = _locked(order)
    unconfirmed = [check for check in handover_checks(order, now) if check.code not in confirm]
    if unconfirmed and order.status in TO_HAND_OVER:
        raise NeedsConfirmation(unconfirmed)
    payment = payments.current_payment(order)
    due = _amount_due(order, payment if order.payment_method == PaymentMethod.CARD else None)
    if due.method == PaymentMethod.CARD:
        cash_received_minor = due.cash_minor or None
    elif cash_received_minor is None:
        cash_received_minor = due.cash_minor
    orders.hand_over(order, actor, cash_received_minor=cash_received_minor, now=now)
    if due.method == PaymentMethod.CARD:
        charged = payments.capture_at_handover(payment, due.card_minor, actor)
        if charged < due.card_minor:
            # Stripe had captured less before (a capture whose answer was lost, the line weighed
            # heavier since): the card cannot be charged twice, the rest is paid in cash.
            orders.record_cash_received(order, due.cash_minor + due.card_minor - charged)
    return HandedOver(order, payments.pending_refund_minor(payment))


def _locked(order: Order) -> Order:
    """The order and its lines as committed now, the order's row locked until the commit: what
    the card is charged is decided on the total a weight or a missing line changed last
    (those lock the row too), never on a total read before (SQLite: locked at BEGIN)."""
    order = db.session.scalars(select(Order).where(Order.id == order.id).with_for_update()
                               .execution_options(populate_existing=True)).one()
    db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                       .execution_options(populate_existing=True)).all()
    return order


def take_cash_instead(order: Order, actor: User) -> Order:
    """The card cannot be charged at the pickup point (Stripe unreachable, the hold gone): the
    order becomes a cash order, the customer is told, and the hold is let go (now, or by the
    reconciliation when Stripe is back)."""
    _require_manager(actor, order.market_day)
    if order.payment_method != PaymentMethod.CARD:
        raise InvalidState(_("This order is already paid in cash at pickup."))
    payments.cash_at_pickup_instead(order)
    return order


def undo_hand_over(order: Order, actor: User, now: datetime | None = None) -> Order:
    """A hand-over pressed by mistake, undone within HANDOVER_UNDO_MINUTES (`orders.undo_hand_over`).

    A card cannot be charged twice: what it was charged is refunded in full and the order
    becomes a cash order, so its next hand-over is paid in cash. A refund whose answer was
    lost does not stop the undo: it stays pending and is asked again (`refund_pending`).
    """
    was_card = order.payment_method == PaymentMethod.CARD
    orders.undo_hand_over(order, actor, now)
    if was_card:
        payments.refund_undone_handover(order, actor)
    return order


def refund_pending_minor(order: Order) -> int:
    """Card refunds of this order the card service has not confirmed yet (asked again by the
    reconciliation): the pickup point says so instead of saying they are done."""
    return payments.pending_refund_minor(payments.current_payment(order))


# --- No-shows and closing the day --------------------------------------------------------

def no_show_from(order: Order) -> datetime:
    """When the order may be marked no-show: its slot's end plus the grace period."""
    return order.pickup_slot.ends_at + timedelta(minutes=current_app.config["NO_SHOW_GRACE_MINUTES"])


def mark_no_show(order: Order, actor: User, now: datetime | None = None) -> Order:
    """The organizer marks an order not picked up (orders.mark_no_show checks who, and slot end + grace)."""
    if actor is None:
        raise NotAllowed()  # None is the system closing the day, which the pickup point never is
    return orders.mark_no_show(order, actor, now)


def mark_line_missing(line: OrderLine, actor: User, now: datetime | None = None) -> OrderLine:
    """A line the producer did not bring, marked at the pickup point; the customer does not pay for it."""
    _require_manager(actor, line.order.market_day)
    return orders.mark_line_missing(line, actor, now)


@dataclass
class CloseResult:
    no_shows: int = 0
    expired: int = 0
    #: False when the day was already closed by an earlier run.
    closed_now: bool = False


def day_over_at(market_day: MarketDay) -> datetime:
    """When a market day can be closed: its close, or its last slot's end plus grace if later."""
    last_end = db.session.scalar(select(func.max(PickupSlot.ends_at)).where(PickupSlot.market_day_id == market_day.id))
    grace = timedelta(minutes=current_app.config["NO_SHOW_GRACE_MINUTES"])
    return max(market_day.closes_at, (last_end + grace) if last_end is not None else market_day.closes_at)


def close_market_day(market_day: MarketDay, actor: User | None = None, now: datetime | None = None) -> CloseResult:
    """After the day: every order not picked up becomes a no-show (each customer emailed
    once, card holds released), unpaid holds expire, and the day is CLOSED. Running it
    again changes nothing more. `actor` None is the system (the command)."""
    now = now or utcnow()
    if actor is not None:
        _require_manager(actor, market_day)
    if market_day.status == MarketDayStatus.CANCELLED:
        raise InvalidState(_("This market day was cancelled; there is nothing to close."))
    if now < day_over_at(market_day):
        raise InvalidState(_("The market day is not over yet: orders can be picked up until %(time)s.",
                             time=_local(day_over_at(market_day), market_day)))
    result = CloseResult()
    ids = list(db.session.scalars(select(Order.id).where(
        Order.market_day_id == market_day.id,
        Order.status.in_(TO_HAND_OVER + (OrderStatus.PENDING_PAYMENT,))).order_by(Order.id)))
    for order_id in ids:
        order = db.session.get(Order, order_id)
        try:
            if order.status == OrderStatus.PENDING_PAYMENT:
                result.expired += orders.expire_if_due(order, now)
            else:
                orders.mark_no_show(order, None, now)
                result.no_shows += 1
        except InvalidState:
            continue  # handed over or marked by an organizer meanwhile
    result.closed_now = close_day(market_day)
    return result


def _local(instant: datetime, market_day: MarketDay) -> str:
    return format_local_time(instant, market_day.market.timezone)


# --- The day at a glance ----------------------------------------------------------------

@dataclass
class SlotSummary:
    slot: PickupSlot
    #: status -> number of orders
    counts: dict[OrderStatus, int] = field(default_factory=dict)

    @property
    def to_hand_over(self) -> int:
        return sum(self.counts.get(s, 0) for s in TO_HAND_OVER)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class DaySummary:
    market_day: MarketDay
    slots: list[SlotSummary]
    #: (producer name, orders with lines not packed yet), by name.
    producers_to_bring: list[tuple[str, int]]
    #: Open cash orders: what the pickup point should collect.
    expected_cash_minor: int = 0
    #: Open card orders: what their hand-overs will charge (before the hold cap).
    card_to_capture_minor: int = 0
    picked_up_count: int = 0
    #: Handed over: cash received, and card order totals charged.
    cash_received_minor: int = 0
    card_picked_up_minor: int = 0
    #: The slot whose orders are listed, and those orders.
    current: PickupSlot | None = None
    orders: list[Order] = field(default_factory=list)

    def count(self, status: OrderStatus) -> int:
        return sum(s.counts.get(status, 0) for s in self.slots)

    @property
    def to_hand_over(self) -> int:
        return sum(s.to_hand_over for s in self.slots)


def day_summary(market_day: MarketDay, actor: User, slot_id: int | None = None,
                now: datetime | None = None) -> DaySummary:
    """Counts by slot and state, producers still to bring orders, money totals, and the
    orders of one slot (the one asked for, else the first still running): a fixed number
    of queries whatever the size of the day."""
    _require_manager(actor, market_day)
    now = now or utcnow()
    slots = list(db.session.scalars(select(PickupSlot).where(PickupSlot.market_day_id == market_day.id)
                                    .order_by(PickupSlot.starts_at, PickupSlot.id)))
    by_slot = {slot.id: SlotSummary(slot) for slot in slots}
    summary = DaySummary(market_day, list(by_slot.values()), [])
    # Each cash order is paid rounded to the whole unit (`cash_minor`): the day expects the sum
    # of those, not the rounded sum. Integer division (`//`) is the same on both databases.
    step = whole_unit_step(market_day.market.currency)
    cash_due = (Order.total_minor + step // 2) // step * step
    rows = db.session.execute(
        select(Order.pickup_slot_id, Order.status, Order.payment_method, func.count(Order.id),
               func.coalesce(func.sum(Order.total_minor), 0), func.coalesce(func.sum(Order.cash_received_minor), 0),
               func.coalesce(func.sum(cash_due), 0))
        .where(Order.market_day_id == market_day.id, Order.status.in_(SHOWN_STATES))
        .group_by(Order.pickup_slot_id, Order.status, Order.payment_method))
    for slot_id_, status, method, count, total, cash, due in rows:
        if slot_id_ in by_slot:
            counts = by_slot[slot_id_].counts
            counts[status] = counts.get(status, 0) + count
        if status in TO_HAND_OVER:
            if method == PaymentMethod.CARD:
                summary.card_to_capture_minor += total
            else:
                summary.expected_cash_minor += due
        elif status == OrderStatus.PICKED_UP:
            summary.picked_up_count += count
            summary.cash_received_minor += cash
            if method == PaymentMethod.CARD:
                summary.card_picked_up_minor += total
    summary.producers_to_bring = [(name, count) for name, count in db.session.execute(
        select(Producer.name, func.count(func.distinct(OrderLine.order_id)))
        .join(OrderLine, OrderLine.producer_id == Producer.id).join(Order, Order.id == OrderLine.order_id)
        .where(Order.market_day_id == market_day.id, Order.status == OrderStatus.CONFIRMED,
               OrderLine.status == LineStatus.RESERVED)
        .group_by(Producer.id, Producer.name).order_by(Producer.name))]
    summary.current = _current_slot(slots, slot_id, now)
    if summary.current is not None:
        summary.orders = list(db.session.scalars(
            select(Order).where(Order.pickup_slot_id == summary.current.id, Order.status.in_(SHOWN_STATES))
            .options(joinedload(Order.customer), selectinload(Order.lines))
            .order_by(Order.pickup_code)).unique())
    return summary


def _current_slot(slots: list[PickupSlot], slot_id: int | None, now: datetime) -> PickupSlot | None:
    if slot_id is not None:
        return next((slot for slot in slots if slot.id == slot_id), None)
    grace = timedelta(minutes=current_app.config["NO_SHOW_GRACE_MINUTES"])
    running = [slot for slot in slots if slot.ends_at + grace > now]
    return running[0] if running else (slots[-1] if slots else None)


# --- Packing labels ------------------------------------------------------------------------

@dataclass
class Label:
    """One bag: a producer's part of one order."""

    order: Order
    producer: Producer
    lines: list[OrderLine]


def packing_labels(market_day: MarketDay, actor: User, order_id: int | None = None,
                   slot_id: int | None = None) -> list[Label]:
    """A label per order and producer for the orders still to hand over (or one order), by slot and code."""
    _require_manager(actor, market_day)
    query = (select(Order).where(Order.market_day_id == market_day.id)
             .options(selectinload(Order.lines).joinedload(OrderLine.producer), joinedload(Order.customer),
                      joinedload(Order.pickup_slot)))
    if order_id is not None:
        query = query.where(Order.id == order_id)
    else:
        query = query.where(Order.status.in_(TO_HAND_OVER))
    if slot_id is not None:
        query = query.where(Order.pickup_slot_id == slot_id)
    orders = sorted(db.session.scalars(query).unique(), key=lambda o: (o.pickup_slot.starts_at, o.pickup_code))
    labels = []
    for order in orders:
        for producer, lines in lines_by_producer(order):
            kept = [line for line in lines if line.status != LineStatus.CANCELLED]
            if kept:
                labels.append(Label(order, producer, kept))
    return labels
