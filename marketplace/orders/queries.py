"""Read-only questions about baskets, orders and pick lists."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.core.locale import format_local_datetime
from marketplace.core.money import line_total_minor
from marketplace.core.periods import week_bucket
from marketplace.core.quantities import format_quantity
from marketplace.markets.models import (
    Market,
    MarketDay,
    PickupSlot,
    Vendor,
    VendorStatus,
)
from marketplace.markets.services import (  # noqa: F401
    OrderingState,
    is_ordering_open,
    ordering_open_condition,
    ordering_state,
)
from marketplace.orders.models import BasketLine, LineStatus, Order, OrderLine, OrderStatus
from marketplace.producers.models import Offer, Producer, Product, StockMode

#: States in which an order still holds stock and may change.
OPEN_STATES = (OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED, OrderStatus.READY)
#: Orders a producer must prepare (a card order waiting for payment is not one yet).
PICK_STATES = (OrderStatus.CONFIRMED, OrderStatus.READY, OrderStatus.PICKED_UP)




@dataclass
class PricedLine:
    """A basket item priced for one market day from the database."""

    product: Product
    offer: Offer | None
    quantity_milli: int
    unit_price_minor: int
    available_milli: int

    @property
    def total_minor(self) -> int:
        return line_total_minor(self.unit_price_minor, self.quantity_milli)


@dataclass
class PricedBasket:
    market_day: MarketDay | None
    lines: list[PricedLine] = field(default_factory=list)
    #: product id -> why it cannot be ordered for this day (or how many are left).
    problems: dict[int, str] = field(default_factory=dict)

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    @property
    def currency(self) -> str:
        return self.market_day.market.currency if self.market_day else ""

    def by_producer(self):
        groups: dict[int, list[PricedLine]] = {}
        for line in self.lines:
            groups.setdefault(line.product.producer_id, []).append(line)
        return [(lines[0].product.producer, lines) for lines in groups.values()]


def market_day_for_basket(market_day_id: int | None) -> MarketDay | None:
    if market_day_id is None:
        return None
    # From the session when the request has it already (the checkout view, then place_order).
    # The market's organizers (and their roles) load eagerly by default; no basket or
    # checkout shows them, and in a checkout rush they were two statements per request.
    return db.session.get(MarketDay, market_day_id,
                          options=[joinedload(MarketDay.market).lazyload(Market.organizers)])


def availability(market_day: MarketDay, product_ids) -> dict[int, tuple[Product, Offer | None, int, int] | str]:
    """For each product: (product, offer, unit price, available milli) on that day, or why it can't be ordered."""
    ids = sorted({int(i) for i in product_ids})
    if not ids:
        return {}
    products = {p.id: p for p in db.session.scalars(
        select(Product).where(Product.id.in_(ids)).options(joinedload(Product.producer)))}
    offers = {o.product_id: o for o in db.session.scalars(
        select(Offer).where(Offer.market_day_id == market_day.id, Offer.product_id.in_(ids)))}
    approved = set(db.session.scalars(select(Vendor.producer_id).where(
        Vendor.market_id == market_day.market_id, Vendor.status == VendorStatus.APPROVED,
        Vendor.producer_id.in_([p.producer_id for p in products.values()]))))
    result: dict = {}
    for product_id in ids:
        product = products.get(product_id)
        if product is None or not product.active:
            result[product_id] = _("This product is no longer sold.")
            continue
        if product.currency != market_day.market.currency:
            result[product_id] = _("%(name)s is priced in another currency than this market's.", name=product.name)
            continue
        offer = offers.get(product_id)
        price = offer.effective_price_minor if offer is not None else product.price_minor
        if product.stock_mode == StockMode.INVENTORY:
            if offer is None and product.producer_id not in approved:
                result[product_id] = _("%(name)s is not sold at this market day.", name=product.name)
                continue
            available = product.inventory_milli - product.inventory_reserved_milli
        else:
            if offer is None:
                result[product_id] = _("%(name)s is not brought to this market day.", name=product.name)
                continue
            available = offer.quantity_milli - offer.reserved_milli
        result[product_id] = (product, offer, price, available)
    return result


