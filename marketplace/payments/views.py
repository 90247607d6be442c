"""Card entry, the Stripe webhook, refunds and settlement pages."""
from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.accounts.decorators import organizer_required
from marketplace.core.events import security_event
from marketplace.core.extensions import csrf, db
from marketplace.core.money import InvalidAmount, money, parse_price_minor
from marketplace.markets import queries as market_queries
from marketplace.markets.models import Market
from marketplace.markets.services import can_manage, local_today
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from marketplace.payments import gateway, services, settlement
from marketplace.payments.forms import CardTokenForm, CheckForm, PeriodForm, RefundForm
from marketplace.producers.access import producer_required
from marketplace.web.csv import csv_response
from marketplace.web.transaction import transaction

bp = Blueprint("payments", __name__)
log = logging.getLogger(__name__)


def _own_card_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None or order.customer_id != current_user.id or order.payment_method != PaymentMethod.CARD:
        abort(404)
    return order


@bp.route("/orders/<int:order_id>/pay", methods=["GET", "POST"])
@login_required
def pay(order_id: int):
    order = _own_card_order(order_id)
    payment = services.current_payment(order)
    if order.status != OrderStatus.PENDING_PAYMENT or payment is None:
        return redirect(url_for("orders.order_detail", order_id=order.id))
    if request.method == "GET" and not gateway.seems_available():
        # Stripe just failed to answer: no card form whose button would only wait for the same
        # timeout; the customer is offered cash (where the market takes it) or to try later.
        return unavailable(order)
    form = CardTokenForm()
    if form.validate_on_submit():
        try:
            state = _send_card(payment, form.token.data)
        except gateway.CardDeclined as exc:
            # Stripe's sentence is English and names codes: it goes to the log, ours to the customer.
            log.info("Card of order %s declined: %s", order.id, exc.message)
            flash(_("Your card was declined. The reservation is released; you can order again."), "error")
            return redirect(url_for("orders.order_detail", order_id=order.id))
        except gateway.GatewayUnavailable:
            return unavailable(order)
        except gateway.GatewayError as exc:
            log.warning("Card of order %s refused by Stripe: %s", order.id, exc.message)
            flash(_("The card service refused this payment. Try another card, or pay in cash at pickup."), "error")
            return redirect(url_for("payments.pay", order_id=order.id))
        if state is not None and state.status == "requires_action":
            return render_template("payments/authenticate.html", order=order, payment=payment,
                                   client_secret=state.client_secret, form=CheckForm())
        return redirect(url_for("orders.order_detail", order_id=order.id))
    cash_reason = services.cash_instead_refusal(order)
    if request.method == "POST" and not form.token.data and "csrf_token" not in form.errors:
        # The form came without a card: Stripe.js never loaded (the card service out of reach
        # from the phone), so the page says so instead of coming back unchanged.
        flash(_("The card could not be read: the card service may be out of reach. Try again in a few minutes.")
              if cash_reason else
              _("The card could not be read: the card service may be out of reach. "
                "Try again in a few minutes, or pay in cash at pickup."), "error")
    return render_template("payments/pay.html", order=order, payment=payment, form=form,
                           cash_form=CheckForm(), cash_reason=cash_reason)


def unavailable(order: Order | None = None):
    """Stripe cannot be reached: a page that says so (503), offering cash where the market takes it."""
    db.session.rollback()
    waiting = order is not None and order.status == OrderStatus.PENDING_PAYMENT
    cash_reason = services.cash_instead_refusal(order) if waiting else None
    response = render_template("payments/unavailable.html", order=order, waiting=waiting,
                               cash_reason=cash_reason, cash_form=CheckForm())
    return response, 503, {"Retry-After": "60"}


def gateway_error(exc: gateway.GatewayError):
    """A Stripe error no view handled: never a 500 (registered for the whole app)."""
    log.warning("Unhandled Stripe error on %s %s: %s (%s)", request.method, request.path,
                type(exc).__name__, exc.message)
    return unavailable()


def _send_card(payment, token: str) -> gateway.IntentState | None:
    """Send the card to Stripe in two commits: the intent id is ours before the card goes out.

    A decline is Stripe's answer, not our error: the failed payment and the released order are
    committed, then CardDeclined is raised again. None when we refused; the refusal is shown
    unless the order was meanwhile confirmed (a double submit: the other request won).
    """
    with transaction():
        services.start_intent(payment)
    declined = None
    with transaction(flash_errors=False) as tx:
        try:
            state = services.submit_card(payment, token, current_user.email)
        except gateway.CardDeclined as exc:
            declined = exc
    if declined is not None:
        raise declined
    if not tx.ok and db.session.get(Order, payment.order_id).status == OrderStatus.PENDING_PAYMENT:
        flash(tx.error.message, "error")
    return state if tx.ok else None


@bp.route("/orders/<int:order_id>/pay/cash", methods=["POST"])
@login_required
def pay_cash_instead(order_id: int):
    """When the card cannot be used (Stripe down, no card at hand): cash at pickup instead."""
    order = _own_card_order(order_id)
    if CheckForm().validate_on_submit():
        with transaction() as tx:
            services.switch_to_cash(order, current_user)
        if not tx.ok:
            return redirect(url_for("payments.pay", order_id=order.id))
        flash(_("You will pay in cash at pickup."), "success")
    return redirect(url_for("orders.order_detail", order_id=order.id))


