"""Card payments: authorise at checkout, capture the weighed amount at pickup, release
or refund otherwise; webhooks applied once; reconciliation after lost webhooks.

Our Payment row exists (and is committed by the caller) before Stripe is called, and
every Stripe call carries an idempotency key made from our ids, so a retry or a double
click does one thing at Stripe.

**Locks.** Whatever decides from an order's state locks the order's row first, then the
payment's (`_locked_order`, `_locked_payment`), the order every path takes (the order
transitions lock the order with their conditional UPDATE). A confirmation racing another
confirmation, the webhook or the expiry sweep therefore reads the winner's result instead
of guessing from a stale read, and two paths never wait on each other in a circle.

**No money kept.** An order that ended (cancelled, expired, not picked up) keeps nothing:
`settle_payment` releases its hold or refunds what was captured, and says how it went
without raising; what failed is retried with the same keys by the day's job, by
`reconcile` and by the next attempt of whoever asked.
"""
from __future__ import annotations

import enum
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidState
from marketplace.core.events import business_event
from marketplace.core.extensions import db
from marketplace.core.money import money
from marketplace.markets.models import MarketDay, MarketDayStatus
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from marketplace.orders.reliability import cash_refusal_reason
from marketplace.payments import gateway, settlement
from marketplace.producers.models import Producer
from marketplace.payments.models import (
    EXCESS_REFUND_KEY_SUFFIX,
    Payment,
    PaymentAttempt,
    PaymentRefund,
    PaymentStatus,
    RefundStatus,
    WebhookEvent,
)

log = logging.getLogger(__name__)

#: Stripe's PaymentIntent status -> ours.
INTENT_STATUS = {
    "requires_payment_method": PaymentStatus.CREATED,
    "requires_confirmation": PaymentStatus.CREATED,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "processing": PaymentStatus.REQUIRES_ACTION,
    "requires_capture": PaymentStatus.AUTHORIZED,
    "succeeded": PaymentStatus.CAPTURED,
    "canceled": PaymentStatus.CANCELED,
}
OPEN_STATUSES = (PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION, PaymentStatus.AUTHORIZED)
#: Orders that ended without a hand-over: they keep no money.
ENDED_ORDER_STATES = (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.NO_SHOW)
#: Orders waiting at the pickup point.
OPEN_ORDER_STATES = (OrderStatus.CONFIRMED, OrderStatus.READY)

#: Where each status may be reached from. Payments only move forward: an event that arrives
#: late or twice never moves one back. A payment marked failed may still turn out held (an
#: authorisation that arrives after a decline of an earlier try): better known and released.
_REACHED_FROM = {
    PaymentStatus.REQUIRES_ACTION: {PaymentStatus.CREATED},
    PaymentStatus.FAILED: {PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION},
    PaymentStatus.AUTHORIZED: {PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION, PaymentStatus.FAILED},
    PaymentStatus.CANCELED: {PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION, PaymentStatus.FAILED,
                             PaymentStatus.AUTHORIZED},
    PaymentStatus.CAPTURED: {PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION, PaymentStatus.FAILED,
                             PaymentStatus.AUTHORIZED},
    PaymentStatus.PARTIALLY_REFUNDED: {PaymentStatus.CAPTURED},
    PaymentStatus.REFUNDED: {PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED},
    PaymentStatus.MISSING: {PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION, PaymentStatus.AUTHORIZED,
                            PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED},
}
#: A refund whose answer was lost is asked again (same key) by `reconcile` after this long, so
#: a request still waiting for Stripe's answer is not overtaken.
PENDING_REFUND_RETRY_AFTER = timedelta(minutes=2)
#: Stripe retries an undelivered event for three days; after that a waiting event is kept but not tried.
WAITING_EVENT_DAYS = 3
#: A job stops after this many calls in a row found Stripe unreachable (each would wait for the
#: timeout); what it did not try is reported as failed and tried again by the next run.
UNREACHABLE_IN_A_ROW = 2


class PaymentError(DomainError):
    pass


class HoldGone(PaymentError):
    """Stripe refused to capture because the hold is no longer there (lapsed or cancelled)."""


class Settled(str, enum.Enum):
    """What `settle_payment` did for an order that ended."""

    NOTHING = "nothing"
    RELEASED = "released"
    REFUNDED = "refunded"
    FAILED = "failed"
    #: Stripe has no such PaymentIntent: not retried; the report asks an organizer to look.
    MISSING = "missing"


# --- Locks ---------------------------------------------------------------------------------

def _locked_order(order_id: int) -> Order:
    """The order as committed now, its row locked until the commit (SQLite: the write lock is taken at BEGIN)."""
    return db.session.scalars(select(Order).where(Order.id == order_id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def _locked_payment(payment_id: int) -> Payment:
    return db.session.scalars(select(Payment).where(Payment.id == payment_id).with_for_update()
                              .execution_options(populate_existing=True)).one()


# --- Offering the card -----------------------------------------------------------------

def card_refusal_reason(market_day: MarketDay, now: datetime | None = None) -> str | None:
    """Why the card is not offered for this market day, or None when it is.

    A card authorisation lasts about 7 days, so the day must end within the hold window.
    """
    if not gateway.is_configured():
        return str(_l("Card payment is not set up on this site; you can pay in cash at pickup."))
    if not gateway.seems_available():
        return str(_l("Card payment is unavailable right now. Please pay in cash at pickup, or try again "
                      "in a few minutes."))
    now = now or utcnow()
    window = timedelta(days=current_app.config["CARD_HOLD_WINDOW_DAYS"])
    if market_day.closes_at - now > window:
        return str(_l("Card payment opens %(days)s days before the market day, because a card "
                      "hold lasts only about a week. Come back closer to the day, or pay in cash.",
                      days=current_app.config["CARD_HOLD_WINDOW_DAYS"]))
    return None


def amount_to_authorise(order: Order) -> int:
    """The order total plus the weighing margin on by-weight lines (weighed items may come out heavier)."""
    margin_percent = current_app.config["CARD_WEIGHT_MARGIN_PERCENT"]
    margin = sum((line.line_total_minor * margin_percent + 99) // 100
                 for line in order.lines if line.sold_by_weight)
    return order.total_minor + margin


# --- Authorising -------------------------------------------------------------------------

def open_payment_for(order: Order) -> Payment:
    """Our record of the card payment of a new card order (the caller commits before start_intent)."""
    existing = current_payment(order)
    if existing is not None:
        return existing
    payment = Payment(order_id=order.id, currency=order.currency,
                      amount_authorized_minor=amount_to_authorise(order), status=PaymentStatus.CREATED)
    db.session.add(payment)
    db.session.flush()
    return payment


def current_payment(order: Order) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id.desc()))


