"""Basket, checkout, the customer's orders, and the producer's pick lists."""
from __future__ import annotations

import uuid

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from markupsafe import Markup

from marketplace.accounts.services import remember_language
from marketplace.core.db import utcnow
from marketplace.core.errors import NotAllowed
from marketplace.core.extensions import db
from marketplace.core.locale import format_day, format_local_time
from marketplace.core.money import InvalidAmount
from marketplace.core.quantities import parse_quantity_milli, quantity_number
from marketplace.orders import basket, calendar, queries, services
from marketplace.orders.errors import EmptyBasket, OutOfStock, SlotUnavailable
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
from marketplace.web.args import id_arg, page_arg
from marketplace.web.csv import csv_response, csv_text
from marketplace.web.headers import is_safe_next_url
from marketplace.web.transaction import transaction

bp = Blueprint("orders", __name__)

#: Where a card order goes to be paid, once the payments feature registers it.
CARD_PAYMENT_ENDPOINT = "payments.pay"


# --- Basket ----------------------------------------------------------------------------

def _wants_json() -> bool:
    """The product page's script adds without leaving the page; it asks for JSON."""
    return request.accept_mimetypes.best == "application/json"


@bp.route("/basket/add", methods=["POST"])
def basket_add():
    form = AddToBasketForm()
    if not form.validate_on_submit():
        if form.quantity.errors and not (form.product_id.errors or form.market_day_id.errors):
            return _answer(form.next.data, error=_("Enter how much you want."))
        abort(400)
    market_day = queries.market_day_for_basket(form.market_day_id.data) or abort(404)
    change = services.basket_add(basket.read_all(), market_day, form.product_id.data, form.quantity.data)
    basket.write_all(change.baskets)
    if change.error:
        return _answer(form.next.data, error=change.error)
    return _answer(form.next.data, success=_("%(name)s is in your basket for %(day)s: %(qty)s in all.",
                                             name=change.added, day=format_day(market_day.date),
                                             qty=change.in_basket))


def _answer(target: str | None, *, success: str | None = None, error: str | None = None):
    """JSON for the product page's script (it stays on the page); else a message and a redirect."""
    if _wants_json():
        count = basket.count()
        return jsonify(ok=error is None, message=error or success, count=count, count_label=items_label(count),
                       basket_url=url_for("orders.basket")), (409 if error else 200)
    flash(error or success, "error" if error else "success")
    return redirect(target if is_safe_next_url(target) else url_for("orders.basket"))


def _save(change: services.BasketChange, success: str | None = None) -> None:
    """Keep the changed baskets (orders.basket) and tell the customer what happened."""
    basket.write_all(change.baskets)
    for notice in change.notices:
        flash(notice, "warning")
    if change.error:
        flash(change.error, "error")
    elif success:
        flash(success, "success")


@bp.route("/basket", endpoint="basket")
def basket_page():
    baskets = basket.read_all()
    days, gone = queries.basket_days(baskets)
    if gone:
        basket.write_all({day: items for day, items in baskets.items() if day not in gone})
        flash(_("A market day you had a basket for was taken off the calendar; its basket is gone."), "warning")
    priced = [queries.price_basket(day, items) for day, items in days]
    now = utcnow()
    return render_template("orders/basket.html", baskets=priced,
                           open_days={b.market_day.id: queries.open_days_of_market(b.market_day.market_id, now)
                                      for b in priced},
                           ordering_open={b.market_day.id: queries.is_ordering_open(b.market_day, now)
                                          for b in priced},
                           quantity_form=QuantityForm(), day_form=ChangeDayForm())


def _basket_line(day_id: int, product_id: int) -> dict[int, dict[int, int]]:
    baskets = basket.read_all()
    if product_id not in baskets.get(day_id, {}):
        abort(404)
    return baskets


