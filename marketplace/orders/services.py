"""The order lifecycle: placing (reserving stock and a slot), paying, packing, weighing,
handing over, cancelling, expiring, no-shows and reminders.

Every transition is one function that moves the order with a conditional UPDATE on its
current state, so two people (or two cron runs) doing the same thing at once do it once.
Stock and the slot place are given back by `_release`, guarded by the one UPDATE that
sets `Order.stock_released_at`; lines by the UPDATE that moves them to cancelled.
Rows are always locked in the same order (order, offers by id, products by id, slot) so
concurrent transactions never deadlock.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, delete, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.models import Role, User
from marketplace.core.changes import STOCK_ONLY, mark_catalog_changed
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.core.money import InvalidAmount, line_total_minor
from marketplace.core.quantities import format_quantity, parse_quantity_milli
from marketplace.markets.models import MarketDay, PickupSlot
from marketplace.markets.services import can_manage
from marketplace.notifications.channels import Recipient, notify
from marketplace.notifications.kinds import ORDER_UPDATES
from marketplace.notifications.models import Notice
from marketplace.notifications.services import queue_email
from marketplace.orders import queries
from marketplace.orders.errors import (
    EmptyBasket,
    InvalidState,
    NotAllowed,
    OrderingClosed,
    OutOfStock,
    PaymentMethodUnavailable,
    ProductUnavailable,
    SlotUnavailable,
)
from marketplace.orders.models import (
    BasketLine,
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)
from marketplace.orders.queries import OPEN_STATES, is_ordering_open
from marketplace.orders.reliability import cash_refusal_reason
from marketplace.orders.signals import (
    order_cancelled,
    order_handing_over,
    order_no_show,
    order_confirmed,
    order_placed,
    payment_methods_requested,
)
from marketplace.producers.models import Offer, Producer, Product, StockMode

#: No 0/O, 1/I/L: read aloud or typed from a phone without doubt.
PICKUP_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PICKUP_CODE_LENGTH = 6
#: Totals live in 32-bit integer columns on PostgreSQL.
MAX_TOTAL_MINOR = 2_000_000_000


# --- Payment methods -------------------------------------------------------------------

@dataclass
class PaymentChoice:
    """A payment method at checkout: offered, or not offered with the reason shown."""

    method: PaymentMethod
    label: str
    reason: str | None = None

    @property
    def offered(self) -> bool:
        return self.reason is None


def available_payment_methods(market_day: MarketDay, customer: User | None) -> list[PaymentChoice]:
    """Cash at pickup when the market takes it and the customer may use it, plus whatever
    receivers of `payment_methods_requested` offer (payments adds the card there)."""
    choices = []
    if market_day.market.accepts_cash:
        reason = cash_refusal_reason(customer.id) if customer is not None else None
        choices.append(PaymentChoice(PaymentMethod.CASH, str(_l("Cash at pickup")), reason))
    for _receiver, choice in payment_methods_requested.send(market_day, customer=customer):
        if choice is None:
            continue
        same = next((i for i, c in enumerate(choices) if c.method == choice.method), None)
        if same is None:
            choices.append(choice)
        elif choice.offered and not choices[same].offered:
            choices[same] = choice  # one receiver offering the method is enough
    return choices


# --- The baskets (plain dicts; orders.basket keeps them in basket_line rows) -----------
#
# One basket per market day ({day id: {product id: milli}}): adding for another day fills
# that day's basket and leaves the others alone, so nothing is ever dropped without the
# customer asking. Moving a basket to another day moves what that day has in full and
# leaves the rest where it was, with a warning that names it.

#: A basket is ordered in one checkout and shown on one page: a few market days, a few dozen lines.
MAX_BASKET_DAYS = 6
MAX_BASKET_LINES = 40


@dataclass
class BasketChange:
    """The baskets after a change, and what to tell the customer."""

    baskets: dict[int, dict[int, int]]
    #: The market day whose basket changed (or would have).
    day_id: int | None
    #: Warnings: what stayed behind, what was reduced, what could not be added.
    notices: list[str] = field(default_factory=list)
    #: Why the change was refused (the baskets are as before).
    error: str | None = None
    #: Name of the product added, when it was.
    added: str | None = None
    #: How much of it the basket now holds, in words ("2 kg"): a double tap shows as "2".
    in_basket: str | None = None

    @property
    def items(self) -> dict[int, int]:
        return self.baskets.get(self.day_id, {}) if self.day_id is not None else {}


def _copy(baskets: dict[int, dict[int, int]]) -> dict[int, dict[int, int]]:
    return {day: dict(items) for day, items in baskets.items() if items}


def _room_refusal(baskets: dict[int, dict[int, int]], day_id: int, product_id: int) -> str | None:
    """Why one more line does not fit in the baskets, if it does not."""
    if day_id not in baskets and len(baskets) >= MAX_BASKET_DAYS:
        return _("You have baskets for %(num)d market days already; order or empty one first.",
                 num=MAX_BASKET_DAYS)
    if product_id not in baskets.get(day_id, {}) and len(baskets.get(day_id, {})) >= MAX_BASKET_LINES:
        return _("This basket is full (%(num)d products); order it first.", num=MAX_BASKET_LINES)
    return None


def basket_add(baskets: dict[int, dict[int, int]], market_day: MarketDay, product_id: int,
               quantity_text: str, now: datetime | None = None) -> BasketChange:
    """Add a quantity of a product to the basket of that market day; other baskets stay as they are."""
    baskets = _copy(baskets)
    refused = BasketChange(baskets, market_day.id)
    if not is_ordering_open(market_day, now or utcnow()):
        refused.error = queries.closed_message(market_day, now)
        return refused
    found = queries.availability(market_day, [product_id]).get(product_id)
    if isinstance(found, str):
        refused.error = found
        return refused
    product, _offer, _price, available = found
    try:
        quantity = parse_quantity_milli(quantity_text, product.sold_by_weight)
    except InvalidAmount as exc:
        refused.error = str(exc)
        return refused
    refused.error = _room_refusal(baskets, market_day.id, product.id)
    if refused.error:
        return refused
    items = baskets.setdefault(market_day.id, {})
    wanted = items.get(product.id, 0) + quantity
    if wanted > available:
        refused.error = queries.short_message(product, available)
        if not items:
            baskets.pop(market_day.id)
        return refused
    items[product.id] = wanted
    return BasketChange(baskets, market_day.id, added=product.name,
                        in_basket=format_quantity(wanted, product.unit))


def basket_set_quantity(baskets: dict[int, dict[int, int]], day_id: int, product_id: int,
                        quantity_text: str) -> BasketChange:
    """Change the quantity of an item already in one day's basket."""
    baskets = _copy(baskets)
    refused = BasketChange(baskets, day_id)
    market_day = queries.market_day_for_basket(day_id)
    found = queries.availability(market_day, [product_id]).get(product_id) if market_day else None
    if found is None or isinstance(found, str):
        refused.error = found or _("This product is no longer sold.")
        return refused
    product, _offer, _price, available = found
    try:
        quantity = parse_quantity_milli(quantity_text, product.sold_by_weight)
    except InvalidAmount as exc:
        refused.error = str(exc)
        return refused
    if quantity > available:
        refused.error = queries.short_message(product, available)
        return refused
    baskets[day_id][product_id] = quantity
    return BasketChange(baskets, day_id)