def price_basket(market_day: MarketDay | None, items: dict[int, int]) -> PricedBasket:
    """Price the session basket (product id -> milli) for a day; what can't be had goes into problems."""
    basket = PricedBasket(market_day)
    if market_day is None or not items:
        return basket
    for product_id, found in availability(market_day, items).items():
        if isinstance(found, str):
            basket.problems[product_id] = found
            continue
        product, offer, price, available = found
        quantity = items[product_id]
        if available < quantity:
            basket.problems[product_id] = short_message(product, available)
        basket.lines.append(PricedLine(product, offer, quantity, price, available))
    basket.lines.sort(key=lambda line: (line.product.producer.name, line.product.name))
    return basket


def closed_message(market_day: MarketDay, now: datetime | None = None) -> str:
    """Why this market day takes no orders now."""
    state = ordering_state(market_day, now)
    if state == OrderingState.CANCELLED:
        return _("This market day is cancelled.")
    if state == OrderingState.NOT_YET_OPEN:
        return _("Orders for this market day open on %(time)s.",
                 time=format_local_datetime(market_day.ordering_opens_at, market_day.market.timezone))
    return _("Orders for this market day closed at the cutoff.")


def short_message(product: Product, available_milli: int) -> str:
    if available_milli <= 0:
        return _("%(name)s is sold out for this day.", name=product.name)
    return _("Only %(left)s of %(name)s left.", left=format_quantity(available_milli, product.unit),
             name=product.name)


def open_days_of_market(market_id: int, now: datetime | None = None) -> list[MarketDay]:
    """Market days of this market that take orders now, soonest first."""
    now = now or utcnow()
    days = db.session.scalars(
        select(MarketDay).where(MarketDay.market_id == market_id, ordering_open_condition(now))
        .options(joinedload(MarketDay.market)).order_by(MarketDay.date).limit(12))
    return list(days)


def slots_with_places(market_day: MarketDay) -> list[PickupSlot]:
    return list(db.session.scalars(select(PickupSlot).where(PickupSlot.market_day_id == market_day.id)
                                   .order_by(PickupSlot.starts_at)))


def order_for_customer(order_id: int, customer_id: int) -> Order | None:
    """The order with its lines, day, market and slot, only if it is this customer's."""
    return db.session.scalar(
        select(Order).where(Order.id == order_id, Order.customer_id == customer_id)
        .options(selectinload(Order.lines), joinedload(Order.market_day).joinedload(MarketDay.market),
                 joinedload(Order.pickup_slot)))


def orders_of_customer(customer_id: int, page: int, per_page: int):
    """A page of the customer's orders, newest first, with their lines, day, market and slot."""
    query = (select(Order).where(Order.customer_id == customer_id)
             .options(joinedload(Order.market_day).joinedload(MarketDay.market).lazyload(Market.organizers),
                      joinedload(Order.pickup_slot), selectinload(Order.lines))
             .order_by(Order.created_at.desc(), Order.id.desc()))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def baskets_of_key(basket_key: str) -> dict[int, dict[int, int]]:
    """{market day id: {product id: quantity milli}}: the lines kept under one basket key."""
    baskets: dict[int, dict[int, int]] = {}
    for day_id, product_id, quantity in db.session.execute(
            select(BasketLine.market_day_id, BasketLine.product_id, BasketLine.quantity_milli)
            .where(BasketLine.basket_key == basket_key)):
        baskets.setdefault(day_id, {})[product_id] = quantity
    return baskets


def basket_line_count(basket_key: str) -> int:
    """How many lines the baskets of one key hold (the header's badge)."""
    return db.session.scalar(select(func.count()).select_from(BasketLine)
                             .where(BasketLine.basket_key == basket_key))