def start_intent(payment: Payment) -> Payment:
    """Create the PaymentIntent at Stripe (idempotent: the same key for the same payment)."""
    if payment.provider_intent_id:
        return payment
    state = gateway.create_intent(payment.amount_authorized_minor, payment.currency,
                                  idempotency_key=f"aimak-payment-{payment.id}-create",
                                  metadata={"order_id": payment.order_id, "payment_id": payment.id})
    payment.provider_intent_id = state.id
    db.session.flush()
    return payment


def submit_card(payment: Payment, token: str, email: str) -> gateway.IntentState:
    """Attach the tokenised card and ask for the authorisation; apply what Stripe answers.

    A declined card ends the order at once (stock and slot come back). When Stripe refuses
    the confirmation as it stands, or the same key is still in flight (a double submit),
    what counts is the intent as Stripe has it now: the other request may have authorised
    it. The caller has committed the PaymentIntent id (start_intent) before this is called.
    """
    order = payment.order
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise InvalidState(str(_l("This order is not waiting for a payment.")))
    if not payment.provider_intent_id:
        raise InvalidState(str(_l("This payment has not been started.")))
    if order.hold_until is not None and order.hold_until <= utcnow():
        # Not sent to Stripe: the expiry sweep gives the stock back.
        raise InvalidState(str(_l("The time to pay for this order has passed; it has expired.")))
    try:
        state = gateway.confirm_with_card_token(payment.provider_intent_id, token, email,
                                                idempotency_key=f"aimak-payment-{payment.id}-card-{token[-12:]}")
    except gateway.CardDeclined as exc:
        _locked_order(payment.order_id)
        payment = _locked_payment(payment.id)
        if payment.status not in (PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION):
            return refresh_state(payment)  # another try got there first; the decline is old news
        payment.failure_message = exc.message[:255]
        _advance(payment, PaymentStatus.FAILED)
        _end_unpaid_order(db.session.get(Order, payment.order_id))
        raise
    except (gateway.GatewayRefused, gateway.GatewayBusy):
        return refresh_state(payment)
    apply_state(payment, state)
    return state


def refresh_from_stripe(payment: Payment) -> str:
    """Read the PaymentIntent back from Stripe and apply it (the browser's word is never enough)."""
    return refresh_state(payment).status


def refresh_state(payment: Payment) -> gateway.IntentState:
    state = gateway.retrieve(payment.provider_intent_id)
    apply_state(payment, state)
    return state


def apply_state(payment: Payment, state: gateway.IntentState) -> None:
    apply_intent_state(payment, state.status, amount_received=state.amount_received,
                       capture_before=state.capture_before)


def apply_intent_state(payment: Payment, intent_status: str, *, amount_received: int = 0,
                       capture_before: datetime | None = None, now: datetime | None = None) -> None:
    """Move our payment forward to what Stripe says (never backward), then decide what its
    order does, on the order as it is now (locked first, see the module's note)."""
    target = INTENT_STATUS.get(intent_status)
    if target is None:
        return
    now = now or utcnow()
    order = _locked_order(payment.order_id)
    payment = _locked_payment(payment.id)
    if intent_status == "requires_payment_method" and payment.status == PaymentStatus.REQUIRES_ACTION:
        target = PaymentStatus.FAILED  # 3-D Secure failed: the card was not authorised
    moved = _advance(payment, target)
    if target == PaymentStatus.AUTHORIZED:
        _note_hold(payment, capture_before, now)
        _follow_authorisation(order, payment, now)
    elif target in (PaymentStatus.FAILED, PaymentStatus.CANCELED) and moved:
        _follow_hold_gone(order, payment, now)
    elif target == PaymentStatus.CAPTURED and moved:
        # Captured outside our hand-over (Stripe's dashboard, or early by mistake).
        _record_stripe_capture(payment, amount_received)
        if order.status in ENDED_ORDER_STATES:
            settle_payment(payment)  # a capture on an order that ended is given back


def _note_hold(payment: Payment, capture_before: datetime | None, now: datetime) -> None:
    """When the money was first held, and until when it can be captured (Stripe's word, else its usual window)."""
    if payment.authorized_at is None:
        payment.authorized_at = now
    if capture_before is not None:
        payment.capture_before = capture_before
    elif payment.capture_before is None:
        payment.capture_before = payment.authorized_at + timedelta(days=current_app.config["CARD_HOLD_DAYS"])
    db.session.flush()


def _follow_authorisation(order: Order, payment: Payment, now: datetime) -> None:
    """The card is held: confirm the order if it still waits; let the hold go only if the order
    really ended (or is paid in cash); a confirmed order was confirmed by the request that won."""
    if order.status == OrderStatus.PENDING_PAYMENT:
        if order.hold_until is not None and order.hold_until <= now:
            orders.expire(order, now)  # stock back; the order_cancelled receiver lets the hold go
        else:
            orders.confirm_payment(order, now)
    elif order.status in ENDED_ORDER_STATES or order.payment_method != PaymentMethod.CARD:
        settle_payment(payment)


def _follow_hold_gone(order: Order, payment: Payment, now: datetime) -> None:
    """The card was declined, or its hold lapsed or was cancelled at Stripe."""
    if order.status == OrderStatus.PENDING_PAYMENT:
        orders.end_unpaid(order, now)
    elif (order.status in OPEN_ORDER_STATES and order.payment_method == PaymentMethod.CARD
          and orders.card_hold_lapsed(order, now)):
        business_event("card_hold_lapsed", order_id=order.id, payment_id=payment.id,
                       market_day_id=order.market_day_id)


def _advance(payment: Payment, target: PaymentStatus) -> bool:
    """A conditional move to a later status; False when the payment is already there or past it."""
    earlier = _REACHED_FROM.get(target, set())
    if payment.status not in earlier:
        return False
    result = db.session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status.in_(list(earlier)))
        .values(status=target, updated_at=utcnow()).execution_options(synchronize_session=False))
    db.session.refresh(payment)
    return result.rowcount == 1


