"""The producer's own shop: dashboard, profile, products and photos, availability, markets, CSV."""
from __future__ import annotations

import re

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
from flask_babel import ngettext
from flask_login import current_user

from marketplace.core.errors import DomainError, InvalidState, NotAllowed, NotFound
from marketplace.core.extensions import db
from marketplace.core.locale import format_day
from marketplace.core.money import format_price_input
from marketplace.core.quantities import quantity_number
from marketplace.media.services import InvalidUpload
from marketplace.producers import csvio, queries, services
from marketplace.producers.access import producer_required
from marketplace.producers.forms import (
    ApplyForm,
    ImportForm,
    PhotoForm,
    ProductForm,
    ProfileForm,
)
from marketplace.producers.models import ProducerKind, StockMode
from marketplace.web.args import id_arg, page_arg
from marketplace.web.csv import csv_response
from marketplace.web.errors import render_error
from marketplace.web.transaction import transaction

bp = Blueprint("producers", __name__, url_prefix="/shop")
_CELL = re.compile(r"^([qp])-(\d{1,12})-(\d{1,12})$")
#: The dashboard's sales chart covers this many weeks.
SALES_WEEKS = 8


def own_product(producer, product_id: int):
    product = queries.product_with_photos(producer, product_id)
    if product is None:
        abort(404)
    return product


def _show_refusal(form, error: DomainError, upload_field: str) -> None:
    """A refused save: each message beside its field, an unreadable upload beside the file field."""
    if isinstance(error, InvalidUpload):
        form[upload_field].errors = [error.message]
    elif isinstance(error, services.FieldErrors):
        for name, message in error.errors.items():
            field = getattr(form, name, None) or form.name
            field.errors = list(field.errors) + [message]
    else:
        raise error  # NotAllowed or NotFound: the blueprint's 404


@bp.errorhandler(NotFound)
@bp.errorhandler(NotAllowed)
def _not_found(_error):
    # Raised by a lookup before anything was written, or re-raised after transaction() rolled back;
    # rolling back here too means no error path can leave a write behind.
    db.session.rollback()
    return render_error(404)


@bp.route("/")
@producer_required
def dashboard(producer):
    days = queries.upcoming_days(producer)
    return render_template(
        "producers/dashboard.html", producer=producer, public_url=url_for("catalog.producer", slug=producer.slug),
        next_day=days[0] if days else None, later_days=days[1:], steps=queries.onboarding(producer),
        waiting=[] if days else queries.waiting_markets(producer),
        inventory=queries.inventory_products(producer), is_low=queries.is_low, weeks=SALES_WEEKS)


@bp.route("/profile", methods=["GET", "POST"])
@producer_required
def profile(producer):
    form = ProfileForm(obj=producer, first_countries=queries.market_countries(producer))
    if request.method == "GET":
        form.kind.data = producer.kind.value
        form.lat.data = "" if producer.lat is None else f"{producer.lat:.2f}"
        form.lon.data = "" if producer.lon is None else f"{producer.lon:.2f}"
    if form.validate_on_submit():
        with transaction(flash_errors=False) as tx:
            services.update_profile(
                producer, current_user, name=form.name.data, kind=ProducerKind(form.kind.data),
                story=form.story.data or "", district=form.district.data or "", country=form.country.data,
                currency=form.currency.data, lat=form.lat_value, lon=form.lon_value)
            if form.photo_file.data:
                services.set_profile_photo(producer, current_user, form.photo_file.data.stream)
            elif form.remove_photo.data:
                services.remove_profile_photo(producer, current_user)
        if tx.ok:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("producers.profile"))
        _show_refusal(form, tx.error, "photo_file")
    return render_template("producers/profile.html", form=form, producer=producer)


@bp.route("/products")
@producer_required
def products(producer):
    page = queries.product_page(producer, page_arg(), current_app.config["PAGE_SIZE"])
    return render_template("producers/products.html", producer=producer, page=page)


@bp.route("/products/new", methods=["GET", "POST"])
@producer_required
def new_product(producer):
    form = ProductForm(currency=producer.currency, categories=queries.category_choices())
    if form.validate_on_submit():
        # The product and its first photo are saved together, or neither is.
        with transaction(flash_errors=False) as tx:
            product = services.create_product(producer, current_user, form.parsed)
            if form.photo.data:
                services.add_product_photo(product, current_user, form.photo.data.stream)
        if tx.ok:
            flash(_("“%(name)s” is added.", name=product.name), "success")
            return redirect(url_for("producers.edit_product", product_id=product.id))
        _show_refusal(form, tx.error, "photo")
    return render_template("producers/product_form.html", form=form, producer=producer, product=None,
                           currency=producer.currency, max_photos=services.MAX_PRODUCT_PHOTOS)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@producer_required