def basket_move(baskets: dict[int, dict[int, int]], from_day_id: int, market_day: MarketDay,
                now: datetime | None = None) -> BasketChange:
    """Move one day's basket to another day of the same market: what that day has in full
    moves (added to a basket already there), the rest stays in the old basket, named in a warning."""
    baskets = _copy(baskets)
    if not is_ordering_open(market_day, now or utcnow()):
        return BasketChange(baskets, from_day_id, error=queries.closed_message(market_day, now))
    source = baskets.get(from_day_id, {})
    target = baskets.get(market_day.id, {})
    if market_day.id == from_day_id or not source:
        return BasketChange(baskets, market_day.id)
    if market_day.id not in baskets and len(baskets) >= MAX_BASKET_DAYS + 1:
        return BasketChange(baskets, from_day_id, error=_room_refusal(baskets, market_day.id, 0))
    found = queries.availability(market_day, source)
    moved, stayed = dict(target), {}
    notices = []
    for product_id, quantity in source.items():
        value = found.get(product_id)
        wanted = moved.get(product_id, 0) + quantity
        if isinstance(value, str):
            notices.append(value)
        elif value[3] < wanted:
            notices.append(queries.short_message(value[0], value[3] - moved.get(product_id, 0)))
        elif product_id not in moved and len(moved) >= MAX_BASKET_LINES:
            notices.append(_("This basket is full (%(num)d products); order it first.", num=MAX_BASKET_LINES))
        else:
            moved[product_id] = wanted
            continue
        stayed[product_id] = quantity
    if stayed:
        notices.append(_("These stay in your basket for the earlier day; nothing was removed."))
    baskets[from_day_id] = stayed
    baskets[market_day.id] = moved
    return BasketChange(_copy(baskets), market_day.id, notices)


def order_again(order: Order, baskets: dict[int, dict[int, int]], now: datetime | None = None) -> BasketChange:
    """Put an earlier order's products back into the basket of its market's next open day,
    as much of each as that day has; what it does not have is named in a warning. A product
    the basket holds already is raised to the order's quantity, not added to (a second tap
    changes nothing)."""
    baskets = _copy(baskets)
    now = now or utcnow()
    days = queries.open_days_of_market(order.market_day.market_id, now)
    if not days:
        return BasketChange(baskets, None, error=_("%(market)s takes no orders at the moment; "
                                                   "try again when ordering opens for its next day.",
                                                   market=order.market_day.market.name))
    market_day = days[0]
    if market_day.id not in baskets and len(baskets) >= MAX_BASKET_DAYS:
        return BasketChange(baskets, None, error=_room_refusal(baskets, market_day.id, 0))
    wanted: dict[int, int] = {}
    for line in order.lines:
        if line.status != LineStatus.CANCELLED:
            wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity_milli
    found = queries.availability(market_day, wanted)
    items = baskets.setdefault(market_day.id, {})
    notices, added = [], []
    for product_id, quantity in wanted.items():
        value = found.get(product_id)
        if isinstance(value, str):
            notices.append(value)
            continue
        product, _offer, _price, available = value
        if available <= 0:
            notices.append(queries.short_message(product, 0))
            continue
        if product_id not in items and len(items) >= MAX_BASKET_LINES:
            notices.append(_("This basket is full (%(num)d products); order it first.", num=MAX_BASKET_LINES))
            continue
        if available < quantity:
            notices.append(queries.short_message(product, available))
        # The basket holds at least what was ordered (as much as there is), never that plus
        # itself: "Order again" tapped twice refills the basket once.
        items[product_id] = max(items.get(product_id, 0), min(quantity, available))
        added.append(product.name)
    if not items:
        baskets.pop(market_day.id)
    return BasketChange(baskets, market_day.id, notices, added=", ".join(added) or None)


#: A basket nobody has changed for this long is forgotten (a visitor who never came back).
BASKET_KEPT_FOR = timedelta(days=30)


def _insert():
    return postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert


def save_basket_changes(basket_key: str, before: dict[int, dict[int, int]], after: dict[int, dict[int, int]],
                        now: datetime | None = None) -> None:
    """Keep what changed between the baskets a request read and the ones it leaves: changed lines
    are written, removed lines deleted, every other line left as it is — so two requests that
    overlap (two tabs) each keep what they did, where writing whole baskets keeps the last."""
    now = now or utcnow()
    changed = [{"basket_key": basket_key, "market_day_id": day_id, "product_id": product_id,
                "quantity_milli": quantity, "updated_at": now}
               for day_id, items in after.items() for product_id, quantity in items.items()
               if quantity > 0 and before.get(day_id, {}).get(product_id) != quantity]
    removed = [(day_id, product_id) for day_id, items in before.items() for product_id in items
               if after.get(day_id, {}).get(product_id, 0) <= 0]
    if changed:
        # An upsert, not an insert: the other tab may have added the same product meanwhile.
        statement = _insert()(BasketLine)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["basket_key", "market_day_id", "product_id"],
            set_={"quantity_milli": statement.excluded.quantity_milli,
                  "updated_at": statement.excluded.updated_at}), changed)
    if removed:
        db.session.execute(delete(BasketLine).where(
            BasketLine.basket_key == basket_key,
            tuple_(BasketLine.market_day_id, BasketLine.product_id).in_(removed)))