def _end_unpaid_order(order: Order) -> None:
    if order.status == OrderStatus.PENDING_PAYMENT:
        orders.end_unpaid(order)


def cash_instead_refusal(order: Order) -> str | None:
    """Why this card order cannot switch to cash at pickup, or None when it can."""
    if not order.market_day.market.accepts_cash:
        return str(_l("This market takes no cash at pickup."))
    return cash_refusal_reason(order.customer_id)


def switch_to_cash(order: Order, customer: User) -> Order:
    """A card order still waiting for its payment becomes a cash order (the card hold, if any,
    goes; if Stripe cannot be reached now, `reconcile` lets it go later)."""
    reason = cash_instead_refusal(order)
    if reason:
        raise PaymentError(reason)
    order = _locked_order(order.id)
    if order.status != OrderStatus.PENDING_PAYMENT:
        # Checked before Stripe is asked: a confirmed order's hold (an old tab's "pay in cash"
        # after the card went through) is the hand-over's, and a refusal rolls back only our side.
        raise InvalidState(str(_l("This order is not waiting for a payment.")))
    payment = current_payment(order)
    if payment is not None and payment.status in OPEN_STATUSES:
        _let_go(_locked_payment(payment.id))
    return orders.switch_to_cash(order, customer)


# --- At the pickup point (called by pickup, which stands above payments) ------------------

def card_hold_minor(payment: Payment | None) -> int | None:
    """What an authorised card payment holds, or None when nothing holds money for the order."""
    if payment is None or payment.status != PaymentStatus.AUTHORIZED:
        return None
    return payment.amount_authorized_minor


def card_charged_minor(payment: Payment | None) -> int:
    """What the card was already charged and not given back (a capture before the hand-over)."""
    if payment is None or payment.status not in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED):
        return 0
    return payment.amount_captured_minor - payment.amount_refunded_minor


def capture_at_handover(payment: Payment | None, amount_minor: int, actor: User | None = None) -> int:
    """Charge the card what the customer pays at hand-over, never more than it holds; nothing
    to charge (every line missing) lets the hold go. The caller has moved the order first, so
    two organizers pressing at once capture once. Returns what the card is charged for the
    order in the end; the caller collects in cash what is due above it.

    A card charged before the hand-over (captured early, or by a capture whose answer was
    lost) is not charged again: what it was charged above the amount due is refunded."""
    if payment is not None and card_charged_minor(payment) > 0:
        return _refund_excess(payment, amount_minor, actor)
    if payment is None or payment.status != PaymentStatus.AUTHORIZED:
        raise PaymentError(str(_l("The card payment of this order is not authorised; take cash instead.")))
    amount = min(amount_minor, payment.amount_authorized_minor)
    if amount <= 0:
        _let_go(payment)
        # Stripe may say the card was charged after all (an earlier capture whose answer was lost).
        return _refund_excess(payment, 0, actor) if card_charged_minor(payment) > 0 else 0
    key = f"aimak-payment-{payment.id}-capture"
    try:
        gateway.capture(payment.provider_intent_id, amount, idempotency_key=key)
    except (gateway.GatewayRefused, gateway.GatewayUnavailable) as exc:
        captured = _captured_after_all(payment, exc)
        _attempt(payment, "capture", key, captured, ok=True)
        _record_stripe_capture(_locked_payment(payment.id), captured)
        return _refund_excess(payment, amount_minor, actor)
    _attempt(payment, "capture", key, amount, ok=True)
    db.session.execute(update(Payment).where(Payment.id == payment.id)
                       .values(amount_captured_minor=amount, updated_at=utcnow()))
    _advance(payment, PaymentStatus.CAPTURED)
    return amount


def _captured_after_all(payment: Payment, exc: gateway.GatewayError) -> int:
    """What Stripe captured although our capture call failed, refused or went unanswered, read
    back from the intent; raises when it captured nothing (or cannot be asked).

    Stripe captures an intent once. A capture whose answer was lost, retried with the same key
    and another amount (the line weighed again meanwhile), gets an idempotency error; retried
    with a new key it would be refused as already captured: either way the intent says what
    was taken."""
    try:
        state = gateway.retrieve(payment.provider_intent_id)
    except gateway.GatewayError as read_exc:
        log.warning("Stripe capture of payment %s (order %s) failed (%s) and the intent could not be read "
                    "back: %s", payment.id, payment.order_id, exc.message, read_exc.message)
        state = None
    if state is not None and state.status == "succeeded":
        return min(state.amount_received or payment.amount_authorized_minor, payment.amount_authorized_minor)
    if isinstance(exc, gateway.GatewayRefused):
        raise HoldGone(str(_l("The card could not be charged (%(why)s). Take cash instead.",
                              why=exc.message[:120]))) from exc
    log.warning("Stripe capture of payment %s (order %s) did not go through: %s", payment.id,
                payment.order_id, exc.message)
    raise PaymentError(str(_l("The card could not be charged right now: the card service did not answer. "
                              "Try again in a minute, or take cash."))) from exc


def _record_stripe_capture(payment: Payment, captured_minor: int) -> None:
    """Stripe captured this payment without our hand-over knowing (a lost answer, its dashboard,
    an early capture): record what it took, never more than it held."""
    if payment.amount_captured_minor == 0:
        captured = min(captured_minor or payment.amount_authorized_minor, payment.amount_authorized_minor)
        db.session.execute(update(Payment).where(Payment.id == payment.id)
                           .values(amount_captured_minor=captured, updated_at=utcnow()))
        db.session.refresh(payment)
    _advance(payment, PaymentStatus.CAPTURED)


def _refund_excess(payment: Payment, due_minor: int, actor: User | None) -> int:
    """A card charged more than is due at the hand-over gives the excess back (one refund per
    payment, its own key); what the card is charged in the end is returned. A refund whose
    answer is lost stays pending and counts as given back: `reconcile` asks again."""
    payment = _locked_payment(payment.id)
    excess = card_charged_minor(payment) - due_minor
    if excess > 0:
        record = _claim_refund(payment, excess, str(_l("Charged before the hand-over, above what was due.")),
                               key=f"aimak-payment-{payment.id}{EXCESS_REFUND_KEY_SUFFIX}", actor=actor)
        _send_unless_refused(record)
        db.session.refresh(payment)
    return card_charged_minor(payment)