@bp.route("/basket/<int:day_id>/items/<int:product_id>", methods=["POST"])
def basket_update(day_id: int, product_id: int):
    baskets = _basket_line(day_id, product_id)
    form = QuantityForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(_("Enter how much you want."), "error")
        return redirect(url_for("orders.basket"))
    _save(services.basket_set_quantity(baskets, day_id, product_id, form.quantity.data))
    return redirect(url_for("orders.basket") + f"#basket-{day_id}")


@bp.route("/basket/<int:day_id>/items/<int:product_id>/remove", methods=["POST"])
def basket_remove(day_id: int, product_id: int):
    baskets = _basket_line(day_id, product_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    baskets[day_id].pop(product_id)
    basket.write_all(baskets)
    return redirect(url_for("orders.basket"))


@bp.route("/basket/<int:day_id>/move", methods=["POST"])
def basket_change_day(day_id: int):
    form = ChangeDayForm()
    baskets = basket.read_all()
    if not form.validate_on_submit():
        abort(400)
    if day_id not in baskets:
        abort(404)
    market_day = queries.market_day_for_basket(form.market_day_id.data) or abort(404)
    source = queries.market_day_for_basket(day_id)
    if source is not None and source.market_id != market_day.market_id:
        abort(404)
    change = services.basket_move(baskets, day_id, market_day)
    _save(change, None if change.error else _("Your basket is now for %(day)s.", day=format_day(market_day.date)))
    return redirect(url_for("orders.basket"))


# --- Checkout --------------------------------------------------------------------------

def _checkout_day(baskets) -> int | None:
    """The basket being checked out: ?day=, or the only one."""
    day_id = id_arg(request.args.get("day"))
    if day_id is None and len(baskets) == 1:
        day_id = next(iter(baskets))
    return day_id


def _basket_gone(day_id: int | None):
    """The basket a checkout form was sent for is empty now: say so, and when this customer has
    just ordered (the same basket from another tab or window), which order has it — "Your basket
    is empty" alone left them wondering whether anything was ordered at all."""
    recent = services.recent_order_of(current_user, day_id)
    if recent is not None:
        flash(_("This basket was ordered a moment ago, in another tab or window: it is order "
                "%(code)s in My orders.", code=recent.pickup_code), "info")
    else:
        flash(_("Your basket is empty."), "info")
    return redirect(url_for("orders.basket"))


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    baskets = basket.read_all()
    day_id = _checkout_day(baskets)
    items = baskets.get(day_id, {})
    market_day = queries.market_day_for_basket(day_id)
    form = CheckoutForm()
    placed = services.order_by_key_for(form.idempotency_key.data, current_user) if request.method == "POST" else None
    if placed is not None:
        # The same form sent again (double click, back button): show the order it placed.
        return redirect(url_for("orders.order_detail", order_id=placed.id))
    if market_day is None or not items:
        if request.method == "POST":
            # A form from a page that had a basket: another tab ordered it a moment ago.
            return _basket_gone(day_id)
        flash(_("Choose which basket to order.") if len(baskets) > 1 else _("Your basket is empty."), "info")
        return redirect(url_for("orders.basket"))
    slots = queries.slots_with_places(market_day)
    methods = services.available_payment_methods(market_day, current_user)
    form.pickup_slot.choices = [(slot.id, slot.id) for slot in slots]
    form.payment_method.choices = [(m.method.value, m.label) for m in methods if m.offered]
    if request.method == "GET":
        form.idempotency_key.data = uuid.uuid4().hex
        form.phone.data = current_user.phone or queries.last_phone_of(current_user.id)
        # The first time with room is what most people take: one tap fewer.
        form.pickup_slot.data = next((slot.id for slot in slots if slot.places_left > 0), None)
        if len(form.payment_method.choices) == 1:
            form.payment_method.data = form.payment_method.choices[0][0]
    status = 200
    if form.validate_on_submit():
        with transaction(flash_errors=False) as tx:
            remember_language(current_user, str(get_locale()))
            # Taken in this transaction, not as read at the request's start: another tab
            # checking out the same basket at the same instant finds it empty (or, sent with the
            # same key, the order the first one placed).
            order = services.place_order(
                current_user, market_day.id, basket.take(day_id), slot_id=form.pickup_slot.data,
                payment_method=PaymentMethod(form.payment_method.data), phone=form.phone.data,
                idempotency_key=form.idempotency_key.data)
            # Read before the commit expires the order: the redirect needs no statement more.
            placed_id, pending = order.id, order.status == OrderStatus.PENDING_PAYMENT
        if tx.ok:
            baskets.pop(day_id, None)
            basket.write_all(baskets)
            if pending:
                return redirect(url_for(CARD_PAYMENT_ENDPOINT, order_id=placed_id))
            flash(_("Thank you! Your order is placed."), "success")
            return redirect(url_for("orders.order_detail", order_id=placed_id))
        if isinstance(tx.error, EmptyBasket):
            # Another tab ordered this basket a moment ago.
            return _basket_gone(day_id)
        if isinstance(tx.error, OutOfStock):
            # Sold out (the rush's usual answer): the basket must change before anything can be
            # ordered, so the page says what is left and leads to the basket — no second pricing
            # of the basket, no slots, no form (docs/performance.md).
            form.form_errors.append(tx.error.message)
            return render_template("orders/checkout.html", form=form, basket=None, slots=[], methods=[],
                                   market_day=market_day, other_baskets=len(baskets) - 1, ordering_open=True,
                                   sold_out=True), 409
        slot_full = isinstance(tx.error, SlotUnavailable)
        (form.pickup_slot.errors if slot_full else form.form_errors).append(tx.error.message)
        status = 409 if slot_full else 400
        # Show the page again with fresh numbers (places left, what is left).
        slots = queries.slots_with_places(market_day)
    elif request.method == "POST":
        status = 400
    # Priced only to be shown: a checkout that succeeds is priced once, by place_order.
    priced = queries.price_basket(market_day, items)
    return render_template("orders/checkout.html", form=form, basket=priced, slots=slots, methods=methods,
                           market_day=market_day, other_baskets=len(baskets) - 1,
                           ordering_open=queries.is_ordering_open(market_day, utcnow())), status


# --- The customer's orders -------------------------------------------------------------

@bp.route("/orders")
@login_required
def my_orders():
    page = queries.orders_of_customer(current_user.id, page_arg(), current_app.config["PAGE_SIZE"])
    return render_template("orders/my_orders.html", page=page, now=utcnow(), action_form=ActionForm())


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
                           stalls=queries.stalls_of_order(order), producers=queries.producers_of_order(order),
                           cancel_form=ActionForm(), pay_endpoint=CARD_PAYMENT_ENDPOINT)


