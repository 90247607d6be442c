"""Card payments: authorise at checkout, capture the weighed amount at pickup, release
or refund otherwise; webhooks applied once; reconciliation after lost webhooks.

Our Payment row exists (and is committed by the caller) before Stripe is called, and
every Stripe call carries an idempotency key made from our ids, so a retry or a double
click does one thing at Stripe.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import User
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidState
from marketplace.core.extensions import db
from marketplace.markets.models import MarketDay
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from marketplace.orders.reliability import cash_refusal_reason
from marketplace.payments import gateway
from marketplace.payments.models import (
    PAYMENT_STATUS_RANK,
    Payment,
    PaymentRefund,
    PaymentStatus,
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


class PaymentError(DomainError):
    pass


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

    A declined card ends the order at once (stock and slot come back). The caller has
    committed the PaymentIntent id (start_intent) before this is called.
    """
    order = payment.order
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise InvalidState(str(_l("This order is not waiting for a payment.")))
    if not payment.provider_intent_id:
        raise InvalidState(str(_l("This payment has not been started.")))
    try:
        state = gateway.confirm_with_card_token(payment.provider_intent_id, token, email,
                                                idempotency_key=f"aimak-payment-{payment.id}-card-{token[-12:]}")
    except gateway.CardDeclined as exc:
        payment.failure_message = exc.message[:255]
        _advance(payment, PaymentStatus.FAILED)
        _end_unpaid_order(order)
        raise
    apply_intent_state(payment, state.status)
    return state


def refresh_from_stripe(payment: Payment) -> str:
    """Read the PaymentIntent back from Stripe and apply it (the browser's word is never enough)."""
    state = gateway.retrieve(payment.provider_intent_id)
    apply_intent_state(payment, state.status)
    return state.status


def apply_intent_state(payment: Payment, intent_status: str) -> None:
    """Move our payment (and its order) forward to what Stripe says; never backward."""
    target = INTENT_STATUS.get(intent_status)
    if target is None:
        return
    if intent_status == "requires_payment_method" and payment.status == PaymentStatus.REQUIRES_ACTION:
        target = PaymentStatus.FAILED  # 3-D Secure failed: the card was not authorised
    moved = _advance(payment, target)
    order = db.session.get(Order, payment.order_id)
    if target == PaymentStatus.AUTHORIZED and order.status == OrderStatus.PENDING_PAYMENT:
        _confirm_order(order, payment)
    elif target in (PaymentStatus.FAILED, PaymentStatus.CANCELED) and moved:
        _end_unpaid_order(order)
    elif target == PaymentStatus.CAPTURED and moved and payment.amount_captured_minor == 0:
        # Captured outside our hand-over (Stripe dashboard): record what was held.
        payment.amount_captured_minor = payment.amount_authorized_minor


def _advance(payment: Payment, target: PaymentStatus) -> bool:
    """A conditional move to a later status; False when the payment is already there or past it."""
    if PAYMENT_STATUS_RANK[target] <= PAYMENT_STATUS_RANK[payment.status]:
        return False
    earlier = [status for status, rank in PAYMENT_STATUS_RANK.items() if rank < PAYMENT_STATUS_RANK[target]]
    result = db.session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status.in_(earlier))
        .values(status=target, updated_at=utcnow()).execution_options(synchronize_session=False))
    db.session.refresh(payment)
    return result.rowcount == 1


def _confirm_order(order: Order, payment: Payment) -> None:
    try:
        orders.confirm_payment(order)
    except InvalidState:
        # The hold ran out before the authorisation arrived: let the card go.
        release_authorisation(order)


def _end_unpaid_order(order: Order) -> None:
    if order.status == OrderStatus.PENDING_PAYMENT:
        orders.end_unpaid(order)


def cash_instead_refusal(order: Order) -> str | None:
    """Why this card order cannot switch to cash at pickup, or None when it can."""
    if not order.market_day.market.accepts_cash:
        return str(_l("This market takes no cash at pickup."))
    return cash_refusal_reason(order.customer_id)