def cash_at_pickup_instead(order: Order) -> None:
    """The pickup point takes cash for a card order whose card cannot be charged: the order
    becomes a cash order (the customer is told) and its hold goes, now if Stripe answers,
    else by `reconcile` (a cash order keeps no hold)."""
    order = _locked_order(order.id)
    payment = current_payment(order)
    if payment is not None and card_charged_minor(payment) > 0:
        raise PaymentError(str(_l("This card was already charged; refund it first if the customer pays in cash.")))
    if payment is not None and payment.status in OPEN_STATUSES:
        payment = _locked_payment(payment.id)
        _let_go(payment)
        if card_charged_minor(payment) > 0:
            # Stripe says the card was charged after all (a capture whose answer was lost):
            # the order is paid by card; the next hand-over asks Stripe again with its key.
            raise PaymentError(str(_l("The card was charged after all: press Hand over again, there is "
                                      "nothing to collect in cash for the card's part.")))
    orders.card_hold_lapsed(order)


def refund_undone_handover(order: Order, actor: User | None) -> PaymentRefund | None:
    """A card hand-over undone at the pickup point: give the whole capture back (the refund, still
    pending when Stripe's answer is lost), or refuse the undo when Stripe refuses the refund."""
    payment = current_payment(order)
    if payment is None:
        return None
    payment = _locked_payment(payment.id)
    left = payment.amount_captured_minor - payment.amount_refunded_minor
    if left <= 0:
        return None
    record = _claim_refund(payment, left, str(_l("Hand-over undone at the pickup point.")),
                           key=f"aimak-payment-{payment.id}-refund-undo", actor=actor)
    return _send_unless_refused(record)


def _send_unless_refused(record: PaymentRefund) -> PaymentRefund:
    """Send a refund now; raise only when Stripe refused it (the caller's transaction, the
    refund row with it, rolls back: nothing happened at Stripe). A refund whose answer was
    lost may have been made: it stays pending, its amount claimed, and `reconcile` asks again
    with the same key (rolling it back would leave nobody to learn what Stripe did)."""
    if record.status == RefundStatus.PENDING:
        _send_refund(record)
    if record.status == RefundStatus.FAILED:
        raise PaymentError(str(_l("Stripe refused the refund (%(why)s). Nothing was changed.",
                                  why=_last_error(record.payment_id)[:120])))
    return record


# --- After the order moves (receivers of the orders signals, connected in register) --------

def open_payment_of_card_order(order: Order, **_extra) -> None:
    """Our payment row is written with the order; Stripe is called when the card is entered."""
    if order.payment_method == PaymentMethod.CARD:
        open_payment_for(order)


def offer_card(market_day: MarketDay, customer=None, **_extra) -> orders.PaymentChoice:
    """The card at checkout, offered or with the reason it is not."""
    return orders.PaymentChoice(PaymentMethod.CARD, str(_l("Card, now (charged at pickup for what you receive)")),
                                card_refusal_reason(market_day))


def release_authorisation(order: Order, **_extra) -> None:
    """An order that ended keeps no money (receiver of order_cancelled and order_no_show): its
    hold is released, a capture refunded. If Stripe is unreachable the order still moves on;
    `flask reconcile-payments` finishes later. The orders of a cancelled market day are
    settled by the day's job after the cancelling commit, one order per commit."""
    if order.status == OrderStatus.CANCELLED and order.market_day.status == MarketDayStatus.CANCELLED:
        return
    for payment_id in db.session.scalars(select(Payment.id).where(Payment.order_id == order.id)
                                         .order_by(Payment.id)).all():
        settle_payment(_locked_payment(payment_id))


def settle_payment(payment: Payment) -> Settled:
    """The money of an order that ended: release the hold, or refund what was captured and not
    given back; ask again (same key) for a refund whose answer was lost. Never raises for
    Stripe; the caller holds the order's lock."""
    if payment.status == PaymentStatus.MISSING:
        return Settled.MISSING
    if payment.status in OPEN_STATUSES:
        if _let_go(payment):
            return Settled.RELEASED
        if payment.status == PaymentStatus.MISSING:
            return Settled.MISSING
        if payment.status in OPEN_STATUSES:
            return Settled.FAILED
        # Stripe says it was captured meanwhile: then it is refunded below.
    outcome = Settled.NOTHING
    for record in db.session.scalars(select(PaymentRefund).where(
            PaymentRefund.payment_id == payment.id, PaymentRefund.status == RefundStatus.PENDING)
            .order_by(PaymentRefund.id)).all():
        outcome = Settled.REFUNDED if _send_refund(record) and outcome != Settled.FAILED else Settled.FAILED
    db.session.refresh(payment)
    left = payment.amount_captured_minor - payment.amount_refunded_minor
    if left > 0:
        record = _claim_refund(payment, left, str(_l("The order was cancelled.")),
                               key=f"aimak-payment-{payment.id}-refund-ended")
        if record.status == RefundStatus.PENDING:
            _send_refund(record)
        outcome = Settled.REFUNDED if record.status == RefundStatus.SUCCEEDED and outcome != Settled.FAILED \
            else Settled.FAILED
    if payment.status == PaymentStatus.MISSING:
        return Settled.MISSING
    return outcome


def _is_missing(exc: gateway.GatewayError) -> bool:
    """Stripe's 404 "No such payment_intent": no retry will ever find it."""
    return isinstance(exc, gateway.GatewayRefused) and exc.code == "resource_missing"


def _mark_missing(payment: Payment, operation: str, message: str) -> None:
    """The intent is missing at Stripe: stop retrying; an organizer has to look at it."""
    if _advance(payment, PaymentStatus.MISSING):
        business_event("card_payment_missing_at_stripe", payment_id=payment.id, order_id=payment.order_id,
                       intent_id=payment.provider_intent_id, operation=operation, error=message[:255])


