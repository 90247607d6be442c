"""The pickup point on market day, for the market's organizers (and admins): the day at a
glance, finding an order by code or QR, hand-over and its undo, missing lines, no-shows,
packing labels. Anyone else gets 404, whatever the id or code in the URL."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.validators import Length, Optional

from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.extensions import db
from marketplace.core.money import (
    InvalidAmount,
    format_price_input,
    money,
    money_whole,
    parse_price_minor,
)
from marketplace.markets.models import MarketDay
from marketplace.markets.services import can_manage
from marketplace.orders import services as orders
from marketplace.orders.forms import ActionForm, strip
from marketplace.orders.models import Order, OrderLine, OrderStatus, PaymentMethod
from marketplace.orders.queries import market_day_for_basket
from marketplace.payments import gateway
from marketplace.payments import services as payments
from marketplace.pickup import services as pickup
from marketplace.web.args import id_arg
from marketplace.web.transaction import transaction

bp = Blueprint("pickup", __name__, url_prefix="/organize/days/<int:market_day_id>/pickup")
#: Ids in the query string fit the database's integer (32 bits on PostgreSQL); larger is a 404.


@bp.context_processor
def _states():
    return {"OrderStatus": OrderStatus}


class FindForm(FlaskForm):
    """A GET form: finding changes nothing, so it needs no CSRF token."""

    class Meta:
        csrf = False

    code = StringField(_l("Pickup code"), filters=[strip], validators=[Optional(), Length(max=40)])


class HandOverForm(FlaskForm):
    cash_received = StringField(_l("Cash received"), filters=[strip], validators=[Optional(), Length(max=20)])
    #: What the organizer confirmed after being told why (hand over early, unweighed lines).
    confirm = SelectMultipleField(choices=[(pickup.EARLY, pickup.EARLY), (pickup.UNWEIGHED, pickup.UNWEIGHED)],
                                  validators=[Optional()], validate_choice=True)


def _day(market_day_id: int) -> MarketDay:
    market_day = market_day_for_basket(market_day_id)
    if market_day is None or not can_manage(current_user, market_day.market):
        abort(404)
    return market_day


def _order(market_day_id: int, order_id: int) -> tuple[MarketDay, Order]:
    """The day and its order; `order_of_day` is the access check (anyone else gets 404 too)."""
    market_day = market_day_for_basket(market_day_id) or abort(404)
    try:
        found = pickup.order_of_day(market_day, current_user, order_id)
    except NotAllowed:
        abort(404)
    return market_day, found or abort(404)


def _slot_arg() -> int | None:
    value = request.args.get("slot", "")
    if not value:
        return None
    return id_arg(value) or abort(404)


def _summary(market_day: MarketDay):
    slot_id = _slot_arg()
    summary = pickup.day_summary(market_day, current_user, slot_id)
    if slot_id is not None and summary.current is None:
        abort(404)
    return summary


@bp.route("")
@login_required
def day(market_day_id: int):
    market_day = _day(market_day_id)
    return render_template("pickup/day.html", market_day=market_day, summary=_summary(market_day),
                           find_form=FindForm(formdata=None), now=utcnow(), over_at=pickup.day_over_at(market_day))


@bp.route("/live")
@login_required
def live(market_day_id: int):
    """The part of the day page that refreshes itself (fetched by static/js/pickup.js)."""
    market_day = _day(market_day_id)
    return render_template("pickup/_live.html", market_day=market_day, summary=_summary(market_day), now=utcnow())


@bp.route("/find")
@login_required
def find(market_day_id: int):
    market_day = _day(market_day_id)
    form = FindForm(request.args)
    if form.validate() and form.code.data:
        order = pickup.find_order(market_day, current_user, form.code.data)
        if order is not None:
            return redirect(url_for("pickup.order", market_day_id=market_day.id, order_id=order.id))
        form.code.errors.append(_("No order of this market day has the code %(code)s. Check it with the customer.",
                                  code=pickup.normalise_code(form.code.data)))
    elif not form.code.errors:
        form.code.errors.append(_("Type the pickup code the customer shows you."))
    return render_template("pickup/day.html", market_day=market_day, summary=_summary(market_day),
                           find_form=form, now=utcnow(), over_at=pickup.day_over_at(market_day))


@bp.route("/orders/<int:order_id>")
@login_required
def order(market_day_id: int, order_id: int):
    market_day, found = _order(market_day_id, order_id)
    due = pickup.amount_due(found)
    form = HandOverForm(formdata=None)
    form.cash_received.data = format_price_input(due.cash_minor, found.currency)
    return _render_order(market_day, found, form, due)


def _render_order(market_day, found, form, due, status=200, checks=None):
    now = utcnow()
    return render_template("pickup/order.html", market_day=market_day, order=found, due=due,
                           groups=pickup.lines_by_producer(found), form=form, action_form=ActionForm(),
                           checks=checks if checks is not None else pickup.handover_checks(found, now),
                           asked=checks is not None,
                           can_undo=orders.can_undo(found, now), undo_deadline=orders.undo_deadline(found),
                           no_show_from=pickup.no_show_from(found), now=now,
                           undo_minutes=current_app.config["HANDOVER_UNDO_MINUTES"]), status


def _back_to(market_day_id: int, order_id: int):
    return redirect(url_for("pickup.order", market_day_id=market_day_id, order_id=order_id))


def _refused(market_day_id: int, order_id: int, exc: DomainError):
    if isinstance(exc, NotAllowed):
        abort(404)
    flash(exc.message, "error")
    return _back_to(market_day_id, order_id)


def _act(market_day_id: int, order_id: int, action, success_message):
    """Run one pickup action in a transaction; another market's order is a 404, a refusal a message."""
    with transaction(flash_errors=False) as tx:
        action()
    if isinstance(tx.error, NotAllowed):
        abort(404)
    flash(tx.error.message if tx.error else success_message(), "error" if tx.error else "success")
    return _back_to(market_day_id, order_id)