def basket_days(baskets: dict[int, dict[int, int]]) -> tuple[list[tuple[MarketDay, dict[int, int]]], list[int]]:
    """([(market day, items)] soonest first, [ids of days that no longer exist]) for the session's baskets."""
    if not baskets:
        return [], []
    days = {day.id: day for day in db.session.scalars(
        select(MarketDay).where(MarketDay.id.in_(list(baskets)))
        .options(joinedload(MarketDay.market).lazyload(Market.organizers)))}
    found = sorted((days[i] for i in baskets if i in days), key=lambda d: (d.opens_at, d.id))
    return [(day, baskets[day.id]) for day in found], [i for i in baskets if i not in days]


def last_phone_of(customer_id: int) -> str:
    """The phone number of the customer's latest order ('' if none): checkout fills it in."""
    return db.session.scalar(select(Order.phone).where(Order.customer_id == customer_id, Order.phone != "")
                             .order_by(Order.created_at.desc(), Order.id.desc()).limit(1)) or ""


def stalls_of_order(order: Order) -> dict[int, str]:
    """producer id -> their stall at the order's market (only producers who have one)."""
    producer_ids = {line.producer_id for line in order.lines}
    if not producer_ids:
        return {}
    rows = db.session.execute(select(Vendor.producer_id, Vendor.stall).where(
        Vendor.market_id == order.market_day.market_id, Vendor.producer_id.in_(producer_ids), Vendor.stall != ""))
    return dict(rows.all())


def producers_of_order(order: Order) -> list:
    """The producers of the order's lines, by name (a review is written for each)."""
    producer_ids = {line.producer_id for line in order.lines}
    if not producer_ids:
        return []
    return list(db.session.scalars(select(Producer).where(Producer.id.in_(producer_ids))
                                   .order_by(Producer.name, Producer.id)))


@dataclass
class ProducerDays:
    """A producer's market days with orders, each with how many orders it holds for them."""

    #: Today's and the coming days (not closed yet), soonest first: what is to prepare.
    coming: list[tuple[MarketDay, int]]
    #: The last fortnight's days already over, the latest first.
    past: list[tuple[MarketDay, int]]


def producer_market_days(producer_id: int, now: datetime | None = None) -> ProducerDays:
    """Market days (coming first, then the last two weeks' held ones) with their order counts."""
    now = now or utcnow()
    since = (now - timedelta(days=14)).date()
    counts = (select(Order.market_day_id.label("day_id"), func.count(func.distinct(Order.id)).label("orders"))
              .join(OrderLine, OrderLine.order_id == Order.id)
              .where(OrderLine.producer_id == producer_id, Order.status.in_(PICK_STATES))
              .group_by(Order.market_day_id).subquery())
    rows = db.session.execute(
        select(MarketDay, counts.c.orders).join(counts, counts.c.day_id == MarketDay.id)
        .where(MarketDay.date >= since).order_by(MarketDay.opens_at, MarketDay.id)
        .options(joinedload(MarketDay.market)))
    days = ProducerDays([], [])
    for day, count in rows:
        (days.coming if day.closes_at > now else days.past).append((day, count))
    days.past.reverse()
    return days


@dataclass
class PickList:
    market_day: MarketDay
    #: (order, its lines of this producer), by slot then code.
    orders: list[tuple[Order, list[OrderLine]]]
    #: (product name, unit, ordered milli, weighed milli or None, line count), by name.
    products: list[tuple[str, str, int, int | None, int]]


def pick_list(producer_id: int, market_day: MarketDay) -> PickList:
    """The lines ordered from one producer for one market day, by order and by product."""
    lines = db.session.scalars(
        select(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.producer_id == producer_id, Order.market_day_id == market_day.id,
               Order.status.in_(PICK_STATES), OrderLine.status != LineStatus.CANCELLED)
        .options(joinedload(OrderLine.order).joinedload(Order.pickup_slot),
                 joinedload(OrderLine.order).joinedload(Order.customer))
        .order_by(OrderLine.id)).unique().all()
    by_order: dict[int, tuple[Order, list[OrderLine]]] = {}
    by_product: dict[int, list] = {}
    for line in lines:
        by_order.setdefault(line.order_id, (line.order, []))[1].append(line)
        entry = by_product.setdefault(line.product_id, [line.product_name, line.unit, 0, None, 0])
        if line.status == LineStatus.MISSING:
            continue
        entry[2] += line.quantity_milli
        if line.actual_quantity_milli is not None:
            entry[3] = (entry[3] or 0) + line.actual_quantity_milli
        entry[4] += 1
    orders = sorted(by_order.values(), key=lambda item: (item[0].pickup_slot.starts_at, item[0].pickup_code))
    products = sorted((tuple(v) for v in by_product.values()), key=lambda row: row[0].lower())
    return PickList(market_day, orders, products)