def _let_go(payment: Payment) -> bool:
    """Cancel the intent at Stripe (its hold, if any, goes); True when it is cancelled. When
    Stripe refuses (already cancelled, or captured meanwhile), its current state is applied."""
    if not payment.provider_intent_id:
        _advance(payment, PaymentStatus.CANCELED)
        return True
    key = f"aimak-payment-{payment.id}-cancel"
    held = payment.amount_authorized_minor if payment.status == PaymentStatus.AUTHORIZED else 0
    try:
        gateway.cancel(payment.provider_intent_id, idempotency_key=key)
    except gateway.GatewayRefused as refused:
        if _is_missing(refused):
            _attempt(payment, "release", key, held, ok=False, error=refused.message)
            _mark_missing(payment, "release", refused.message)
            return False
        try:
            state = gateway.retrieve(payment.provider_intent_id)
        except gateway.GatewayError as exc:
            _attempt(payment, "release", key, held, ok=False, error=exc.message)
            if _is_missing(exc):
                _mark_missing(payment, "release", exc.message)
            return False
        _attempt(payment, "release", key, held, ok=state.status == "canceled",
                 error="" if state.status == "canceled" else refused.message)
        if state.status == "succeeded" and payment.amount_captured_minor == 0:
            _record_stripe_capture(payment, state.amount_received)
            return False
        if state.status != "canceled":
            return False
    except gateway.GatewayError as exc:
        log.warning("Could not release the card hold of order %s now: %s", payment.order_id, exc.message)
        _attempt(payment, "release", key, held, ok=False, error=exc.message)
        return False
    else:
        _attempt(payment, "release", key, held, ok=True)
    _advance(payment, PaymentStatus.CANCELED)
    return True


def _attempt(payment: Payment, operation: str, key: str, amount_minor: int, *, ok: bool, error: str = "") -> None:
    """Record a money-moving call. Stripe's words (or the network's: host, port, exception)
    stay here and in the log; pages and reports say what happened in a plain sentence."""
    if not ok:
        log.warning("Stripe %s of payment %s (order %s, key %s) did not go through: %s", operation, payment.id,
                    payment.order_id, key, error)
    db.session.add(PaymentAttempt(payment_id=payment.id, operation=operation, idempotency_key=key[:255],
                                  amount_minor=amount_minor, ok=ok, error=(error or "")[:255]))
    db.session.flush()


def _last_error(payment_id: int) -> str:
    return db.session.scalar(select(PaymentAttempt.error).where(
        PaymentAttempt.payment_id == payment_id, PaymentAttempt.ok.is_(False))
        .order_by(PaymentAttempt.id.desc()).limit(1)) or ""


# --- Refunds ------------------------------------------------------------------------------

@dataclass
class RefundResult:
    """What a refund request did: refunded (or still being asked), or the hold released instead."""

    amount_minor: int
    currency: str
    refund: PaymentRefund | None = None
    #: Nothing had been charged: the card hold was released instead (the order, if still to be
    #: picked up, is paid in cash at pickup).
    released: bool = False

    @property
    def pending(self) -> bool:
        return self.refund is not None and self.refund.status == RefundStatus.PENDING


def pending_refund_minor(payment: Payment | None) -> int:
    """Refunds of this payment still waiting for Stripe's answer (asked again automatically)."""
    if payment is None:
        return 0
    return db.session.scalar(select(func.coalesce(func.sum(PaymentRefund.amount_minor), 0)).where(
        PaymentRefund.payment_id == payment.id, PaymentRefund.status == RefundStatus.PENDING)) or 0


def new_refund_key() -> str:
    """The key a refund form carries, so that its double click refunds once."""
    return uuid.uuid4().hex


def refund(actor: User, order: Order, amount_minor: int, reason: str, producer_id: int | None = None,
           *, key: str | None = None) -> RefundResult:
    """Give back part or all of what the order's card was charged, never more than is left,
    once per `key` (the refund form's): a second submit finds the first refund and asks Stripe
    again only if its answer was lost. A card only authorised has nothing to refund: its hold
    is released instead, and an order still to be picked up is then paid in cash at pickup."""
    order = _locked_order(order.id)
    payment = current_payment(order)
    if payment is None:
        raise PaymentError(str(_l("Nothing was charged on this order's card, so there is nothing to refund.")))
    payment = _locked_payment(payment.id)
    if payment.amount_captured_minor == 0:
        return _release_instead(order, payment)
    full_key = f"aimak-refund-{key or new_refund_key()}"
    if _refund_by_key(full_key) is None:  # a second click finds its refund, whatever was refunded since
        _check_attribution(order, payment, producer_id, amount_minor)
    record = _claim_refund(payment, amount_minor, reason, key=full_key, actor=actor, producer_id=producer_id)
    if record.status == RefundStatus.PENDING:
        _send_refund(record)
    if record.status == RefundStatus.FAILED:
        raise PaymentError(str(_l("Stripe refused the refund (%(why)s). Nothing was refunded.",
                                  why=_last_error(payment.id)[:120])))
    return RefundResult(record.amount_minor, payment.currency, record)


def _release_instead(order: Order, payment: Payment) -> RefundResult:
    if payment.status == PaymentStatus.CANCELED and payment.authorized_at is not None:
        return RefundResult(payment.amount_authorized_minor, payment.currency, released=True)  # a second click
    if payment.status != PaymentStatus.AUTHORIZED:
        raise PaymentError(str(_l("Nothing was charged on this order's card, so there is nothing to refund.")))
    if not _let_go(payment):
        raise PaymentError(str(_l("The card hold could not be released right now: the card service did not "
                                  "release it. Try again in a minute.")))
    if order.status in OPEN_ORDER_STATES and order.payment_method == PaymentMethod.CARD:
        orders.card_hold_lapsed(order)
    return RefundResult(payment.amount_authorized_minor, payment.currency, released=True)


def _refund_by_key(key: str) -> PaymentRefund | None:
    return db.session.scalar(select(PaymentRefund).where(PaymentRefund.idempotency_key == key))