@bp.route("/orders/<int:order_id>/hand-over", methods=["POST"])
@login_required
def hand_over(market_day_id: int, order_id: int):
    market_day, found = _order(market_day_id, order_id)
    form = HandOverForm()
    if not form.validate_on_submit():
        if "csrf_token" in form and form.csrf_token.errors:
            abort(400)
        return _render_order(market_day, found, form, pickup.amount_due(found), 400)
    cash = None
    if found.payment_method == PaymentMethod.CASH and form.cash_received.data:
        try:
            cash = parse_price_minor(form.cash_received.data, found.currency)
        except InvalidAmount as exc:
            form.cash_received.errors = [str(exc)]
            return _render_order(market_day, found, form, pickup.amount_due(found), 400)
    with transaction(flash_errors=False) as tx:
        handed = pickup.hand_over(found, current_user, cash_received_minor=cash,
                                  confirm=set(form.confirm.data or ()))
    if isinstance(tx.error, pickup.NeedsConfirmation):
        # Refused until the organizer says yes to each reason: the page asks, and says why.
        found = pickup.order_of_day(market_day, current_user, order_id)
        return _render_order(market_day, found, form, pickup.amount_due(found), 409, checks=tx.error.checks)
    if isinstance(tx.error, payments.HoldGone):
        return _hold_gone(market_day_id, order_id, tx.error)
    if tx.error:
        return _refused(market_day_id, order_id, tx.error)
    flash(_("Order %(code)s is handed over.", code=found.pickup_code), "success")
    if found.payment_method == PaymentMethod.CARD and found.cash_received_minor:
        flash(_("Collect %(amount)s in cash: the card does not cover the whole total.",
                amount=money_whole(found.cash_received_minor, found.currency)), "info")
    _say_refund_pending(found, handed.refund_pending_minor)
    return _back_to(market_day_id, order_id)


def _say_refund_pending(order: Order, pending: int) -> None:
    """A card refund whose answer was lost is not called done: it is asked again until Stripe answers."""
    if pending:
        flash(_("The card service has not confirmed the refund of %(amount)s yet: it is asked again "
                "automatically, and the refund will show when the service answers. Do not refund it a "
                "second time.", amount=money(pending, order.currency)), "info")


