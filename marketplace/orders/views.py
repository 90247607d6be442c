"""Basket, checkout, the customer's orders, and the producer's pick lists."""
from __future__ import annotations

import uuid

import segno
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
from flask_login import current_user, login_required
from markupsafe import Markup

from marketplace.core.db import utcnow
from marketplace.core.errors import NotAllowed
from marketplace.core.extensions import db
from marketplace.core.locale import format_day, format_local_time
from marketplace.core.money import InvalidAmount
from marketplace.core.quantities import parse_quantity_milli, quantity_number
from marketplace.orders import basket, queries, services
from marketplace.orders.errors import OutOfStock, SlotUnavailable
from marketplace.orders.forms import (
    ActionForm,
    AddToBasketForm,
    CancelForm,
    ChangeDayForm,
    CheckoutForm,
    QuantityForm,
    WeightForm,
)
from marketplace.orders.models import Order, OrderLine, OrderStatus, PaymentMethod
from marketplace.producers.access import producer_required
from marketplace.web.args import page_arg
from marketplace.web.csv import csv_response, csv_text
from marketplace.web.headers import is_safe_next_url
from marketplace.web.transaction import transaction

bp = Blueprint("orders", __name__)

#: Where a card order goes to be paid, once the payments feature registers it.
CARD_PAYMENT_ENDPOINT = "payments.pay"


# --- Basket ----------------------------------------------------------------------------

@bp.route("/basket/add", methods=["POST"])
def basket_add():
    form = AddToBasketForm()
    if not form.validate_on_submit():
        if form.quantity.errors and not (form.product_id.errors or form.market_day_id.errors):
            flash(_("Enter how much you want."), "error")
            return _back(form.next.data)
        abort(400)
    market_day = queries.market_day_for_basket(form.market_day_id.data) or abort(404)
    change = services.basket_add(*basket.read(), market_day, form.product_id.data, form.quantity.data)
    _save(change, success=_("%(name)s is in your basket.", name=change.added) if change.added else None)
    return _back(form.next.data)


def _save(change: services.BasketChange, success: str | None = None) -> None:
    """Keep the changed basket in the session and tell the customer what happened."""
    basket.write(change.day_id, change.items)
    for notice in change.notices:
        flash(notice, "warning")
    if change.error:
        flash(change.error, "error")
    elif success:
        flash(success, "success")


def _back(target: str | None):
    return redirect(target if is_safe_next_url(target) else url_for("orders.basket"))


@bp.route("/basket", endpoint="basket")
def basket_page():
    day_id, items = basket.read()
    market_day = queries.market_day_for_basket(day_id)
    priced = queries.price_basket(market_day, items)
    open_days = queries.open_days_of_market(market_day.market_id) if market_day else []
    return render_template("orders/basket.html", basket=priced, open_days=open_days,
                           ordering_open=market_day is not None and queries.is_ordering_open(market_day, utcnow()),
                           quantity_form=QuantityForm(), day_form=ChangeDayForm())


@bp.route("/basket/items/<int:product_id>", methods=["POST"])
def basket_update(product_id: int):
    day_id, items = basket.read()
    form = QuantityForm()
    if product_id not in items:
        abort(404)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(_("Enter how much you want."), "error")
        return redirect(url_for("orders.basket"))
    _save(services.basket_set_quantity(day_id, items, product_id, form.quantity.data))
    return redirect(url_for("orders.basket"))