def _claim_refund(payment: Payment, amount_minor: int, reason: str, *, key: str, actor: User | None = None,
                  producer_id: int | None = None) -> PaymentRefund:
    """The refund row under `key` (pending, its amount claimed from what the payment can still
    refund), or the row already written under it. The caller holds the payment's lock, so a
    second request with the same key waits for the first and then finds its row."""
    existing = _refund_by_key(key)
    if existing is not None:
        if existing.payment_id != payment.id:
            raise PaymentError(str(_l("This form was already used.")))
        return existing
    if amount_minor <= 0:
        raise PaymentError(str(_l("Enter an amount greater than zero.")))
    left = payment.amount_captured_minor - payment.amount_refunded_minor
    if amount_minor > left:
        raise PaymentError(str(_l("At most %(left)s can still be refunded.", left=money(left, payment.currency))),
                           left=left)
    record = PaymentRefund(payment_id=payment.id, producer_id=producer_id, amount_minor=amount_minor,
                           reason=reason[:255], created_by_id=actor.id if actor else None,
                           idempotency_key=key, status=RefundStatus.PENDING)
    try:
        with db.session.begin_nested():
            claimed = db.session.execute(
                update(Payment)
                .where(Payment.id == payment.id,
                       Payment.amount_captured_minor - Payment.amount_refunded_minor >= amount_minor)
                .values(amount_refunded_minor=Payment.amount_refunded_minor + amount_minor, updated_at=utcnow())
                .execution_options(synchronize_session=False))
            if claimed.rowcount != 1:
                raise PaymentError(str(_l("At most %(left)s can still be refunded.",
                                          left=money(left, payment.currency))), left=left)
            db.session.add(record)
            db.session.flush()
    except IntegrityError:
        # Written meanwhile under the same key by a request that did not wait for our lock.
        existing = _refund_by_key(key)
        if existing is None or existing.payment_id != payment.id:
            raise
        return existing
    db.session.refresh(payment)
    return record


def producers_refundable_minor(payment: Payment) -> dict[int, int]:
    """What can still be refunded for each producer's sale on this payment's order: what their
    sold lines came to, less the refunds attributed to them (their share of whole-order refunds
    included, as the settlement shares them) that Stripe did not refuse. A refund from the form
    can then never take a producer's settlement of the order below zero."""
    shares = settlement.line_shares([payment.order_id]).get(payment.order_id, {})
    left = dict(shares)
    for amount, attributed_to in db.session.execute(
            select(PaymentRefund.amount_minor, PaymentRefund.producer_id)
            .where(PaymentRefund.payment_id == payment.id, PaymentRefund.status != RefundStatus.FAILED,
                   settlement.not_excess_refund())).all():
        parts = settlement.split_by_shares(amount, shares) if attributed_to is None else {attributed_to: amount}
        for producer_id, part in parts.items():
            left[producer_id] = left.get(producer_id, 0) - part
    return {producer_id: max(0, amount) for producer_id, amount in left.items()}


def whole_order_refundable_minor(payment: Payment) -> int:
    """The largest whole-order refund whose share (as the settlement splits it by the lines'
    values) fits what is left of every producer's sale."""
    shares = settlement.line_shares([payment.order_id]).get(payment.order_id, {})
    left = producers_refundable_minor(payment)
    total = sum(shares.values())
    if total <= 0:
        return 0
    # A part is its exact share rounded down, plus a unit of the remainder for the largest
    # shares: start at the largest amount whose rounded-down parts fit, then step down past the
    # few the remainder pushes over.
    best = min(((left.get(producer_id, 0) + 1) * total - 1) // share
               for producer_id, share in shares.items() if share > 0)
    while best > 0 and any(part > left.get(producer_id, 0)
                           for producer_id, part in settlement.split_by_shares(best, shares).items()):
        best -= 1
    return best


def _check_attribution(order: Order, payment: Payment, producer_id: int | None, amount_minor: int) -> None:
    """Refused when a refund from the form is more than is left of the sale it is attributed to:
    one producer's, or, once the order is handed over (its card charged at most the lines'
    value), each producer's share of a whole-order refund. Before the hand-over the card may
    hold or have been charged the weighing margin too, which a whole-order refund may give back.
    The caller holds the payment's lock, so two refunds are counted one after the other."""
    if amount_minor <= 0 or amount_minor > payment.amount_captured_minor - payment.amount_refunded_minor:
        return  # refused when claimed, with the message that says what the card can still give back
    if producer_id is None:
        if order.status != OrderStatus.PICKED_UP:
            return
        left = whole_order_refundable_minor(payment)
        if amount_minor > left:
            raise PaymentError(str(_l("At most %(left)s can still be refunded for the whole order: refunds "
                                      "already given in producers' names count.",
                                      left=money(left, payment.currency))), left=left)
        return
    left = producers_refundable_minor(payment).get(producer_id, 0)
    if amount_minor > left:
        producer = db.session.get(Producer, producer_id)
        raise PaymentError(str(_l("At most %(left)s can still be refunded for the sale of %(producer)s on this "
                                  "order.", left=money(left, payment.currency),
                                  producer=producer.name if producer else "?")), left=left)


def _send_refund(record: PaymentRefund) -> bool:
    """Ask Stripe for a pending refund under its key; True when it is done. A refusal gives the
    amount back to what can be refunded; no answer leaves it pending, to be asked again."""
    payment = record.payment
    key = record.idempotency_key or f"aimak-refund-{record.id}"
    try:
        provider_id = gateway.refund(payment.provider_intent_id, record.amount_minor, idempotency_key=key)
    except (gateway.GatewayRefused, gateway.CardDeclined) as exc:
        _attempt(payment, "refund", key, record.amount_minor, ok=False, error=exc.message)
        record.status = RefundStatus.FAILED
        db.session.execute(update(Payment).where(Payment.id == payment.id)
                           .values(amount_refunded_minor=Payment.amount_refunded_minor - record.amount_minor,
                                   updated_at=utcnow()).execution_options(synchronize_session=False))
        db.session.flush()
        db.session.refresh(payment)
        if _is_missing(exc):
            _mark_missing(payment, "refund", exc.message)
        return False
    except gateway.GatewayError as exc:
        log.warning("Refund %s of payment %s not confirmed by Stripe: %s", record.id, payment.id, exc.message)
        _attempt(payment, "refund", key, record.amount_minor, ok=False, error=exc.message)
        return False
    _attempt(payment, "refund", key, record.amount_minor, ok=True)
    record.provider_refund_id = provider_id
    record.status = RefundStatus.SUCCEEDED
    db.session.flush()
    db.session.refresh(payment)
    full = payment.amount_refunded_minor >= payment.amount_captured_minor
    _advance(payment, PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED)
    business_event("card_refunded", payment_id=payment.id, order_id=payment.order_id, refund_id=record.id,
                   amount_minor=record.amount_minor, currency=payment.currency)
    return True