def switch_to_cash(order: Order, customer: User) -> Order:
    """A card order still waiting for its payment becomes a cash order (the card hold, if any, goes)."""
    reason = cash_instead_refusal(order)
    if reason:
        raise PaymentError(reason)
    release_authorisation(order)
    return orders.switch_to_cash(order, customer)


# --- At the pickup point (called by pickup, which stands above payments) ------------------

def card_hold_minor(payment: Payment | None) -> int | None:
    """What an authorised card payment holds, or None when nothing holds money for the order."""
    if payment is None or payment.status != PaymentStatus.AUTHORIZED:
        return None
    return payment.amount_authorized_minor


def capture_at_handover(payment: Payment | None, amount_minor: int) -> None:
    """Charge the card what the customer pays at hand-over, never more than it holds; nothing
    to charge (every line missing) lets the hold go. The caller has moved the order first, so
    two organizers pressing at once capture once."""
    if payment is None or payment.status != PaymentStatus.AUTHORIZED:
        raise PaymentError(str(_l("The card payment of this order is not authorised; take cash instead.")))
    amount = min(amount_minor, payment.amount_authorized_minor)
    if amount <= 0:
        _let_go(payment)
        return
    try:
        gateway.capture(payment.provider_intent_id, amount, idempotency_key=f"aimak-payment-{payment.id}-capture")
    except gateway.GatewayError as exc:
        raise PaymentError(str(_l("The card could not be charged right now (%(why)s). Try again in a "
                                  "minute, or take cash.", why=exc.message[:120]))) from exc
    db.session.execute(update(Payment).where(Payment.id == payment.id)
                       .values(amount_captured_minor=amount, updated_at=utcnow()))
    _advance(payment, PaymentStatus.CAPTURED)


def refund_undone_handover(order: Order, actor: User | None) -> None:
    """A card hand-over undone at the pickup point: give the whole capture back."""
    payment = current_payment(order)
    left = payment.amount_captured_minor - payment.amount_refunded_minor if payment is not None else 0
    if left > 0:
        _refund(actor, payment, left, str(_l("Hand-over undone at the pickup point.")))


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
    """Let the card hold go (cancellation, expiry, no-show). If Stripe is unreachable the
    order still moves on; `flask reconcile-payments` cancels the hold later."""
    if order.payment_method != PaymentMethod.CARD:
        return
    payment = current_payment(order)
    if payment is not None and payment.status in OPEN_STATUSES:
        _let_go(payment)


def _let_go(payment: Payment) -> None:
    if not payment.provider_intent_id:
        _advance(payment, PaymentStatus.CANCELED)
        return
    try:
        gateway.cancel(payment.provider_intent_id, idempotency_key=f"aimak-payment-{payment.id}-cancel")
    except gateway.GatewayError as exc:
        log.warning("Could not release the card hold of order %s now: %s", payment.order_id, exc.message)
        return
    _advance(payment, PaymentStatus.CANCELED)


# --- Refunds ------------------------------------------------------------------------------

def refund(actor: User, order: Order, amount_minor: int, reason: str, producer_id: int | None = None) -> PaymentRefund:
    """Give back part or all of a captured payment; never more than was captured."""
    payment = current_payment(order)
    if payment is None or payment.amount_captured_minor == 0:
        raise PaymentError(str(_l("Nothing was charged on this order's card, so there is nothing to refund.")))
    return _refund(actor, payment, amount_minor, reason, producer_id)