def open_order_count_of_producer(producer_id: int) -> int:
    """Orders not yet handed over or ended that contain this producer's products."""
    open_states = (OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED, OrderStatus.READY)
    return db.session.scalar(
        select(func.count(func.distinct(Order.id))).select_from(Order)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.producer_id == producer_id, Order.status.in_(open_states))) or 0


def order_counts_of_days(day_ids: list[int]) -> dict[int, int]:
    """Orders per market day (any state), for these days, in one query."""
    if not day_ids:
        return {}
    rows = db.session.execute(select(Order.market_day_id, func.count(Order.id))
                              .where(Order.market_day_id.in_(day_ids)).group_by(Order.market_day_id))
    return dict(rows.all())


# --- Figures for the back office (template globals: the producer's dashboard, the pickup point) ---

#: Lines that count as sold: handed over, not missing or cancelled (as the settlement counts them).
SOLD_LINE_STATES = (LineStatus.RESERVED, LineStatus.PACKED)


@dataclass
class SalesDay:
    market_day: MarketDay
    total_minor: int


@dataclass
class SalesProduct:
    name: str
    unit: str
    total_minor: int
    quantity_milli: int


@dataclass
class ProducerSales:
    """What a producer sold (orders handed over) in the last weeks, in one currency."""

    currency: str
    since: date
    days: list[SalesDay] = field(default_factory=list)
    products: list[SalesProduct] = field(default_factory=list)

    @property
    def total_minor(self) -> int:
        return sum(day.total_minor for day in self.days)

    @property
    def best_minor(self) -> int:
        return max((day.total_minor for day in self.days), default=0)


def producer_sales(producer_id: int, currency: str, weeks: int = 8, now: datetime | None = None,
                   product_limit: int = 8) -> ProducerSales:
    """Sales per market day and per product of the last `weeks`, in `currency` (two queries)."""
    since = ((now or utcnow()) - timedelta(weeks=weeks)).date()
    sold = (OrderLine.producer_id == producer_id, Order.status == OrderStatus.PICKED_UP,
            OrderLine.status.in_(SOLD_LINE_STATES), Order.currency == currency, MarketDay.date >= since)
    per_day = db.session.execute(
        select(MarketDay, func.sum(OrderLine.line_total_minor))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .join(MarketDay, MarketDay.id == Order.market_day_id).join(Market, Market.id == MarketDay.market_id)
        .where(*sold)
        # PostgreSQL wants every selected table's key in GROUP BY: the market is joined and grouped
        # by its id, not loaded through a joinedload's alias the GROUP BY cannot name.
        .group_by(MarketDay.id, Market.id).order_by(MarketDay.date, MarketDay.id)
        .options(contains_eager(MarketDay.market))).all()
    per_product = db.session.execute(
        select(OrderLine.product_id, func.min(OrderLine.product_name), func.min(OrderLine.unit),
               func.sum(OrderLine.line_total_minor),
               func.sum(func.coalesce(OrderLine.actual_quantity_milli, OrderLine.quantity_milli)))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .join(MarketDay, MarketDay.id == Order.market_day_id).where(*sold)
        .group_by(OrderLine.product_id)
        .order_by(func.sum(OrderLine.line_total_minor).desc(), OrderLine.product_id).limit(product_limit)).all()
    return ProducerSales(
        currency, since, [SalesDay(day, total or 0) for day, total in per_day],
        [SalesProduct(name, unit, total or 0, quantity or 0) for _id, name, unit, total, quantity in per_product])