def edit_product(producer, product_id: int):
    product = own_product(producer, product_id)
    form = ProductForm(obj=product, currency=product.currency, categories=queries.category_choices())
    if request.method == "GET":
        form.unit.data = product.unit.value
        form.stock_mode.data = product.stock_mode.value
        form.price.data = format_price_input(product.price_minor, product.currency)
        form.inventory.data = quantity_number(product.inventory_milli) if product.stock_mode == StockMode.INVENTORY else ""
    if form.validate_on_submit():
        with transaction(flash_errors=False) as tx:
            services.update_product(product, current_user, form.parsed)
            if form.photo.data:
                services.add_product_photo(product, current_user, form.photo.data.stream)
        if tx.ok:
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("producers.edit_product", product_id=product.id))
        _show_refusal(form, tx.error, "photo")
        product = own_product(producer, product_id)
    return render_template("producers/product_form.html", form=form, producer=producer, product=product,
                           currency=product.currency, photo_form=PhotoForm(),
                           max_photos=services.MAX_PRODUCT_PHOTOS)


@bp.route("/products/<int:product_id>/<any(deactivate, reactivate):action>", methods=["POST"])
@producer_required
def set_active(producer, product_id: int, action: str):
    product = services.product_of(producer, product_id)
    with transaction() as tx:
        services.set_product_active(product, current_user, action == "reactivate")
    if tx.ok:
        flash(_("“%(name)s” is visible to customers again.", name=product.name) if product.active
              else _("“%(name)s” is hidden from customers.", name=product.name), "success")
    if request.form.get("back") == "edit":
        return redirect(url_for("producers.edit_product", product_id=product_id))
    return redirect(url_for("producers.products"))


@bp.route("/products/<int:product_id>/delete", methods=["POST"])
@producer_required
def delete_product(producer, product_id: int):
    product = services.product_of(producer, product_id)
    name = product.name
    with transaction() as tx:
        services.delete_product(product, current_user)
    if not tx.ok:
        return redirect(url_for("producers.edit_product", product_id=product_id))
    flash(_("“%(name)s” is deleted.", name=name), "success")
    return redirect(url_for("producers.products"))


@bp.route("/products/<int:product_id>/photos", methods=["POST"])
@producer_required
def add_photo(producer, product_id: int):
    product = services.product_of(producer, product_id)
    form = PhotoForm()
    if not form.validate_on_submit() or not form.photo.data:
        flash(_("Choose a photo to upload."), "error")
        return redirect(url_for("producers.edit_product", product_id=product_id))
    with transaction() as tx:
        services.add_product_photo(product, current_user, form.photo.data.stream)
    if tx.ok:
        flash(_("The photo is added."), "success")
    return redirect(url_for("producers.edit_product", product_id=product_id) + "#photos")


@bp.route("/products/<int:product_id>/photos/<int:photo_id>/<any(up, down, remove):action>", methods=["POST"])
@producer_required
def change_photo(producer, product_id: int, photo_id: int, action: str):
    product = own_product(producer, product_id)
    with transaction(flash_errors=False) as tx:
        if action == "remove":
            services.remove_product_photo(product, current_user, photo_id)
        else:
            services.move_product_photo(product, current_user, photo_id, -1 if action == "up" else 1)
    if tx.error:
        abort(404)  # the only refusal: the photo is not one of this product's
    return redirect(url_for("producers.edit_product", product_id=product_id) + "#photos")


def _grid_cells(form) -> dict[tuple[int, int], tuple[str, str]]:
    cells: dict[tuple[int, int], list[str]] = {}
    for name, value in form.items():
        match = _CELL.match(name)
        if match:
            kind, day_id, product_id = match.group(1), int(match.group(2)), int(match.group(3))
            cells.setdefault((day_id, product_id), ["", ""])[0 if kind == "q" else 1] = value[:40]
    return {key: (q, p) for key, (q, p) in cells.items()}


def _grid_day(days, value) -> object | None:
    """The market day of the grid chosen by `?day=` (or the form's `day`); the first one by default."""
    day_id = id_arg(value)
    if day_id is None:
        return days[0] if days else None
    for day in days:
        if day.id == day_id:
            return day
    abort(404)