def _refund(actor: User | None, payment: Payment, amount_minor: int, reason: str,
            producer_id: int | None = None) -> PaymentRefund:
    if amount_minor <= 0:
        raise PaymentError(str(_l("Enter an amount greater than zero.")))
    claimed = db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id,
               Payment.amount_captured_minor - Payment.amount_refunded_minor >= amount_minor)
        .values(amount_refunded_minor=Payment.amount_refunded_minor + amount_minor, updated_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.refresh(payment)
    if claimed.rowcount != 1:
        raise PaymentError(str(_l("At most %(left)s can still be refunded.",
                                  left=payment.amount_captured_minor - payment.amount_refunded_minor)),
                           left=payment.amount_captured_minor - payment.amount_refunded_minor)
    record = PaymentRefund(payment_id=payment.id, producer_id=producer_id, amount_minor=amount_minor,
                           reason=reason[:255], created_by_id=actor.id if actor else None)
    db.session.add(record)
    db.session.flush()
    try:
        record.provider_refund_id = gateway.refund(payment.provider_intent_id, amount_minor,
                                                   idempotency_key=f"aimak-refund-{record.id}")
    except gateway.GatewayError as exc:
        raise PaymentError(str(_l("The refund could not be made right now (%(why)s). Nothing was changed.",
                                  why=exc.message[:120]))) from exc
    full = payment.amount_refunded_minor >= payment.amount_captured_minor
    _advance(payment, PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED)
    return record


# --- Webhooks -------------------------------------------------------------------------------

def receive_event(event: dict) -> bool:
    """Store the event by its id and apply it once; False when it was already applied."""
    stored = db.session.scalar(select(WebhookEvent).where(WebhookEvent.provider_event_id == event["id"]))
    if stored is None:
        stored = WebhookEvent(provider_event_id=str(event["id"])[:255], type=str(event["type"])[:100],
                              payload=json.dumps(event)[:1_000_000])
        try:
            with db.session.begin_nested():
                db.session.add(stored)
        except IntegrityError:
            return False  # a concurrent delivery of the same event stored it first
    elif stored.processed_at is not None:
        return False
    apply_event(event)
    stored.processed_at = utcnow()
    db.session.flush()
    return True


def apply_event(event: dict) -> None:
    obj = (event.get("data") or {}).get("object") or {}
    event_type = event.get("type", "")
    if event_type.startswith("payment_intent."):
        payment = _payment_by_intent(obj.get("id"))
        if payment is None:
            return
        status = obj.get("status")
        if event_type == "payment_intent.payment_failed":
            status = "requires_payment_method"
            if payment.status in (PaymentStatus.CREATED, PaymentStatus.REQUIRES_ACTION):
                payment.failure_message = ((obj.get("last_payment_error") or {}).get("message") or "")[:255]
                _advance(payment, PaymentStatus.FAILED)
                _end_unpaid_order(db.session.get(Order, payment.order_id))
                return
        apply_intent_state(payment, status or "")
    elif event_type == "charge.refunded":
        _apply_charge_refunded(obj)


def _apply_charge_refunded(charge: dict) -> None:
    payment = _payment_by_intent(charge.get("payment_intent"))
    if payment is None or payment.amount_captured_minor == 0:
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


# --- Reconciliation ----------------------------------------------------------------------------

def reconcile(limit: int = 1000) -> dict[str, int]:
    """Ask Stripe about every open payment and repair what lost webhooks left behind."""
    counts = {"checked": 0, "changed": 0, "released": 0, "unreachable": 0}
    payments = db.session.scalars(
        select(Payment).where(Payment.status.in_(OPEN_STATUSES), Payment.provider_intent_id.is_not(None))
        .order_by(Payment.id).limit(limit)).all()
    for payment in payments:
        counts["checked"] += 1
        before = payment.status
        try:
            refresh_from_stripe(payment)
            order = db.session.get(Order, payment.order_id)
            if order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.NO_SHOW):
                release_authorisation(order)
                counts["released"] += payment.status == PaymentStatus.CANCELED
        except gateway.GatewayError as exc:
            log.warning("Reconcile: payment %s: %s", payment.id, exc.message)
            counts["unreachable"] += 1
            db.session.rollback()
            continue
        counts["changed"] += payment.status != before
        db.session.commit()
    return counts
