"""The producer's own shop: dashboard, profile, products and photos, availability, markets, CSV."""
from __future__ import annotations

import re

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
from flask_login import current_user
from werkzeug.routing import BuildError

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role
from marketplace.core.errors import DomainError, NotAllowed, NotFound
from marketplace.core.extensions import db
from marketplace.core.locale import format_day
from marketplace.core.money import format_price_input
from marketplace.core.quantities import quantity_number
from marketplace.media.services import InvalidUpload
from marketplace.producers import csvio, queries, services
from marketplace.producers.forms import (
    ApplyForm,
    ImportForm,
    PhotoForm,
    ProductForm,
    ProfileForm,
)
from marketplace.producers.models import ProducerKind, StockMode
from marketplace.web.errors import render_error

bp = Blueprint("producers", __name__, url_prefix="/shop")
#: Ids in URLs fit the database's integer; a longer number is a 404, not an overflow (SQLite).
ID = "int(max=2147483647)"
_CELL = re.compile(r"^([qp])-(\d{1,12})-(\d{1,12})$")


def current_producer():
    producer = services.producer_for_user(current_user)
    if producer is None:
        abort(404)
    return producer


def own_product(producer, product_id: int):
    product = queries.product_with_photos(producer, product_id)
    if product is None:
        abort(404)
    return product