def _hold_gone(market_day_id: int, order_id: int, exc: DomainError):
    """Stripe refused the capture: ask it what became of the hold; a lapsed one makes this a cash order."""
    found = db.session.get(Order, order_id)
    payment = payments.current_payment(found)
    try:
        with transaction(flash_errors=False):
            payments.refresh_from_stripe(payment)
    except gateway.GatewayError:
        pass
    found = db.session.get(Order, order_id)
    if found.payment_method == PaymentMethod.CASH:
        flash(_("The card hold of this order has lapsed. Collect %(amount)s in cash; the customer is told.",
                amount=money_whole(found.total_minor, found.currency)), "error")
    else:
        flash(exc.message, "error")
    return _back_to(market_day_id, order_id)


@bp.route("/orders/<int:order_id>/cash", methods=["POST"])
@login_required
def take_cash(market_day_id: int, order_id: int):
    """The card cannot be charged here and now: take cash instead (the hold is let go)."""
    _market_day, found = _order(market_day_id, order_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(market_day_id, order_id, lambda: pickup.take_cash_instead(found, current_user),
                lambda: _("Order %(code)s is now paid in cash: collect %(amount)s. The customer is told.",
                          code=found.pickup_code, amount=money_whole(found.total_minor, found.currency)))


@bp.route("/orders/<int:order_id>/undo", methods=["POST"])
@login_required
def undo(market_day_id: int, order_id: int):
    _market_day, found = _order(market_day_id, order_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    was_card = found.payment_method == PaymentMethod.CARD
    return _act(market_day_id, order_id, lambda: pickup.undo_hand_over(found, current_user),
                lambda: _undone_message(found, was_card))


def _undone_message(order: Order, was_card: bool) -> str:
    if not was_card:
        return _("Hand-over undone; the order is waiting to be handed over again.")
    pending = pickup.refund_pending_minor(order)
    if pending:
        return _("Hand-over undone. The card service has not confirmed the refund of %(amount)s yet: it is "
                 "asked again automatically, and the refund will show when the service answers. Take the "
                 "payment in cash at the hand-over.", amount=money(pending, order.currency))
    return _("Hand-over undone. The card payment was refunded: take the payment in cash at the hand-over.")


@bp.route("/orders/<int:order_id>/no-show", methods=["POST"])
@login_required
def no_show(market_day_id: int, order_id: int):
    _market_day, found = _order(market_day_id, order_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(market_day_id, order_id, lambda: pickup.mark_no_show(found, current_user),
                lambda: _("Order %(code)s is marked as not picked up; the customer is told.", code=found.pickup_code))


@bp.route("/lines/<int:line_id>/missing", methods=["POST"])
@login_required
def line_missing(market_day_id: int, line_id: int):
    market_day = _day(market_day_id)
    line = db.session.get(OrderLine, line_id)
    if line is None or line.order.market_day_id != market_day.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(market_day_id, line.order_id, lambda: pickup.mark_line_missing(line, current_user),
                lambda: _("%(name)s is marked as not brought; the customer does not pay for it.",
                          name=line.product_name))


@bp.route("/close", methods=["POST"])
@login_required
def close(market_day_id: int):
    market_day = _day(market_day_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with transaction(flash_errors=False) as tx:
        result = pickup.close_market_day(market_day, current_user)
    if isinstance(tx.error, NotAllowed):
        abort(404)
    if tx.error:
        flash(tx.error.message, "error")
    else:
        flash(_("The market day is closed; %(n)s order(s) not picked up, each customer is told.",
                n=result.no_shows), "success")
    return redirect(url_for("pickup.day", market_day_id=market_day.id))


@bp.route("/labels")
@login_required
def labels(market_day_id: int):
    market_day = _day(market_day_id)
    order_id = request.args.get("order", "")
    if order_id and id_arg(order_id) is None:
        abort(404)
    found = pickup.packing_labels(market_day, current_user, order_id=id_arg(order_id) if order_id else None,
                                  slot_id=_slot_arg())
    if order_id and not found:
        abort(404)
    return render_template("pickup/labels.html", market_day=market_day, labels=found)