def take_basket_lines(basket_key: str, day_id: int) -> dict[int, int]:
    """{product id: quantity milli} of one day's basket, deleted in the caller's transaction.

    A checkout takes its basket this way, not from what the request read at its start: two tabs
    checking out one basket at the same instant both read it full and each placed an order. The
    second tab's DELETE waits for the first's commit and then finds nothing; a checkout that fails
    rolls back and the lines are there again."""
    return dict(db.session.execute(
        delete(BasketLine).where(BasketLine.basket_key == basket_key, BasketLine.market_day_id == day_id)
        .returning(BasketLine.product_id, BasketLine.quantity_milli)
        .execution_options(synchronize_session=False)).all())


def move_basket(old_key: str, new_key: str) -> None:
    """The lines of one basket key go under another (a login gives the basket a new key)."""
    db.session.execute(update(BasketLine).where(BasketLine.basket_key == old_key).values(basket_key=new_key))


def forget_old_baskets(now: datetime | None = None) -> int:
    """Delete the baskets none of whose lines changed within BASKET_KEPT_FOR; how many lines went."""
    cutoff = (now or utcnow()) - BASKET_KEPT_FOR
    recent = select(BasketLine.basket_key).where(BasketLine.updated_at >= cutoff)
    result = db.session.execute(delete(BasketLine).where(BasketLine.updated_at < cutoff,
                                                         BasketLine.basket_key.not_in(recent)))
    return result.rowcount


# --- Placing an order ------------------------------------------------------------------

def new_pickup_code() -> str:
    return "".join(secrets.choice(PICKUP_CODE_ALPHABET) for _ in range(PICKUP_CODE_LENGTH))


class _AlreadyPlaced(Exception):
    def __init__(self, order_id: int):
        self.order_id = order_id


def place_order(customer: User, market_day_id: int, items: dict[int, int], *, slot_id: int,
                payment_method: PaymentMethod, phone: str, idempotency_key: str,
                now: datetime | None = None) -> Order:
    """Reserve every item and a slot place in one go and create the order, or reserve nothing.

    Prices come from the database. A second call with the same idempotency key returns the
    order the first one placed.
    """
    now = now or utcnow()
    existing = _order_by_key(idempotency_key)
    if existing is not None:
        return _same_customer(existing, customer)
    market_day = queries.market_day_for_basket(market_day_id)
    if market_day is None:
        raise OrderingClosed(_("This market day does not take orders now."))
    if not is_ordering_open(market_day, now):
        raise OrderingClosed(queries.closed_message(market_day, now))
    items = {int(pid): int(qty) for pid, qty in items.items() if int(qty) > 0}
    if not items:
        raise EmptyBasket(_("Your basket is empty."))
    choice = next((c for c in available_payment_methods(market_day, customer) if c.method == payment_method), None)
    if choice is None or not choice.offered:
        raise PaymentMethodUnavailable(choice.reason if choice else _("This payment method is not offered."))
    slot = db.session.get(PickupSlot, slot_id)
    if slot is None or slot.market_day_id != market_day.id:
        raise SlotUnavailable(_("Choose one of this market day's pickup times."))

    try:
        with db.session.begin_nested():
            order, lines, found = _place(customer, market_day, items, slot, payment_method, phone,
                                         idempotency_key, now)
            order_placed.send(order)
            # The conditional UPDATEs of stock and slot come last: the rows they lock stay
            # locked only until the commit, so buyers racing for one product wait on each
            # other for a millisecond. If one fails, the savepoint takes the order and its
            # lines back with it.
            _reserve(lines, found, slot)
    except _AlreadyPlaced as placed:
        return _same_customer(db.session.get(Order, placed.order_id), customer)
    if order.status == OrderStatus.CONFIRMED:
        # Told by the worker once this transaction commits (orders.tasks.confirm_orders), not
        # rendered here: a checkout rush spends its time on reservations, not on emails.
        db.session.info.setdefault(TO_CONFIRM, []).append(order.id)
    return order


#: Session info key: the cash orders this transaction placed, to be confirmed after its commit.
TO_CONFIRM = "orders_to_confirm"
#: The sweep looks this far back for confirmed orders nobody was told about (a lost queue).
CONFIRM_SWEEP = timedelta(days=1)


def confirm_orders(order_ids: list[int]) -> int:
    """Tell each customer their order is confirmed, once (notify keeps one notice per occasion);
    an order cancelled meanwhile is not confirmed. Returns how many were told now."""
    told = 0
    for order in db.session.scalars(select(Order).where(Order.id.in_(order_ids), Order.status.in_(OPEN_STATES),
                                                        Order.confirmed_at.is_not(None))):
        if _email_confirmation(order) is not None:
            order_confirmed.send(order)
            told += 1
    return told


def unconfirmed_order_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    """Confirmed orders of the last day whose customer was not told yet (the queue was away)."""
    now = now or utcnow()
    occasion = literal("order-") + cast(Order.id, String) + literal("-confirmed")
    told = select(Notice.id).where(Notice.user_id == Order.customer_id, Notice.kind == ORDER_UPDATES,
                                   Notice.occasion == occasion)
    return list(db.session.scalars(
        select(Order.id).where(Order.confirmed_at >= now - CONFIRM_SWEEP, Order.status.in_(OPEN_STATES),
                               ~told.exists()).order_by(Order.id).limit(limit)))