@bp.route("/basket/items/<int:product_id>/remove", methods=["POST"])
def basket_remove(product_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    day_id, items = basket.read()
    items.pop(product_id, None)
    basket.write(day_id, items)
    return redirect(url_for("orders.basket"))


@bp.route("/basket/day", methods=["POST"])
def basket_change_day():
    form = ChangeDayForm()
    if not form.validate_on_submit():
        abort(400)
    market_day = queries.market_day_for_basket(form.market_day_id.data) or abort(404)
    if not queries.is_ordering_open(market_day, utcnow()):
        flash(queries.closed_message(market_day), "error")
        return redirect(url_for("orders.basket"))
    _save(services.basket_move_to_day(basket.read()[1], market_day))
    flash(_("Your basket is now for %(day)s.", day=format_day(market_day.date)), "info")
    return redirect(url_for("orders.basket"))


# --- Checkout --------------------------------------------------------------------------

@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    day_id, items = basket.read()
    market_day = queries.market_day_for_basket(day_id)
    form = CheckoutForm()
    placed = services.order_by_key_for(form.idempotency_key.data, current_user) if request.method == "POST" else None
    if placed is not None:
        # The same form sent again (double click, back button): show the order it placed.
        return redirect(url_for("orders.order_detail", order_id=placed.id))
    if market_day is None or not items:
        flash(_("Your basket is empty."), "info")
        return redirect(url_for("orders.basket"))
    slots = queries.slots_with_places(market_day)
    methods = services.available_payment_methods(market_day, current_user)
    form.pickup_slot.choices = [(slot.id, slot.id) for slot in slots]
    form.payment_method.choices = [(m.method.value, m.label) for m in methods if m.offered]
    if request.method == "GET":
        form.idempotency_key.data = uuid.uuid4().hex
        form.phone.data = current_user.phone or ""
        if len(form.payment_method.choices) == 1:
            form.payment_method.data = form.payment_method.choices[0][0]
    status = 200
    if form.validate_on_submit():
        with transaction(flash_errors=False) as tx:
            order = services.place_order(
                current_user, market_day.id, items, slot_id=form.pickup_slot.data,
                payment_method=PaymentMethod(form.payment_method.data), phone=form.phone.data,
                idempotency_key=form.idempotency_key.data)
        if tx.ok:
            basket.clear()
            if order.status == OrderStatus.PENDING_PAYMENT:
                return redirect(url_for(CARD_PAYMENT_ENDPOINT, order_id=order.id))
            flash(_("Thank you! Your order is placed."), "success")
            return redirect(url_for("orders.order_detail", order_id=order.id))
        slot_full = isinstance(tx.error, SlotUnavailable)
        (form.pickup_slot.errors if slot_full else form.form_errors).append(tx.error.message)
        status = 409 if slot_full or isinstance(tx.error, OutOfStock) else 400
        # Show the page again with fresh numbers (what is left, places left).
        slots = queries.slots_with_places(market_day)
    elif request.method == "POST":
        status = 400
    # Priced only to be shown: a checkout that succeeds is priced once, by place_order.
    priced = queries.price_basket(market_day, items)
    return render_template("orders/checkout.html", form=form, basket=priced, slots=slots, methods=methods,
                           market_day=market_day,
                           ordering_open=queries.is_ordering_open(market_day, utcnow())), status


# --- The customer's orders -------------------------------------------------------------

@bp.route("/orders")
@login_required
def my_orders():
    page = queries.orders_of_customer(current_user.id, page_arg(), current_app.config["PAGE_SIZE"])
    return render_template("orders/my_orders.html", page=page, now=utcnow())


@bp.route("/orders/<int:order_id>")
@login_required
def order_detail(order_id: int):
    order = _own_order(order_id)
    qr = Markup(segno.make(order.pickup_code, micro=False).svg_inline(
        scale=6, title=_("QR code of pickup code %(code)s", code=order.pickup_code)))
    now = utcnow()
    return render_template("orders/order_detail.html", order=order, qr=qr, now=now,
                           hold_passed=order.status == OrderStatus.PENDING_PAYMENT and order.hold_until is not None
                           and order.hold_until <= now,
                           can_cancel=order.status in queries.OPEN_STATES and now < order.market_day.cutoff_at,
                           cancel_form=ActionForm(),
                           pay_endpoint=CARD_PAYMENT_ENDPOINT)


@bp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@login_required
def cancel_order(order_id: int):
    order = _own_order(order_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with transaction() as tx:
        services.cancel_by_customer(order, current_user)
    if tx.ok:
        flash(_("Your order is cancelled.") if order.status == OrderStatus.CANCELLED
              else _("The time to pay for this order had passed; it has expired."), "info")
    return redirect(url_for("orders.order_detail", order_id=order_id))


def _own_order(order_id: int) -> Order:
    order = queries.order_for_customer(order_id, current_user.id)
    if order is None:
        abort(404)
    return order


# --- Producers: pick lists -------------------------------------------------------------

@bp.route("/shop/orders")
@producer_required
def producer_days(producer):
    return render_template("orders/producer_days.html", producer=producer,
                           days=queries.producer_market_days(producer.id))


@bp.route("/shop/orders/days/<int:market_day_id>")
@producer_required
def pick_list(producer, market_day_id: int):
    market_day = queries.market_day_for_basket(market_day_id) or abort(404)
    return render_template("orders/pick_list.html", producer=producer,
                           pick=queries.pick_list(producer.id, market_day), cancel_form=CancelForm(),
                           weight_form=WeightForm(), action_form=ActionForm())


@bp.route("/shop/orders/days/<int:market_day_id>/pick-list.csv")
@producer_required
def pick_list_csv(producer, market_day_id: int):
    market_day = queries.market_day_for_basket(market_day_id) or abort(404)
    pick = queries.pick_list(producer.id, market_day)
    tz = market_day.market.timezone
    header = [_("Pickup code"), _("Pickup time"), _("Customer"), _("Product"), _("Ordered"), _("Weighed"),
              _("Unit"), _("Line status"), _("Order status")]
    rows = ((order.pickup_code, format_local_time(order.pickup_slot.starts_at, tz), order.customer.first_name,
             line.product_name, quantity_number(line.quantity_milli), quantity_number(line.actual_quantity_milli),
             line.unit, line.status.value, order.status.value)
            for order, lines in pick.orders for line in lines)
    return csv_response(csv_text(header, rows), f"pick-list-{market_day.date.isoformat()}.csv")


def _producer_order(producer, order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None or not any(line.producer_id == producer.id for line in order.lines):
        abort(404)
    return order


def _producer_line(producer, line_id: int) -> OrderLine:
    line = db.session.get(OrderLine, line_id)
    if line is None or line.producer_id != producer.id:
        abort(404)
    return line


def _back_to_pick_list(order: Order, tx: transaction, done: str):
    """The pick list at the order, with what happened; an order or line not the producer's is a 404."""
    if isinstance(tx.error, NotAllowed):
        abort(404)
    flash(tx.error.message if tx.error else done, "error" if tx.error else "success")
    return redirect(url_for("orders.pick_list", market_day_id=order.market_day_id) + f"#order-{order.id}")


@bp.route("/shop/orders/<int:order_id>/packed", methods=["POST"])
@producer_required
def mark_packed(producer, order_id: int):
    order = _producer_order(producer, order_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with transaction(flash_errors=False) as tx:
        services.mark_packed(order, producer, current_user)
    return _back_to_pick_list(order, tx, _("Order %(code)s is packed.", code=order.pickup_code))


@bp.route("/shop/orders/<int:order_id>/cancel", methods=["POST"])
@producer_required
def producer_cancel(producer, order_id: int):
    order = _producer_order(producer, order_id)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    with transaction(flash_errors=False) as tx:
        services.cancel_lines_by_producer(order, producer, current_user, form.reason.data or "")
    return _back_to_pick_list(order, tx, _("Your items of order %(code)s are cancelled; the customer is told.",
                                           code=order.pickup_code))


@bp.route("/shop/orders/lines/<int:line_id>/weight", methods=["POST"])
@producer_required
def record_weight(producer, line_id: int):
    line = _producer_line(producer, line_id)
    form = WeightForm()
    if not form.validate_on_submit():
        flash(_("Enter the weighed quantity."), "error")
        return redirect(url_for("orders.pick_list", market_day_id=line.order.market_day_id))
    try:
        quantity = parse_quantity_milli(form.weight.data, True)
    except InvalidAmount as exc:
        flash(str(exc), "error")
        return redirect(url_for("orders.pick_list", market_day_id=line.order.market_day_id))
    with transaction(flash_errors=False) as tx:
        services.record_weight(line, producer, current_user, quantity)
    return _back_to_pick_list(line.order, tx, _("Weight of %(name)s saved.", name=line.product_name))


@bp.route("/shop/orders/lines/<int:line_id>/missing", methods=["POST"])
@producer_required
def mark_missing(producer, line_id: int):
    line = _producer_line(producer, line_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with transaction(flash_errors=False) as tx:
        services.mark_line_missing(line, current_user)
    return _back_to_pick_list(line.order, tx, _("%(name)s is marked as not brought; the customer will not pay for it.",
                                                name=line.product_name))


@bp.app_template_global("order_status_label")
def order_status_label(status) -> str:
    return services.status_label(status)