@bp.route("/orders/<int:order_id>/calendar.ics")
@login_required
def order_calendar(order_id: int):
    order = _own_order(order_id)
    text = calendar.order_event(order, queries.stalls_of_order(order),
                                url_for("orders.order_detail", order_id=order.id, _external=True))
    return Response(text, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="aimak-{order.pickup_code}.ics"',
        "Cache-Control": "private, no-store"})


@bp.route("/orders/<int:order_id>/again", methods=["POST"])
@login_required
def order_again(order_id: int):
    order = _own_order(order_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    change = services.order_again(order, basket.read_all())
    _save(change, _("Back in your basket for %(day)s: %(names)s.", day=format_day(
        queries.market_day_for_basket(change.day_id).date), names=change.added) if change.added else None)
    if not change.added and not change.error:
        flash(_("None of these products can be ordered for the next market day."), "warning")
    return redirect(url_for("orders.basket") + (f"#basket-{change.day_id}" if change.day_id else ""))


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


@bp.app_template_global("basket_count")
def basket_count() -> int:
    """Lines in the visitor's baskets, for the header's badge."""
    return basket.count()


@bp.app_template_global("basket_items_label")
def items_label(count: int) -> str:
    """What a screen reader hears after "Basket:" on the badge, in the plural its number needs."""
    return ngettext("%(num)d item", "%(num)d items", count)


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