def _place(customer, market_day, items, slot, payment_method, phone, key, now):
    """Write the order and its lines (nothing reserved yet); refuse what is already short."""
    found = queries.availability(market_day, items)
    for product_id, value in found.items():
        if isinstance(value, str):
            raise ProductUnavailable(value, product_id=product_id)
        product, _offer, _price, available = value
        if available < items[product_id]:
            # Already short when read: refused before anything is written. The conditional
            # UPDATEs below stay the rule that decides; this only spares a checkout rush
            # the insert and rollback of every order that cannot be served.
            raise OutOfStock(queries.short_message(product, available), product_id=product_id,
                             available_milli=max(available, 0))
    lines = []
    for product_id in sorted(items):
        product, offer, price, _available = found[product_id]
        quantity = items[product_id]
        lines.append(OrderLine(
            producer_id=product.producer_id, product_id=product.id, offer_id=offer.id if offer is not None and
            product.stock_mode == StockMode.PER_MARKET_DAY else None, product_name=product.name,
            unit=product.unit.value, sold_by_weight=product.sold_by_weight, quantity_milli=quantity,
            unit_price_minor=price, line_total_minor=line_total_minor(price, quantity)))
    subtotal = sum(line.line_total_minor for line in lines)
    if subtotal > MAX_TOTAL_MINOR:
        raise ProductUnavailable(_("That order is too large. Please order less."))
    card = payment_method == PaymentMethod.CARD
    order = Order(customer_id=customer.id, market_day_id=market_day.id, pickup_slot_id=slot.id,
                  payment_method=payment_method,
                  status=OrderStatus.PENDING_PAYMENT if card else OrderStatus.CONFIRMED,
                  subtotal_minor=subtotal, total_minor=subtotal, currency=market_day.market.currency,
                  phone=phone.strip(), idempotency_key=key, created_at=now,
                  hold_until=now + timedelta(minutes=current_app.config["ORDER_HOLD_MINUTES"]) if card else None,
                  confirmed_at=None if card else now)
    _insert_with_unique_code(order)
    for line in lines:
        line.order_id = order.id
        db.session.add(line)
    db.session.flush()
    db.session.expire(order, ["lines"])
    return order, lines, found