def producer_day_order_counts(producer_id: int, day_ids: list[int]) -> dict[int, int]:
    """Orders to prepare (confirmed, packed or handed over) per market day for one producer."""
    if not day_ids:
        return {}
    rows = db.session.execute(
        select(Order.market_day_id, func.count(func.distinct(Order.id)))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.producer_id == producer_id, Order.market_day_id.in_(day_ids),
               Order.status.in_(PICK_STATES), OrderLine.status != LineStatus.CANCELLED)
        .group_by(Order.market_day_id))
    return dict(rows.all())


def weights_to_enter(producer_id: int, market_day_id: int) -> int:
    """Lines sold by weight of open orders that still wait for their weighed quantity."""
    return db.session.scalar(
        select(func.count(OrderLine.id)).join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.producer_id == producer_id, Order.market_day_id == market_day_id,
               Order.status.in_((OrderStatus.CONFIRMED, OrderStatus.READY)),
               OrderLine.status.in_(SOLD_LINE_STATES), OrderLine.sold_by_weight.is_(True),
               OrderLine.actual_quantity_milli.is_(None))) or 0


@dataclass
class DayProblems:
    """What went wrong on a market day: orders nobody picked up, lines a producer did not bring."""

    no_shows: list[Order]
    #: (line, its order), by producer then product.
    missing: list[tuple[OrderLine, Order]]


def day_problems(market_day_id: int) -> DayProblems:
    no_shows = list(db.session.scalars(
        select(Order).where(Order.market_day_id == market_day_id, Order.status == OrderStatus.NO_SHOW)
        .options(joinedload(Order.customer), joinedload(Order.pickup_slot))
        .order_by(Order.pickup_slot_id, Order.pickup_code)))
    lines = db.session.scalars(
        select(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .where(Order.market_day_id == market_day_id, OrderLine.status == LineStatus.MISSING)
        .options(joinedload(OrderLine.order).joinedload(Order.customer), joinedload(OrderLine.producer))
        .order_by(OrderLine.producer_id, OrderLine.product_name, OrderLine.id)).unique().all()
    return DayProblems(no_shows, [(line, line.order) for line in lines])


def customer_emails_of_day(market_day_id: int) -> list[tuple[str, str | None]]:
    """(email, locale) of each customer holding an order of the day that is not cancelled or ended unpaid."""
    rows = db.session.execute(
        select(User.email, func.coalesce(User.locale, User.last_locale)).join(Order, Order.customer_id == User.id)
        .where(Order.market_day_id == market_day_id,
               Order.status.in_((OrderStatus.CONFIRMED, OrderStatus.READY, OrderStatus.PICKED_UP,
                                 OrderStatus.PENDING_PAYMENT)), User.active.is_(True))
        .distinct().order_by(User.email))
    return [(email, locale) for email, locale in rows]


@dataclass
class WeekOrders:
    orders: int = 0
    #: currency -> sales handed over (final line totals), in minor units.
    sales: dict[str, int] = field(default_factory=dict)


def orders_per_week(starts: list[datetime]) -> list[WeekOrders]:
    """Orders placed, and sales handed over, in each of these weeks (the admin's overview; two queries)."""
    weeks = [WeekOrders() for _ in starts]
    placed = week_bucket(Order.created_at, starts)
    for index, count in db.session.execute(
            select(placed, func.count(Order.id)).where(Order.created_at >= starts[0]).group_by(placed)):
        if index >= 0:
            weeks[index].orders = count
    handed = week_bucket(Order.picked_up_at, starts)
    for index, currency, total in db.session.execute(
            select(handed, Order.currency, func.sum(OrderLine.line_total_minor))
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(Order.status == OrderStatus.PICKED_UP, Order.picked_up_at >= starts[0],
                   OrderLine.status.in_(SOLD_LINE_STATES))
            .group_by(handed, Order.currency)):
        if index >= 0:
            weeks[index].sales[currency] = total or 0
    return weeks