@bp.route("/orders/<int:order_id>/pay/check", methods=["POST"])
@login_required
def check(order_id: int):
    """After 3-D Secure in the browser: we ask Stripe; the browser's word is not enough."""
    order = _own_card_order(order_id)
    payment = services.current_payment(order)
    if CheckForm().validate_on_submit() and payment is not None and payment.provider_intent_id:
        try:
            with transaction():
                services.refresh_from_stripe(payment)
        except gateway.GatewayError:  # rolled back by transaction()
            return unavailable(db.session.get(Order, order_id))
        if db.session.get(Order, order_id).status == OrderStatus.EXPIRED:
            # The bank's check failed (or was abandoned): the order ended; say why, not just "expired".
            flash(_("Your bank did not confirm the payment. The reservation is released; you can order again."),
                  "error")
    return redirect(url_for("orders.order_detail", order_id=order.id))


@bp.route("/payments/webhook", methods=["POST"])
@csrf.exempt
def webhook():
    try:
        event = gateway.verify_webhook(request.get_data(cache=False), request.headers.get("Stripe-Signature", ""))
    except ValueError as exc:
        security_event("stripe_webhook_refused", outcome="refused", reason=str(exc))
        return Response("bad signature", status=400, mimetype="text/plain")
    # Not transaction(): Stripe, not a person, reads the answer, and every failure (a refusal
    # included) must be a 500 so that Stripe sends the event again.
    try:
        outcome = services.receive_event(event)
        db.session.commit()
    except Exception:  # only a failure to store the event is worth a retry from Stripe
        log.exception("Webhook %s could not be applied", event.get("id"))
        db.session.rollback()
        return Response("error", status=500, mimetype="text/plain")
    if outcome == services.EventOutcome.WAITING:
        # Kept, not marked processed: Stripe sends it again, and reconciliation applies it
        # as soon as the PaymentIntent is ours.
        return Response("unknown payment intent; kept, send again later", status=409, mimetype="text/plain")
    return Response("ok", mimetype="text/plain")


# --- Refunds (organizers of the order's market) ----------------------------------------

@bp.route("/organize/orders/<int:order_id>/refund", methods=["GET", "POST"])
@organizer_required
def refund(order_id: int):
    order = db.session.get(Order, order_id)
    if order is None or not can_manage(current_user, order.market_day.market):
        abort(404)
    payment = services.current_payment(order)
    form = RefundForm()
    producers = {line.producer_id: line.producer.name for line in order.lines}
    form.producer_id.choices = [(0, _("The whole order"))] + sorted(producers.items(), key=lambda p: p[1])
    if request.method == "GET":
        form.key.data = services.new_refund_key()  # one per form shown: its double click refunds once
    releasing = payment is not None and payment.amount_captured_minor == 0
    if form.validate_on_submit():
        amount = None
        if releasing:
            amount = 0  # nothing charged: the hold is released, whatever was typed
        else:
            try:
                amount = parse_price_minor(form.amount.data, order.currency)
            except InvalidAmount as exc:
                form.amount.errors.append(str(exc))
        if amount is not None:
            with transaction(flash_errors=False) as tx:
                result = services.refund(current_user, order, amount, form.reason.data,
                                         producer_id=form.producer_id.data or None, key=form.key.data)
            if tx.ok:
                _say_refunded(result)
                return redirect(url_for("payments.refund", order_id=order.id))
            if releasing:
                flash(tx.error.message, "error")
            else:
                form.amount.errors.append(tx.error.message)
    return render_template("payments/refund.html", order=order, payment=payment, form=form, releasing=releasing,
                           pending=services.pending_refund_minor(payment))


def _say_refunded(result: services.RefundResult) -> None:
    amount = money(result.amount_minor, result.currency)
    if result.released:
        flash(_("Nothing had been charged: the hold of %(amount)s on the card is released.", amount=amount),
              "success")
    elif result.pending:
        flash(_("The card service did not answer. The refund of %(amount)s is recorded and will be asked for "
                "again automatically: do not refund it a second time.", amount=amount), "info")
    else:
        flash(_("%(amount)s is refunded to the customer's card.", amount=amount), "success")


# --- Settlement ----------------------------------------------------------------------------

@bp.route("/organize/markets/<int:market_id>/settlement")
@organizer_required
def market_settlement(market_id: int):
    market = db.session.get(Market, market_id)
    if market is None or not can_manage(current_user, market):
        abort(404)
    form = PeriodForm(request.args)
    latest = market_queries.latest_held_day(market.id, local_today(market))
    start, end = settlement.period(form.start.data if form.validate() else None,
                                   form.end.data if form.validate() else None,
                                   latest=latest.date if latest else None)
    report = settlement.market_report(market, start, end)
    if request.args.get("format") == "csv":
        return csv_response(settlement.report_csv(report), f"settlement-{market.slug}-{start}-{end}.csv")
    return render_template("payments/settlement.html", market=market, report=report, form=form)


@bp.route("/shop/settlement")
@producer_required
def producer_settlement(producer):
    form = PeriodForm(request.args)
    start, end = settlement.period(form.start.data if form.validate() else None,
                                   form.end.data if form.validate() else None,
                                   latest=settlement.latest_sale_day(producer.id))
    rows = settlement.producer_report(producer, start, end)
    if request.args.get("format") == "csv":
        return csv_response(settlement.producer_csv(rows), f"settlement-{producer.slug}-{start}-{end}.csv")
    return render_template("payments/producer_settlement.html", producer=producer, rows=rows, form=form,
                           start=start, end=end)


@bp.app_context_processor
def _stripe_settings():
    return {"stripe_js_url": current_app.config.get("STRIPE_JS_URL", ""),
            "stripe_publishable_key": current_app.config.get("STRIPE_PUBLISHABLE_KEY", "")}