def _reserve(lines: list[OrderLine], found: dict, slot: PickupSlot) -> None:
    """Take every line's quantity and a place in the slot, or raise (the caller's savepoint
    then undoes all). Offers by id, then standing inventory by product id, then the slot:
    one lock order for every checkout, so two never wait on each other in a circle."""
    for line in sorted((l for l in lines if l.offer_id), key=lambda l: l.offer_id):
        _reserve_offer(line, found[line.product_id][0])
    for line in sorted((l for l in lines if not l.offer_id), key=lambda l: l.product_id):
        _reserve_inventory(line, found[line.product_id][0])
    taken = db.session.execute(
        update(PickupSlot).where(PickupSlot.id == slot.id, PickupSlot.reserved < PickupSlot.capacity)
        .values(reserved=PickupSlot.reserved + 1, used=True).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise SlotUnavailable(_("That pickup time is full. Please choose another."), slot_id=slot.id)
    db.session.expire(slot)


def _insert_with_unique_code(order: Order) -> None:
    for _attempt in range(10):
        order.pickup_code = new_pickup_code()
        try:
            with db.session.begin_nested():
                db.session.add(order)
                db.session.flush()
            return
        except IntegrityError:
            # Either the same form was sent twice (the other request placed the order) or
            # the code is taken on this day (draw again).
            placed = _order_id_by_key(order.idempotency_key)
            if placed is not None:
                raise _AlreadyPlaced(placed) from None
    raise RuntimeError("could not draw a free pickup code")


def _reserve_offer(line: OrderLine, product: Product) -> None:
    left = Offer.quantity_milli - Offer.reserved_milli
    taken = db.session.execute(
        update(Offer).where(Offer.id == line.offer_id, left >= line.quantity_milli)
        .values(reserved_milli=Offer.reserved_milli + line.quantity_milli)
        .returning(left).execution_options(synchronize_session=False, **{STOCK_ONLY: True})).first()
    if taken is None:
        left = db.session.scalar(select(left).where(Offer.id == line.offer_id))
        raise OutOfStock(queries.short_message(product, left or 0), product_id=product.id,
                         available_milli=max(left or 0, 0))
    _note_sold_out(taken[0])


def _reserve_inventory(line: OrderLine, product: Product) -> None:
    left = Product.inventory_milli - Product.inventory_reserved_milli
    taken = db.session.execute(
        update(Product).where(Product.id == line.product_id, left >= line.quantity_milli)
        .values(inventory_reserved_milli=Product.inventory_reserved_milli + line.quantity_milli)
        .returning(left).execution_options(synchronize_session=False, **{STOCK_ONLY: True})).first()
    if taken is None:
        left = db.session.scalar(select(left).where(Product.id == line.product_id))
        raise OutOfStock(queries.short_message(product, left or 0), product_id=product.id,
                         available_milli=max(left or 0, 0))
    _note_sold_out(taken[0])


def _note_sold_out(left_after: int) -> None:
    # A reservation changes stock only (the page cache refills its figures); the one that takes
    # the last unit changes what the catalog lists ("can be ordered now", counts) as well.
    if left_after <= 0:
        mark_catalog_changed(db.session.connection())


def order_by_key_for(key: str | None, customer: User) -> Order | None:
    """The order this customer placed with this checkout form, if any."""
    order = _order_by_key(key)
    return order if order is not None and order.customer_id == customer.id else None


def recent_order_of(customer: User, day_id: int | None, within: timedelta = timedelta(minutes=10)) -> Order | None:
    """The customer's latest order placed within the last minutes (for this market day, when the
    checkout named one: with one basket the form names none), if any."""
    query = select(Order).where(Order.customer_id == customer.id, Order.created_at >= utcnow() - within)
    if day_id is not None:
        query = query.where(Order.market_day_id == day_id)
    return db.session.scalar(query.order_by(Order.id.desc()).limit(1))


def _order_by_key(key: str | None) -> Order | None:
    return db.session.scalar(select(Order).where(Order.idempotency_key == key)) if key else None


def _order_id_by_key(key: str | None) -> int | None:
    return db.session.scalar(select(Order.id).where(Order.idempotency_key == key)) if key else None


def _same_customer(order: Order, customer: User) -> Order:
    if order.customer_id != customer.id:
        raise NotAllowed(_("This form was already used."))
    return order


# --- Transitions -----------------------------------------------------------------------

def _move(order: Order, from_states, to_state: OrderStatus, **values) -> None:
    """The one conditional UPDATE of a transition; InvalidState when another got there first."""
    result = db.session.execute(
        update(Order).where(Order.id == order.id, Order.status.in_(list(from_states)))
        .values(status=to_state, **values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(order)
        raise InvalidState(_("This order is %(status)s and can no longer be changed that way.",
                             status=status_label(order.status)), status=order.status)
    db.session.refresh(order)


def _check_state(order: Order, allowed) -> None:
    if order.status not in allowed:
        raise InvalidState(_("This order is %(status)s and can no longer be changed that way.",
                             status=status_label(order.status)), status=order.status)


def _lock_open(order: Order) -> None:
    """A change of what a confirmed or ready order costs (a weight, a missing line) locks the
    order's row as a transition does, and only while the order is as read: a hand-over that
    charged the card meanwhile refuses the change, one still to come reads the new total."""
    _check_state(order, [OrderStatus.CONFIRMED, OrderStatus.READY])
    _move(order, [order.status], order.status)


def expire_if_due(order: Order, now: datetime | None = None) -> bool:
    """Release a payment hold that has passed (whoever touches the order first does it)."""
    now = now or utcnow()
    if order.status == OrderStatus.PENDING_PAYMENT and order.hold_until is not None and order.hold_until <= now:
        try:
            expire(order, now)
        except InvalidState:
            return False
        return True
    return False


def confirm_payment(order: Order, now: datetime | None = None) -> Order:
    """pending_payment -> confirmed once the card is authorised; refused when the hold has passed."""
    now = now or utcnow()
    if expire_if_due(order, now):
        raise InvalidState(_("The time to pay for this order has passed; it has expired."), status=order.status)
    _move(order, [OrderStatus.PENDING_PAYMENT], OrderStatus.CONFIRMED, confirmed_at=now, hold_until=None)
    _email_confirmation(order)
    return order


def expire(order: Order, now: datetime | None = None) -> Order:
    """pending_payment -> expired when the hold has passed; stock and slot come back."""
    now = now or utcnow()
    _check_state(order, [OrderStatus.PENDING_PAYMENT])
    if order.hold_until is None or order.hold_until > now:
        raise InvalidState(_("The time to pay for this order has not passed yet."), status=order.status)
    _move(order, [OrderStatus.PENDING_PAYMENT], OrderStatus.EXPIRED, cancelled_at=now)
    _release(order, now)
    order_cancelled.send(order)
    return order


def end_unpaid(order: Order, now: datetime | None = None) -> Order:
    """pending_payment -> expired at once: the card was declined or the payment abandoned."""
    now = now or utcnow()
    _move(order, [OrderStatus.PENDING_PAYMENT], OrderStatus.EXPIRED, cancelled_at=now)
    _release(order, now)
    order_cancelled.send(order)
    return order


def expire_due_holds(now: datetime | None = None, limit: int = 500) -> int:
    """Expire every card order whose hold has passed; safe to run twice at once."""
    now = now or utcnow()
    ids = list(db.session.scalars(select(Order.id).where(
        Order.status == OrderStatus.PENDING_PAYMENT, Order.hold_until <= now).order_by(Order.id).limit(limit)))
    expired = 0
    for order_id in ids:
        order = db.session.get(Order, order_id)
        try:
            expire(order, now)
        except InvalidState:
            continue  # paid or expired by someone else meanwhile
        expired += 1
    return expired


def cancel_by_customer(order: Order, customer: User, now: datetime | None = None) -> Order:
    """The customer cancels their own order before the market day's cutoff."""
    now = now or utcnow()
    if order.customer_id != customer.id:
        raise NotAllowed()
    if expire_if_due(order, now):
        return order
    _check_state(order, OPEN_STATES)
    if now >= order.market_day.cutoff_at:
        raise OrderingClosed(_("The cutoff for this market day has passed; the order can no longer be cancelled."))
    _cancel(order, customer, str(_l("Cancelled by the customer.")), now)
    return order


def switch_to_cash(order: Order, customer: User, now: datetime | None = None) -> Order:
    """pending_payment -> confirmed as a cash order, when the card cannot be used.

    The caller (payments) has let the card hold go; stock stays reserved, the hold time ends.
    """
    now = now or utcnow()
    if order.customer_id != customer.id:
        raise NotAllowed()
    if expire_if_due(order, now):
        raise InvalidState(_("The time to pay for this order has passed; it has expired."), status=order.status)
    _move(order, [OrderStatus.PENDING_PAYMENT], OrderStatus.CONFIRMED, payment_method=PaymentMethod.CASH,
          confirmed_at=now, hold_until=None)
    _email_confirmation(order)
    return order


def card_hold_lapsed(order: Order, now: datetime | None = None) -> bool:
    """confirmed/ready card order -> the same state as a cash order, because its card hold
    lapsed or was cancelled at Stripe before the hand-over: the customer is told once to pay
    at pickup, and the pickup point shows why (`card_lapsed_at`). False when it already is
    a cash order (a repeated event changes nothing)."""
    now = now or utcnow()
    _check_state(order, [OrderStatus.CONFIRMED, OrderStatus.READY])
    moved = db.session.execute(
        update(Order).where(Order.id == order.id, Order.status.in_([OrderStatus.CONFIRMED, OrderStatus.READY]),
                            Order.payment_method == PaymentMethod.CARD)
        .values(payment_method=PaymentMethod.CASH, card_lapsed_at=now).execution_options(synchronize_session=False))
    db.session.refresh(order)
    if moved.rowcount != 1:
        return False
    _tell_customer(order, "order_pay_at_pickup", "cash",
                   _l("Your order %(code)s: please pay in cash at pickup", code=order.pickup_code))
    return True


def cancel_lines_by_producer(order: Order, producer: Producer, actor: User, reason: str,
                             now: datetime | None = None) -> Order:
    """A producer cancels their lines of an order (the whole order when nothing else is left)."""
    now = now or utcnow()
    if producer.user_id != actor.id and not actor.has_role(Role.ADMIN):
        raise NotAllowed()
    mine = [line for line in order.lines if line.producer_id == producer.id]
    if not mine:
        raise NotAllowed()
    if expire_if_due(order, now):
        return order
    _check_state(order, OPEN_STATES)
    reason = reason.strip()[:255] or str(_l("Cancelled by the producer."))
    others = [line for line in order.lines if line.producer_id != producer.id and line.status != LineStatus.CANCELLED]
    if not others:
        _cancel(order, actor, reason, now)
        return order
    # Lock the order row first, like every other transition, then the stock rows.
    _move(order, [order.status], order.status)
    for line in _release_order(mine):
        _cancel_line(line)
    _recompute_totals(order)
    _email_lines_cancelled(order, producer, reason)
    return order


def _cancel(order: Order, actor: User | None, reason: str, now: datetime) -> None:
    _move(order, OPEN_STATES, OrderStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:255],
          cancelled_by_id=actor.id if actor else None)
    _release(order, now)
    order_cancelled.send(order)
    _email_cancelled(order, reason)


def cancel_orders_of_cancelled_day(market_day: MarketDay, actor: User | None = None, **_extra) -> None:
    """Cancel every open order of a cancelled market day; each order's stock and email once."""
    now = utcnow()
    reason = market_day.cancel_reason or str(_l("The market day was cancelled."))
    ids = list(db.session.scalars(select(Order.id).where(
        Order.market_day_id == market_day.id, Order.status.in_(OPEN_STATES)).order_by(Order.id)))
    for order_id in ids:
        order = db.session.get(Order, order_id)
        try:
            _cancel(order, actor, reason, now)
        except InvalidState:
            continue
    # A run that crashed after cancelling but before releasing is finished here.
    for order in db.session.scalars(select(Order).where(
            Order.market_day_id == market_day.id, Order.status.in_([OrderStatus.CANCELLED, OrderStatus.EXPIRED]),
            Order.stock_released_at.is_(None))):
        _release(order, now)
    _email_producers_of_cancelled_day(market_day)


def _email_producers_of_cancelled_day(market_day: MarketDay) -> None:
    """Producers with orders on the day are told even if they are no longer approved vendors
    (markets tells the approved ones); the key is the one markets uses, so each is told once."""
    producers = db.session.scalars(
        select(Producer).where(Producer.id.in_(
            select(OrderLine.producer_id).join(Order, Order.id == OrderLine.order_id)
            .where(Order.market_day_id == market_day.id)))
        .options(joinedload(Producer.user)).order_by(Producer.id)).unique().all()
    for producer in producers:
        user = producer.user
        queue_email(user.email, "market_day_cancelled_producer",
                    _l("%(market)s on %(date)s is cancelled", market=market_day.market.name,
                       date=market_day.date.isoformat()),
                    locale=user.message_locale, dedupe_key=f"day-cancelled-{market_day.id}-producer-{producer.id}",
                    user=user, producer=producer, market=market_day.market, market_day=market_day)


def mark_packed(order: Order, producer: Producer, actor: User, now: datetime | None = None) -> Order:
    """The producer's lines of this order are packed; the order is ready when every line is."""
    now = now or utcnow()
    _check_producer(producer, actor)
    if not any(line.producer_id == producer.id for line in order.lines):
        raise NotAllowed()
    _check_state(order, [OrderStatus.CONFIRMED, OrderStatus.READY])
    db.session.execute(
        update(OrderLine).where(OrderLine.order_id == order.id, OrderLine.producer_id == producer.id,
                                OrderLine.status == LineStatus.RESERVED)
        .values(status=LineStatus.PACKED, packed_at=now).execution_options(synchronize_session=False))
    db.session.expire(order, ["lines"])
    if all(line.status in (LineStatus.PACKED, LineStatus.MISSING, LineStatus.CANCELLED) for line in order.lines):
        mark_ready(order, now)
    return order


def mark_ready(order: Order, now: datetime | None = None) -> Order:
    """confirmed -> ready (every line packed)."""
    now = now or utcnow()
    _check_state(order, [OrderStatus.CONFIRMED])
    if any(line.status == LineStatus.RESERVED for line in order.lines):
        raise InvalidState(_("Some lines are not packed yet."))
    _move(order, [OrderStatus.CONFIRMED], OrderStatus.READY, ready_at=now)
    _tell_customer(order, "order_ready", "ready",
                   _l("Your order %(code)s is packed and ready to pick up", code=order.pickup_code))
    return order


def record_weight(line: OrderLine, producer: Producer, actor: User, quantity_milli: int) -> OrderLine:
    """The weighed quantity of a by-weight line; the line and the order are re-priced from it."""
    _check_producer(producer, actor)
    if line.producer_id != producer.id:
        raise NotAllowed()
    _lock_open(line.order)
    if not line.sold_by_weight:
        raise InvalidState(_("Only products sold by weight are weighed."))
    if line.status not in (LineStatus.RESERVED, LineStatus.PACKED):
        raise InvalidState(_("This line is not being delivered."))
    if quantity_milli <= 0:
        raise InvalidState(_("Enter a weight greater than zero, or mark the line missing."))
    line.actual_quantity_milli = quantity_milli
    line.line_total_minor = line_total_minor(line.unit_price_minor, quantity_milli)
    _recompute_totals(line.order)
    return line


def mark_line_missing(line: OrderLine, actor: User, now: datetime | None = None) -> OrderLine:
    """The producer did not bring this line; the customer does not pay for it."""
    order = line.order
    if not (_owns_line(actor, line) or _manages_market(actor, order.market_day)):
        raise NotAllowed()
    _lock_open(order)
    if line.status not in (LineStatus.RESERVED, LineStatus.PACKED):
        raise InvalidState(_("This line is not being delivered."))
    line.status = LineStatus.MISSING
    _recompute_totals(order)
    db.session.flush()
    if order.status == OrderStatus.CONFIRMED and all(
            l.status in (LineStatus.PACKED, LineStatus.MISSING, LineStatus.CANCELLED) for l in order.lines):
        mark_ready(order, now)
    return line


def hand_over(order: Order, actor: User, cash_received_minor: int | None = None,
              now: datetime | None = None) -> Order:
    """confirmed/ready -> picked_up: the cash received is recorded (a cash order's total unless told).

    The card is not charged here: the pickup point (`pickup.services.hand_over`) decides what
    goes on the card and what is paid in cash, and captures after this transition.
    """
    now = now or utcnow()
    if not _manages_market(actor, order.market_day):
        raise NotAllowed()
    _check_state(order, [OrderStatus.CONFIRMED, OrderStatus.READY])
    cash = cash_received_minor
    if cash is None and order.payment_method == PaymentMethod.CASH:
        cash = order.total_minor
    if cash is not None and cash < 0:
        raise InvalidState(_("Enter the amount received."))
    _move(order, [OrderStatus.CONFIRMED, OrderStatus.READY], OrderStatus.PICKED_UP, picked_up_at=now,
          handed_over_by_id=actor.id, cash_received_minor=cash)
    # Standing inventory leaves the shelf for good: both the stock and its reservation go down.
    for line in sorted(order.lines, key=lambda l: l.product_id):
        if line.offer_id is None and line.status != LineStatus.CANCELLED:
            gone = 0 if line.status == LineStatus.MISSING else line.quantity_milli
            db.session.execute(
                update(Product).where(Product.id == line.product_id)
                .values(inventory_milli=Product.inventory_milli - gone,
                        inventory_reserved_milli=Product.inventory_reserved_milli - line.quantity_milli)
                .execution_options(synchronize_session=False))
    order_handing_over.send(order, amount_minor=order.total_minor)
    return order


def record_cash_received(order: Order, cash_minor: int) -> Order:
    """The cash taken at the hand-over of an order just handed over, when the pickup point
    learns after the transition that the card covers less than it expected."""
    _check_state(order, [OrderStatus.PICKED_UP])
    if cash_minor < 0:
        raise InvalidState(_("Enter the amount received."))
    _move(order, [OrderStatus.PICKED_UP], OrderStatus.PICKED_UP, cash_received_minor=cash_minor)
    return order


def undo_deadline(order: Order) -> datetime | None:
    """Until when the hand-over of this order can be undone (None if it is not handed over)."""
    if order.status != OrderStatus.PICKED_UP or order.picked_up_at is None:
        return None
    return order.picked_up_at + timedelta(minutes=current_app.config["HANDOVER_UNDO_MINUTES"])


def can_undo(order: Order, now: datetime | None = None) -> bool:
    deadline = undo_deadline(order)
    return deadline is not None and (now or utcnow()) <= deadline


def undo_hand_over(order: Order, actor: User, now: datetime | None = None) -> Order:
    """picked_up -> ready or confirmed (where it was), within HANDOVER_UNDO_MINUTES of a
    hand-over pressed by mistake; standing stock goes back on the shelf.

    A card order becomes a cash order, so its next hand-over is paid in cash: the caller
    refunds what the card was charged (the pickup point does, through payments).
    """
    now = now or utcnow()
    if not _manages_market(actor, order.market_day):
        raise NotAllowed()
    _check_state(order, [OrderStatus.PICKED_UP])
    if not can_undo(order, now):
        raise InvalidState(_("A hand-over can only be undone within %(minutes)s minutes.",
                             minutes=current_app.config["HANDOVER_UNDO_MINUTES"]))
    back_to = OrderStatus.READY if order.ready_at is not None else OrderStatus.CONFIRMED
    _move(order, [OrderStatus.PICKED_UP], back_to, picked_up_at=None, handed_over_by_id=None,
          cash_received_minor=None, payment_method=PaymentMethod.CASH)
    # The hand-over took standing inventory off the shelf for good; put it back.
    for line in sorted(order.lines, key=lambda l: l.product_id):
        if line.offer_id is None and line.status != LineStatus.CANCELLED:
            gone = 0 if line.status == LineStatus.MISSING else line.quantity_milli
            db.session.execute(
                update(Product).where(Product.id == line.product_id)
                .values(inventory_milli=Product.inventory_milli + gone,
                        inventory_reserved_milli=Product.inventory_reserved_milli + line.quantity_milli)
                .execution_options(synchronize_session=False))
    return order


def mark_no_show(order: Order, actor: User | None, now: datetime | None = None) -> Order:
    """confirmed/ready -> no_show after the slot's end plus the grace period.

    `actor` None is the system (a command closing the day). The day's harvest is not given
    back (the day is over), but standing inventory goes back on the shelf: the jar still
    exists and may be sold another day.
    """
    now = now or utcnow()
    if actor is not None and not _manages_market(actor, order.market_day):
        raise NotAllowed()
    _check_state(order, [OrderStatus.CONFIRMED, OrderStatus.READY])
    grace = timedelta(minutes=current_app.config["NO_SHOW_GRACE_MINUTES"])
    if now < order.pickup_slot.ends_at + grace:
        raise InvalidState(_("The pickup time has not passed yet."))
    _move(order, [OrderStatus.CONFIRMED, OrderStatus.READY], OrderStatus.NO_SHOW, no_show_at=now)
    if _claim_release(order, now):
        for line in sorted(order.lines, key=lambda l: l.product_id):
            if line.offer_id is None and line.status != LineStatus.CANCELLED:
                _give_back(line)
    order_no_show.send(order)
    _tell_customer(order, "order_no_show", "no-show",
                   _l("Your order %(code)s was not picked up", code=order.pickup_code))
    return order


# --- Giving stock back exactly once -----------------------------------------------------

def _claim_release(order: Order, now: datetime) -> bool:
    result = db.session.execute(
        update(Order).where(Order.id == order.id, Order.stock_released_at.is_(None))
        .values(stock_released_at=now).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _release(order: Order, now: datetime) -> None:
    """Give back the stock of every line and the slot place, once for the order's life."""
    if not _claim_release(order, now):
        return
    for line in _release_order(order.lines):
        _cancel_line(line)
    db.session.execute(update(PickupSlot).where(PickupSlot.id == order.pickup_slot_id, PickupSlot.reserved > 0)
                       .values(reserved=PickupSlot.reserved - 1).execution_options(synchronize_session=False))
    db.session.refresh(order)


def _release_order(lines):
    """Lines in the lock order used at placement: offers by id, then inventory by product id."""
    return sorted(lines, key=lambda l: (0, l.offer_id, 0) if l.offer_id else (1, 0, l.product_id))


def _cancel_line(line: OrderLine) -> None:
    moved = db.session.execute(
        update(OrderLine).where(OrderLine.id == line.id, OrderLine.status != LineStatus.CANCELLED)
        .values(status=LineStatus.CANCELLED).execution_options(synchronize_session=False))
    if moved.rowcount == 1:
        _give_back(line)
    db.session.expire(line)


def _give_back(line: OrderLine) -> None:
    if line.offer_id:
        db.session.execute(update(Offer).where(Offer.id == line.offer_id)
                           .values(reserved_milli=Offer.reserved_milli - line.quantity_milli)
                           .execution_options(synchronize_session=False))
    else:
        db.session.execute(update(Product).where(Product.id == line.product_id)
                           .values(inventory_reserved_milli=Product.inventory_reserved_milli - line.quantity_milli)
                           .execution_options(synchronize_session=False))


def _recompute_totals(order: Order) -> None:
    """Subtotal as ordered; total as weighed, without missing or cancelled lines."""
    db.session.flush()
    db.session.expire(order, ["lines"])
    active = [line for line in order.lines if line.status != LineStatus.CANCELLED]
    order.subtotal_minor = sum(line_total_minor(line.unit_price_minor, line.quantity_milli) for line in active)
    order.total_minor = sum(line.line_total_minor for line in active if line.status != LineStatus.MISSING)
    db.session.flush()


# --- Access -----------------------------------------------------------------------------

def _check_producer(producer: Producer, actor: User) -> None:
    if producer.user_id != actor.id and not actor.has_role(Role.ADMIN):
        raise NotAllowed()


def _owns_line(actor: User, line: OrderLine) -> bool:
    return line.producer is not None and line.producer.user_id == actor.id


def _manages_market(actor: User, market_day: MarketDay) -> bool:
    return can_manage(actor, market_day.market)


# --- Telling the customer (email, and Telegram for those who linked it) -------------------

def _tell_customer(order: Order, template: str, occasion: str, subject, **context):
    """An order update by the customer's channels, once per order and occasion."""
    customer = order.customer
    return notify(Recipient.of(customer), ORDER_UPDATES, template, subject, occasion=f"order-{order.id}-{occasion}",
                  page=("orders.order_detail", {"order_id": order.id}), button=_l("See your order"),
                  order=order, customer=customer, **context)


def _email_confirmation(order: Order) -> int | None:
    return _tell_customer(order, "order_confirmed", "confirmed",
                   _l("Your order %(code)s for %(market)s", code=order.pickup_code, market=order.market_day.market.name))


def _email_cancelled(order: Order, reason: str) -> None:
    _tell_customer(order, "order_cancelled", "cancelled",
                   _l("Your order %(code)s is cancelled", code=order.pickup_code), reason=reason)


def _email_lines_cancelled(order: Order, producer: Producer, reason: str) -> None:
    _tell_customer(order, "order_changed", f"lines-cancelled-{producer.id}",
                   _l("%(producer)s cannot bring part of your order %(code)s", producer=producer.name,
                      code=order.pickup_code), producer=producer, reason=reason)


def send_reminders(now: datetime | None = None) -> int:
    """Email every customer whose pickup is tomorrow (market's local date), once per order."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Order).join(MarketDay, MarketDay.id == Order.market_day_id)
        .where(Order.status.in_([OrderStatus.CONFIRMED, OrderStatus.READY]), Order.reminder_sent_at.is_(None),
               MarketDay.opens_at > now, MarketDay.opens_at <= now + timedelta(days=2))
        .options(joinedload(Order.market_day).joinedload(MarketDay.market), joinedload(Order.customer),
                 joinedload(Order.pickup_slot), selectinload(Order.lines))).unique().all()
    sent = 0
    for order in candidates:
        market = order.market_day.market
        local_today = now.astimezone(ZoneInfo(market.timezone)).date()
        if order.market_day.date != local_today + timedelta(days=1):
            continue
        claimed = db.session.execute(
            update(Order).where(Order.id == order.id, Order.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        if _tell_customer(order, "order_reminder", "reminder",
                          _l("Tomorrow: pick up your order %(code)s at %(market)s", code=order.pickup_code,
                             market=market.name)):
            sent += 1
    return sent


# --- Labels -----------------------------------------------------------------------------

STATUS_LABELS = {
    OrderStatus.PENDING_PAYMENT: _l("waiting for payment"),
    OrderStatus.CONFIRMED: _l("confirmed"),
    OrderStatus.READY: _l("packed and ready"),
    OrderStatus.PICKED_UP: _l("picked up"),
    OrderStatus.CANCELLED: _l("cancelled"),
    OrderStatus.EXPIRED: _l("expired"),
    OrderStatus.NO_SHOW: _l("not picked up"),
}


def status_label(status: OrderStatus) -> str:
    return str(STATUS_LABELS.get(status, status))