# --- Webhooks -------------------------------------------------------------------------------

class EventOutcome(str, enum.Enum):
    APPLIED = "applied"
    #: Applied before (a repeated delivery).
    REPEATED = "repeated"
    #: About a PaymentIntent we do not know (yet): kept unprocessed; Stripe retries, reconcile applies it.
    WAITING = "waiting"


def receive_event(event: dict) -> EventOutcome:
    """Store the event by its id and apply it once; an event about an intent we do not know yet
    is stored but not marked processed (the caller answers so that Stripe sends it again)."""
    stored = db.session.scalar(select(WebhookEvent).where(WebhookEvent.provider_event_id == event["id"]))
    if stored is None:
        stored = WebhookEvent(provider_event_id=str(event["id"])[:255], type=str(event["type"])[:100],
                              payload=json.dumps(event)[:1_000_000])
        try:
            with db.session.begin_nested():
                db.session.add(stored)
        except IntegrityError:
            return EventOutcome.REPEATED  # a concurrent delivery of the same event stored it first
    elif stored.processed_at is not None:
        return EventOutcome.REPEATED
    if not apply_event(event):
        return EventOutcome.WAITING
    stored.processed_at = utcnow()
    db.session.flush()
    return EventOutcome.APPLIED


def apply_event(event: dict) -> bool:
    """Apply a verified event; False when it is about a PaymentIntent we do not know (yet)."""
    obj = (event.get("data") or {}).get("object") or {}
    event_type = event.get("type", "")
    if event_type.startswith("payment_intent."):
        if not obj.get("id"):
            return True  # nothing to apply
        payment = _payment_for_intent(obj)
        if payment is None:
            return False
        state = gateway.state_of(obj)
        status = state.status
        if event_type == "payment_intent.payment_failed":
            status = "requires_payment_method"
            if payment.status in (PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION):
                _locked_order(payment.order_id)
                payment = _locked_payment(payment.id)
                payment.failure_message = ((obj.get("last_payment_error") or {}).get("message") or "")[:255]
                if _advance(payment, PaymentStatus.FAILED):
                    _end_unpaid_order(db.session.get(Order, payment.order_id))
                return True
        apply_intent_state(payment, status, amount_received=state.amount_received,
                           capture_before=state.capture_before)
    elif event_type == "charge.refunded":
        if not obj.get("payment_intent"):
            return True
        payment = _payment_by_intent(obj.get("payment_intent"))
        if payment is None:
            return False
        _apply_charge_refunded(payment, obj)
    return True


def _apply_charge_refunded(payment: Payment, charge: dict) -> None:
    """A refund made at Stripe (or ours, told again): never counts less than we know."""
    _locked_order(payment.order_id)
    payment = _locked_payment(payment.id)
    if payment.amount_captured_minor == 0:
        return
    refunded = int(charge.get("amount_refunded") or 0)
    if charge.get("amount_captured") is None:
        # localstripe records a partial capture as a full capture plus a refund of the rest.
        refunded -= int(charge.get("amount") or 0) - payment.amount_captured_minor
    refunded = min(max(refunded, 0), payment.amount_captured_minor)
    if refunded > payment.amount_refunded_minor:
        db.session.execute(update(Payment).where(Payment.id == payment.id, Payment.amount_refunded_minor < refunded)
                           .values(amount_refunded_minor=refunded, updated_at=utcnow()))
        db.session.refresh(payment)
        full = payment.amount_refunded_minor >= payment.amount_captured_minor
        _advance(payment, PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED)


def _payment_by_intent(intent_id) -> Payment | None:
    if not intent_id:
        return None
    return db.session.scalar(select(Payment).where(Payment.provider_intent_id == str(intent_id)))


def _payment_for_intent(intent: dict) -> Payment | None:
    """Our payment of this intent; one whose creation answer was lost is known by the metadata
    we sent with it (the event is signed, so the metadata is Stripe's word)."""
    payment = _payment_by_intent(intent.get("id"))
    if payment is not None:
        return payment
    metadata = intent.get("metadata") or {}
    try:
        payment_id, order_id = int(metadata.get("payment_id")), int(metadata.get("order_id"))
    except (TypeError, ValueError):
        return None
    adopted = db.session.execute(
        update(Payment).where(Payment.id == payment_id, Payment.order_id == order_id,
                              Payment.provider_intent_id.is_(None))
        .values(provider_intent_id=str(intent["id"])[:255]).execution_options(synchronize_session=False))
    return db.session.get(Payment, payment_id) if adopted.rowcount == 1 else None


# --- Reconciliation ----------------------------------------------------------------------------

def _money_kept_condition():
    """Payments that still hold or keep money (or wait for a refund's answer)."""
    return and_(Payment.status != PaymentStatus.MISSING,  # no retry can settle those: an organizer looks
                or_(Payment.status.in_(OPEN_STATUSES),
                    Payment.amount_captured_minor > Payment.amount_refunded_minor,
                    exists().where(PaymentRefund.payment_id == Payment.id,
                                   PaymentRefund.status == RefundStatus.PENDING)))


def payments_to_settle(market_day_id: int | None = None, limit: int = 1000) -> list[int]:
    """Ids of payments of orders that ended and still hold or keep money, oldest first."""
    query = (select(Payment.id).join(Order, Order.id == Payment.order_id)
             .where(or_(Order.status.in_(ENDED_ORDER_STATES),
                        and_(Order.payment_method == PaymentMethod.CASH, Payment.status.in_(OPEN_STATUSES),
                             Order.status != OrderStatus.PENDING_PAYMENT)),
                    _money_kept_condition())
             .order_by(Payment.id).limit(limit))
    if market_day_id is not None:
        query = query.where(Order.market_day_id == market_day_id)
    return list(db.session.scalars(query))