@bp.route("/availability", methods=["GET", "POST"])
@producer_required
def availability(producer):
    """What I bring, one market day at a time (a day picker above the form)."""
    days = queries.grid_days(producer)
    cells = _grid_cells(request.form) if request.method == "POST" else {}
    # The form names its day; "Same as last time" carries it as its value, a cell in its name.
    chosen = request.values.get("day") or request.form.get("copy") or next((str(d) for d, _p in cells), None)
    day = _grid_day(days, chosen)
    errors, values, notice = {}, None, None
    if request.method == "POST":
        if day is None or any(day_id != day.id for day_id, _product_id in cells) or \
                (request.form.get("copy") and id_arg(request.form["copy"]) != day.id):
            abort(404)  # the form holds one day of this producer's grid; anything else is not this form's
        if request.form.get("copy"):
            # Fill the day from the previous market day at this market; nothing is saved until "Save".
            previous, values = queries.copy_previous_day(producer, day, cells)
            notice = (_("Copied from %(day)s. Check the numbers and press Save.", day=format_day(previous.date, "EEEE, d MMMM"))
                      if previous else _("There is no earlier market day at this market to copy from."))
        else:
            with transaction(flash_errors=False) as tx:
                changed = services.save_availability(producer, current_user, cells)
            if tx.ok:
                flash(ngettext("Saved: %(num)s change.", "Saved: %(num)s changes.", changed) if changed
                      else _("Nothing changed."), "success")
                return redirect(url_for("producers.availability", day=day.id))
            if not isinstance(tx.error, services.GridErrors):
                raise tx.error  # NotFound: a cell outside this producer's grid, the blueprint's 404
            errors, values = tx.error.errors, cells
            flash(tx.error.message, "error")
    products = queries.grid_products(producer)
    offers = queries.offers_for([day.id] if day else [], [p.id for p in products])
    return render_template("producers/availability.html", producer=producer, days=days, day=day,
                           products=products, offers=offers, errors=errors, values=values, notice=notice,
                           can_copy=bool(day and products and queries.has_previous_day(producer, day)),
                           inventory=queries.inventory_products(producer), price_input=format_price_input,
                           is_low=queries.is_low)


_STOCK = re.compile(r"^s-(\d{1,12})$")


@bp.route("/availability/stock", methods=["POST"])
@producer_required
def standing_stock(producer):
    """Every standing-stock product's quantity in one form (What I bring, below the day)."""
    values = {int(match.group(1)): value[:40] for name, value in request.form.items()
              if (match := _STOCK.match(name))}
    with transaction(flash_errors=False) as tx:
        changed = services.save_standing_stock(producer, current_user, values)
    if tx.ok:
        flash(ngettext("Saved: %(num)s change.", "Saved: %(num)s changes.", changed) if changed
              else _("Nothing changed."), "success")
        return redirect(url_for("producers.availability", day=request.form.get("day") or None) + "#stock")
    if not isinstance(tx.error, services.StockErrors):
        raise tx.error  # NotFound: another producer's product, the blueprint's 404
    flash(tx.error.message, "error")
    days = queries.grid_days(producer)
    day = _grid_day(days, request.form.get("day"))
    products = queries.grid_products(producer)
    return render_template("producers/availability.html", producer=producer, days=days, day=day,
                           products=products, offers=queries.offers_for([day.id] if day else [],
                                                                        [p.id for p in products]),
                           errors={}, values=None, notice=None, stock_errors=tx.error.errors, stock_values=values,
                           can_copy=bool(day and products and queries.has_previous_day(producer, day)),
                           inventory=queries.inventory_products(producer), price_input=format_price_input,
                           is_low=queries.is_low), 400


@bp.route("/markets")
@producer_required
def markets(producer):
    return render_template("producers/markets.html", producer=producer, steps=queries.onboarding(producer),
                           markets=queries.markets_with_standing(producer), form=ApplyForm())


@bp.route("/markets/<int:market_id>/apply", methods=["GET", "POST"])
@producer_required
def apply(producer, market_id: int):
    market = services.market_for_application(market_id)
    try:
        services.check_ready_to_apply(producer)
    except InvalidState as exc:
        flash(exc.message, "error")
        return redirect(url_for("producers.markets"))
    form = ApplyForm()
    if form.validate_on_submit():
        with transaction() as tx:
            vendor = services.apply_to_market(producer, current_user, market, form.message.data or "")
        if not tx.ok:
            return redirect(url_for("producers.markets"))
        flash(_("Your application to %(market)s is sent.", market=market.name), "success")
        return redirect(url_for("producers.application", vendor_id=vendor.id))
    return render_template("producers/apply.html", producer=producer, market=market, form=form)


@bp.route("/applications/<int:vendor_id>")
@producer_required
def application(producer, vendor_id: int):
    return render_template("producers/application.html", producer=producer,
                           vendor=services.vendor_of(producer, vendor_id))


@bp.route("/products.csv")
@producer_required
def export_csv(producer):
    return csv_response(csvio.export_products_csv(producer), "products.csv")


@bp.route("/products/import", methods=["GET", "POST"])
@producer_required
def import_csv(producer):
    form = ImportForm()
    row_errors = []
    if form.validate_on_submit():
        if not form.file.data:
            form.file.errors = [_("Choose a CSV file.")]
        else:
            with transaction(flash_errors=False) as tx:
                result = csvio.import_products_csv(producer, current_user,
                                                   form.file.data.stream.read(csvio.MAX_CSV_BYTES + 1))
            if tx.ok:
                flash(_("Imported: %(created)s new, %(updated)s changed.", created=result.created,
                        updated=result.updated), "success")
                return redirect(url_for("producers.products"))
            form.file.errors = [tx.error.message]
            row_errors = getattr(tx.error, "rows", [])  # csvio.CsvRowErrors
    return render_template("producers/import.html", producer=producer, form=form, row_errors=row_errors,
                           columns=csvio.COLUMNS)