def _field_errors(form, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        field = getattr(form, name, None) or form.name
        field.errors = list(field.errors) + [message]


def _optional_url(endpoint: str, **values) -> str | None:
    """A link into another feature's pages, or None while that feature does not serve them."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.context_processor
def _shop_links():
    return {"orders_url": _optional_url("orders.producer_days"),
            "pick_lists": "orders.pick_list" in current_app.view_functions}


@bp.errorhandler(NotFound)
@bp.errorhandler(NotAllowed)
def _not_found(_error):
    db.session.rollback()
    return render_error(404)


@bp.route("/")
@role_required(Role.PRODUCER)
def dashboard():
    producer = current_producer()
    return render_template(
        "producers/dashboard.html", producer=producer,
        public_url=_optional_url("catalog.producer", slug=producer.slug),
        days=queries.upcoming_days(producer), open_orders=queries.open_orders_count(producer),
        certifications=queries.certifications(producer), applications=queries.applications(producer),
        inventory=queries.inventory_products(producer), counts=queries.product_counts(producer))


@bp.route("/profile", methods=["GET", "POST"])
@role_required(Role.PRODUCER)
def profile():
    producer = current_producer()
    form = ProfileForm(obj=producer)
    if request.method == "GET":
        form.kind.data = producer.kind.value
        form.lat.data = "" if producer.lat is None else f"{producer.lat:.2f}"
        form.lon.data = "" if producer.lon is None else f"{producer.lon:.2f}"
    if form.validate_on_submit():
        try:
            services.update_profile(
                producer, current_user, name=form.name.data, kind=ProducerKind(form.kind.data),
                story=form.story.data or "", district=form.district.data or "",
                organic_district=form.organic_district.data or "", country=form.country.data,
                currency=form.currency.data, lat=form.lat_value, lon=form.lon_value)
            if form.photo_file.data:
                services.set_profile_photo(producer, current_user, form.photo_file.data.stream)
            elif form.remove_photo.data:
                services.remove_profile_photo(producer, current_user)
        except InvalidUpload as exc:
            db.session.rollback()
            form.photo_file.errors = [exc.message]
        except services.FieldErrors as exc:
            db.session.rollback()
            _field_errors(form, exc.errors)
        else:
            db.session.commit()
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("producers.profile"))
    return render_template("producers/profile.html", form=form, producer=producer)


@bp.route("/products")
@role_required(Role.PRODUCER)
def products():
    producer = current_producer()
    # Clamped: a page number beyond the database integer would be a 500.
    page = queries.product_page(producer, min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000),
                                current_app.config["PAGE_SIZE"])
    return render_template("producers/products.html", producer=producer, page=page)


@bp.route("/products/new", methods=["GET", "POST"])
@role_required(Role.PRODUCER)
def new_product():
    producer = current_producer()
    form = ProductForm(currency=producer.currency, categories=queries.category_choices())
    if form.validate_on_submit():
        product = _save_product(form, lambda: services.create_product(producer, current_user, form.parsed))
        if product is not None:
            flash(_("“%(name)s” is added.", name=product.name), "success")
            return redirect(url_for("producers.edit_product", product_id=product.id))
    return render_template("producers/product_form.html", form=form, producer=producer, product=None,
                           currency=producer.currency, max_photos=services.MAX_PRODUCT_PHOTOS)


@bp.route(f"/products/<{ID}:product_id>/edit", methods=["GET", "POST"])
@role_required(Role.PRODUCER)
def edit_product(product_id: int):
    producer = current_producer()
    product = own_product(producer, product_id)
    form = ProductForm(obj=product, currency=product.currency, categories=queries.category_choices())
    if request.method == "GET":
        form.unit.data = product.unit.value
        form.stock_mode.data = product.stock_mode.value
        form.price.data = format_price_input(product.price_minor, product.currency)
        form.inventory.data = quantity_number(product.inventory_milli) if product.stock_mode == StockMode.INVENTORY else ""
    if form.validate_on_submit():
        if _save_product(form, lambda: services.update_product(product, current_user, form.parsed)):
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("producers.edit_product", product_id=product.id))
        product = own_product(producer, product_id)
    return render_template("producers/product_form.html", form=form, producer=producer, product=product,
                           currency=product.currency, photo_form=PhotoForm(),
                           max_photos=services.MAX_PRODUCT_PHOTOS)


@bp.route(f"/products/<{ID}:product_id>/<any(deactivate, reactivate):action>", methods=["POST"])
@role_required(Role.PRODUCER)
def set_active(product_id: int, action: str):
    producer = current_producer()
    product = services.product_of(producer, product_id)
    services.set_product_active(product, current_user, action == "reactivate")
    db.session.commit()
    flash(_("“%(name)s” is visible to customers again.", name=product.name) if product.active
          else _("“%(name)s” is hidden from customers.", name=product.name), "success")
    if request.form.get("back") == "edit":
        return redirect(url_for("producers.edit_product", product_id=product_id))
    return redirect(url_for("producers.products"))


@bp.route(f"/products/<{ID}:product_id>/delete", methods=["POST"])
@role_required(Role.PRODUCER)
def delete_product(product_id: int):
    producer = current_producer()
    product = services.product_of(producer, product_id)
    name = product.name
    try:
        services.delete_product(product, current_user)
    except services.ProductHasOrders as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("producers.edit_product", product_id=product_id))
    db.session.commit()
    flash(_("“%(name)s” is deleted.", name=name), "success")
    return redirect(url_for("producers.products"))


@bp.route(f"/products/<{ID}:product_id>/photos", methods=["POST"])
@role_required(Role.PRODUCER)
def add_photo(product_id: int):
    producer = current_producer()
    product = services.product_of(producer, product_id)
    form = PhotoForm()
    if not form.validate_on_submit() or not form.photo.data:
        flash(_("Choose a photo to upload."), "error")
        return redirect(url_for("producers.edit_product", product_id=product_id))
    try:
        services.add_product_photo(product, current_user, form.photo.data.stream)
    except (InvalidUpload, services.FieldErrors) as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(_("The photo is added."), "success")
    return redirect(url_for("producers.edit_product", product_id=product_id) + "#photos")


@bp.route(f"/products/<{ID}:product_id>/photos/<{ID}:photo_id>/<any(up, down, remove):action>", methods=["POST"])
@role_required(Role.PRODUCER)
def change_photo(product_id: int, photo_id: int, action: str):
    producer = current_producer()
    product = own_product(producer, product_id)
    if action == "remove":
        services.remove_product_photo(product, current_user, photo_id)
    else:
        services.move_product_photo(product, current_user, photo_id, -1 if action == "up" else 1)
    db.session.commit()
    return redirect(url_for("producers.edit_product", product_id=product_id) + "#photos")


def _grid_cells(form) -> dict[tuple[int, int], tuple[str, str]]:
    cells: dict[tuple[int, int], list[str]] = {}
    for name, value in form.items():
        match = _CELL.match(name)
        if match:
            kind, day_id, product_id = match.group(1), int(match.group(2)), int(match.group(3))
            cells.setdefault((day_id, product_id), ["", ""])[0 if kind == "q" else 1] = value[:40]
    return {key: (q, p) for key, (q, p) in cells.items()}


@bp.route("/availability", methods=["GET", "POST"])
@role_required(Role.PRODUCER)
def availability():
    producer = current_producer()
    errors, values, notice = {}, None, None
    if request.method == "POST":
        cells = _grid_cells(request.form)
        copy_to = request.form.get("copy", type=int)
        if copy_to is not None:
            # Fill one day's column from the previous market day; nothing is saved until "Save".
            day = services.market_day_of_grid(producer, copy_to)
            previous, values = queries.copy_previous_day(producer, day, cells)
            notice = (_("Copied from %(day)s. Check the numbers and press Save.", day=format_day(previous.date))
                      if previous else _("There is no earlier market day at this market to copy from."))
        else:
            try:
                changed = services.save_availability(producer, current_user, cells)
            except services.GridErrors as exc:
                db.session.rollback()
                errors, values = exc.errors, cells
                flash(exc.message, "error")
            else:
                db.session.commit()
                flash(_("Saved: %(n)s change(s).", n=changed) if changed else _("Nothing changed."), "success")
                return redirect(url_for("producers.availability"))
    days = queries.grid_days(producer)
    products = queries.grid_products(producer)
    offers = queries.offers_for([d.id for d in days], [p.id for p in products])
    return render_template("producers/availability.html", producer=producer, days=days, products=products,
                           offers=offers, errors=errors, values=values, notice=notice,
                           inventory=queries.inventory_products(producer), price_input=format_price_input)


@bp.route("/markets")
@role_required(Role.PRODUCER)
def markets():
    producer = current_producer()
    return render_template("producers/markets.html", producer=producer,
                           markets=queries.markets_with_standing(producer), form=ApplyForm())


@bp.route(f"/markets/<{ID}:market_id>/apply", methods=["GET", "POST"])
@role_required(Role.PRODUCER)
def apply(market_id: int):
    producer = current_producer()
    market = services.market_for_application(market_id)
    form = ApplyForm()
    if form.validate_on_submit():
        try:
            vendor = services.apply_to_market(producer, current_user, market, form.message.data or "")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for("producers.markets"))
        db.session.commit()
        flash(_("Your application to %(market)s is sent.", market=market.name), "success")
        return redirect(url_for("producers.application", vendor_id=vendor.id))
    return render_template("producers/apply.html", producer=producer, market=market, form=form)


@bp.route(f"/applications/<{ID}:vendor_id>")
@role_required(Role.PRODUCER)
def application(vendor_id: int):
    producer = current_producer()
    return render_template("producers/application.html", producer=producer,
                           vendor=services.vendor_of(producer, vendor_id))


@bp.route("/products.csv")
@role_required(Role.PRODUCER)
def export_csv():
    producer = current_producer()
    return Response(csvio.export_products_csv(producer), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=products.csv",
                             "Cache-Control": "no-store"})


@bp.route("/products/import", methods=["GET", "POST"])
@role_required(Role.PRODUCER)
def import_csv():
    producer = current_producer()
    form = ImportForm()
    row_errors = []
    if form.validate_on_submit():
        if not form.file.data:
            form.file.errors = [_("Choose a CSV file.")]
        else:
            try:
                result = csvio.import_products_csv(producer, current_user,
                                                   form.file.data.stream.read(csvio.MAX_CSV_BYTES + 1))
            except csvio.CsvFileError as exc:
                db.session.rollback()
                form.file.errors = [exc.message]
            except csvio.CsvRowErrors as exc:
                db.session.rollback()
                row_errors = exc.rows
                form.file.errors = [exc.message]
            else:
                db.session.commit()
                flash(_("Imported: %(created)s new, %(updated)s changed.", created=result.created,
                        updated=result.updated), "success")
                return redirect(url_for("producers.products"))
    return render_template("producers/import.html", producer=producer, form=form, row_errors=row_errors,
                           columns=csvio.COLUMNS)


def _save_product(form, save):
    """Run the create/update service and add the uploaded photo, committing both or neither.

    Returns the product, or None with the errors beside the fields.
    """
    try:
        product = save()
        if form.photo.data:
            services.add_product_photo(product, current_user, form.photo.data.stream)
    except InvalidUpload as exc:
        db.session.rollback()
        form.photo.errors = [exc.message]
        return None
    except services.FieldErrors as exc:
        db.session.rollback()
        _field_errors(form, exc.errors)
        return None
    db.session.commit()
    return product