def settle(payment_ids: list[int]) -> dict[str, int]:
    """Settle these payments one per commit (the order's lock, then the payment's); stop when
    Stripe is unreachable several calls in a row. Counts of each outcome, and `untried`."""
    counts = {outcome.value: 0 for outcome in Settled} | {"untried": 0}
    unreachable = 0
    for index, payment_id in enumerate(payment_ids):
        if unreachable >= UNREACHABLE_IN_A_ROW:
            counts["untried"] = len(payment_ids) - index
            break
        payment = db.session.get(Payment, payment_id)
        order = _locked_order(payment.order_id)
        payment = _locked_payment(payment_id)
        if order.status not in ENDED_ORDER_STATES and order.payment_method == PaymentMethod.CARD:
            outcome = Settled.NOTHING  # picked up again meanwhile? it is not ours to settle
        else:
            outcome = settle_payment(payment)
        db.session.commit()
        counts[outcome.value] += 1
        unreachable = unreachable + 1 if outcome == Settled.FAILED and not gateway.seems_available() else 0
    return counts


def reconcile(limit: int = 1000) -> dict[str, int]:
    """Repair what lost webhooks and failed calls left: ask Stripe about every open payment,
    settle the orders that ended with money kept, ask again for refunds whose answer was lost,
    and apply the webhook events that arrived before their intent was known."""
    counts = {"checked": 0, "changed": 0, "released": 0, "refunded": 0, "unreachable": 0, "events": 0}
    payments = db.session.scalars(
        select(Payment).where(Payment.status.in_(OPEN_STATUSES), Payment.provider_intent_id.is_not(None))
        .order_by(Payment.id).limit(limit)).all()
    in_a_row = 0
    for payment in payments:
        if in_a_row >= UNREACHABLE_IN_A_ROW:
            counts["unreachable"] += 1
            continue
        counts["checked"] += 1
        before = payment.status
        try:
            refresh_from_stripe(payment)
        except gateway.GatewayError as exc:
            log.warning("Reconcile: payment %s: %s", payment.id, exc.message)
            counts["unreachable"] += 1
            in_a_row += isinstance(exc, gateway.GatewayUnavailable)
            db.session.rollback()
            continue
        in_a_row = 0
        db.session.refresh(payment)
        counts["changed"] += payment.status != before
        counts["released"] += before == PaymentStatus.AUTHORIZED and payment.status == PaymentStatus.CANCELED
        db.session.commit()
    if in_a_row < UNREACHABLE_IN_A_ROW:
        settled = settle(payments_to_settle(limit=limit))
        counts["released"] += settled["released"]
        counts["refunded"] += settled["refunded"]
        counts["unreachable"] += settled["failed"] + settled["untried"]
        _retry_pending_refunds(limit)
    counts["events"] = _apply_waiting_events(limit)
    return counts


def _retry_pending_refunds(limit: int, now: datetime | None = None) -> None:
    """Refunds of orders still alive (an organizer's, an undo's) whose answer was lost."""
    now = now or utcnow()
    rows = db.session.execute(
        select(PaymentRefund.id, Payment.order_id).join(Payment, Payment.id == PaymentRefund.payment_id)
        .where(PaymentRefund.status == RefundStatus.PENDING,
               PaymentRefund.created_at <= now - PENDING_REFUND_RETRY_AFTER)
        .order_by(PaymentRefund.id).limit(limit)).all()
    for refund_id, order_id in rows:
        _locked_order(order_id)
        record = db.session.get(PaymentRefund, refund_id)
        _locked_payment(record.payment_id)
        db.session.refresh(record)
        if record.status == RefundStatus.PENDING:
            _send_refund(record)
        db.session.commit()


def _apply_waiting_events(limit: int, now: datetime | None = None) -> int:
    now = now or utcnow()
    applied = 0
    waiting = db.session.scalars(
        select(WebhookEvent).where(WebhookEvent.processed_at.is_(None),
                                   WebhookEvent.received_at >= now - timedelta(days=WAITING_EVENT_DAYS))
        .order_by(WebhookEvent.id).limit(limit)).all()
    for stored in waiting:
        try:
            if apply_event(json.loads(stored.payload)):
                stored.processed_at = utcnow()
                applied += 1
                db.session.commit()
            else:
                db.session.rollback()
        except Exception:
            db.session.rollback()
            log.exception("Reconcile: stored event %s could not be applied", stored.provider_event_id)
    return applied


# --- Holds that lapse before their day ------------------------------------------------------------

@dataclass
class HoldAtRisk:
    order: Order
    payment: Payment
    market_day: MarketDay

    @property
    def lapsed(self) -> bool:
        return self.payment.capture_before <= utcnow()


def holds_lapsing_before_their_day(now: datetime | None = None, limit: int = 1000) -> list[HoldAtRisk]:
    """Authorised card holds of orders still to be picked up whose `capture_before` comes before
    their market day closes (the hand-over could not charge them), soonest first."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Order, Payment, MarketDay).join(Payment, Payment.order_id == Order.id)
        .join(MarketDay, MarketDay.id == Order.market_day_id)
        .where(Order.status.in_(OPEN_ORDER_STATES), Order.payment_method == PaymentMethod.CARD,
               Payment.status == PaymentStatus.AUTHORIZED, Payment.capture_before.is_not(None),
               Payment.capture_before < MarketDay.closes_at, MarketDay.closes_at > now)
        .order_by(Payment.capture_before, Payment.id).limit(limit)).all()
    return [HoldAtRisk(order, payment, day) for order, payment, day in rows]


def check_card_holds(now: datetime | None = None) -> list[HoldAtRisk]:
    """The scheduled check: a hold past its `capture_before` is asked about at Stripe (a lapsed
    one turns its order into a cash order and tells the customer); the others that will lapse
    before their day are listed and logged, for the organizer to collect cash if needed."""
    now = now or utcnow()
    at_risk = holds_lapsing_before_their_day(now)
    for item in at_risk:
        if item.payment.capture_before <= now:
            try:
                refresh_from_stripe(item.payment)
                db.session.commit()
            except gateway.GatewayError as exc:
                db.session.rollback()
                log.warning("Card hold check: payment %s: %s", item.payment.id, exc.message)
    at_risk = holds_lapsing_before_their_day(now)
    for item in at_risk:
        business_event("card_hold_lapses_before_day", order_id=item.order.id, payment_id=item.payment.id,
                       market_day_id=item.market_day.id, capture_before=item.payment.capture_before.isoformat(),
                       day_closes_at=item.market_day.closes_at.isoformat())
    return at_risk
