"""The product list as CSV: export, and an all-or-nothing import of new and changed products."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.core.money import format_price_input
from marketplace.core.quantities import quantity_number
from marketplace.core.text import normalize_text
from marketplace.producers import queries
from marketplace.producers.models import Category, Producer, Product, StockMode, Unit
from marketplace.producers.services import (
    FieldErrors,
    ProductData,
    check_owner,
    check_product_rules,
    create_product,
    parse_inventory_field,
    parse_price_field,
    update_product,
)
from marketplace.web.csv import csv_text

COLUMNS = ["id", "name", "category", "unit", "price", "currency", "sold_by_weight", "stock_mode",
           "inventory", "active", "description"]
REQUIRED_FOR_NEW = ["name", "category", "unit", "price"]
MAX_CSV_BYTES = 1024 * 1024
MAX_ROWS = 2000
_YES = {"yes", "y", "true", "1", "да", "ооба", "иә"}
_NO = {"no", "n", "false", "0", "нет", "жок", "жоқ"}


class CsvFileError(DomainError):
    """The file as a whole cannot be read as our CSV."""


class CsvRowErrors(DomainError):
    """Some rows are wrong (`rows`: list of (line number, message)); nothing was imported."""

    def __init__(self, rows: list[tuple[int, str]]):
        super().__init__(str(_l("Nothing was imported: correct these rows and upload the file again.")))
        self.rows = rows


@dataclass
class ImportResult:
    created: int
    updated: int


def _cell_in(value: str | None) -> str:
    text = (value or "").strip()
    if text.startswith("'") and text[1:2] and text[1:2] in "=+-@":
        return text[1:]
    return text


def export_products_csv(producer: Producer) -> str:
    """Every product of the producer as CSV text with formula-safe cells.

    It starts with a byte-order mark: a spreadsheet then reads the Cyrillic names as UTF-8, and
    the file goes back in through the import unchanged (it reads UTF-8 with or without the mark).
    """
    rows = ((product.id, product.name, product.category.slug, product.unit.value,
             format_price_input(product.price_minor, product.currency), product.currency,
             "yes" if product.sold_by_weight else "no", product.stock_mode.value,
             quantity_number(product.inventory_milli) if product.stock_mode == StockMode.INVENTORY else "",
             "yes" if product.active else "no", product.description)
            for product in queries.products_for_export(producer))
    return "\ufeff" + csv_text(COLUMNS, rows)


def _read_rows(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    if len(data) > MAX_CSV_BYTES:
        raise CsvFileError(str(_l("The file is larger than 1 MB; split it into smaller files.")))
    if not data.strip():
        raise CsvFileError(str(_l("The file is empty.")))
    if b"\x00" in data:
        raise CsvFileError(str(_l("This is not a CSV file. Export the table as CSV (UTF-8) and try again.")))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFileError(str(_l("The file is not UTF-8 text. In your spreadsheet choose "
                                  "\"CSV UTF-8\" when saving, and try again."))) from None
    first_line = text.splitlines()[0] if text.splitlines() else ""
    # Spreadsheets in Russian or Kazakh settings separate columns with semicolons.
    delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [normalize_text(h).replace(" ", "_") for h in next(reader, [])]
        if "name" not in header or not set(header) & {"category", "unit", "price", "id"}:
            raise CsvFileError(str(_l("The first row must name the columns: %(columns)s.",
                                      columns=", ".join(COLUMNS))))
        rows = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_ROWS:
                raise CsvFileError(str(_l("A file may have at most %(n)s products.", n=MAX_ROWS)))
            if len(record) > len(header):
                rows.append((reader.line_num, {"__error__": str(_l("This row has more cells than the header."))}))
                continue
            rows.append((reader.line_num, {name: _cell_in(value) for name, value in zip(header, record)}))
    except csv.Error:
        raise CsvFileError(str(_l("This is not a CSV file we can read (check the quotes)."))) from None
    return header, rows


def _bool_cell(text: str) -> bool | None:
    lowered = text.casefold()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise ValueError


def _category_lookup() -> dict[str, int]:
    lookup = {}
    for category_id, label in queries.category_choices():
        lookup[normalize_text(label)] = category_id
    for category in db.session.scalars(select(Category)):
        lookup[normalize_text(category.slug)] = category.id
        lookup.setdefault(normalize_text(category.name), category.id)
    return lookup


def _row_data(row: dict[str, str], product: Product | None, producer: Producer,
              categories: dict[str, int]) -> tuple[ProductData | None, list[str]]:
    """Parse one row; a cell left out of an update keeps the product's current value."""
    problems: list[str] = []

    def cell(name: str) -> str | None:
        value = row.get(name)
        return value if value not in (None, "") else None

    if product is None:
        missing = [name for name in REQUIRED_FOR_NEW if cell(name) is None]
        if missing:
            return None, [str(_l("A new product needs: %(columns)s.", columns=", ".join(missing)))]
    currency = product.currency if product else producer.currency
    if cell("currency") and cell("currency").upper() != currency:
        problems.append(str(_l("Prices are in %(currency)s; the currency cannot be changed.", currency=currency)))

    name = cell("name") or (product.name if product else "")
    if len(name) > 120:
        problems.append(str(_l("The name is longer than 120 characters.")))
    category_id = product.category_id if product else None
    if cell("category"):
        category_id = categories.get(normalize_text(cell("category")))
        if category_id is None:
            problems.append(str(_l("Unknown category \"%(value)s\".", value=cell("category"))))
    unit = product.unit if product else None
    if cell("unit"):
        try:
            unit = Unit(cell("unit").casefold())
        except ValueError:
            problems.append(str(_l("Unknown unit \"%(value)s\" (use %(units)s).", value=cell("unit"),
                                   units=", ".join(u.value for u in Unit))))
    price = product.price_minor if product else None
    if cell("price"):
        price, message = parse_price_field(cell("price"), currency)
        if message:
            problems.append(str(_l("Price: %(message)s", message=message)))
    by_weight = product.sold_by_weight if product else False
    if cell("sold_by_weight"):
        try:
            by_weight = _bool_cell(cell("sold_by_weight"))
        except ValueError:
            problems.append(str(_l("sold_by_weight must be yes or no.")))
    mode = product.stock_mode if product else StockMode.PER_MARKET_DAY
    if cell("stock_mode"):
        try:
            mode = StockMode(cell("stock_mode").casefold())
        except ValueError:
            problems.append(str(_l("stock_mode must be per_market_day or inventory.")))
    active = None
    if cell("active"):
        try:
            active = _bool_cell(cell("active"))
        except ValueError:
            problems.append(str(_l("active must be yes or no.")))
    inventory = None
    if cell("inventory"):
        inventory, message = parse_inventory_field(cell("inventory"), bool(by_weight))
        if message:
            problems.append(str(_l("Inventory: %(message)s", message=message)))
        elif product is not None and mode == StockMode.INVENTORY and inventory < product.inventory_reserved_milli:
            problems.append(str(_l("Inventory: customers have already reserved more than that.")))
    description = row["description"] if "description" in row else (product.description if product else "")
    if problems:
        return None, problems
    data = ProductData(name=name, category_id=category_id, unit=unit, price_minor=price,
                       sold_by_weight=bool(by_weight), stock_mode=mode, description=description or "",
                       inventory_milli=inventory, active=active)
    return data, list(check_product_rules(data, product).values())


def import_products_csv(producer: Producer, actor: User, data: bytes) -> ImportResult:
    """Create and change products from a CSV file: every row is right, or nothing is imported.

    A row names its product by `id`, or else by `name` (one of the producer's products
    with that name); a row matching none is a new product. The caller rolls back on errors.
    """
    check_owner(producer, actor)
    _header, rows = _read_rows(data)
    if not rows:
        raise CsvFileError(str(_l("The file has a header but no products.")))
    own = list(db.session.scalars(select(Product).where(Product.producer_id == producer.id)))
    by_id = {product.id: product for product in own}
    by_name: dict[str, list[Product]] = {}
    for product in own:
        by_name.setdefault(normalize_text(product.name), []).append(product)
    categories = _category_lookup()
    errors: list[tuple[int, str]] = []
    plan: list[tuple[int, Product | None, ProductData]] = []
    seen: dict[object, int] = {}
    for line, row in rows:
        if "__error__" in row:
            errors.append((line, row["__error__"]))
            continue
        product = None
        if row.get("id"):
            try:
                product = by_id.get(int(row["id"]))
            except ValueError:
                product = None
            if product is None:
                errors.append((line, str(_l("There is no product with id %(id)s in your shop.", id=row["id"]))))
                continue
        elif row.get("name"):
            matches = by_name.get(normalize_text(row["name"]), [])
            if len(matches) > 1:
                errors.append((line, str(_l("Several of your products are called \"%(name)s\"; add the id column.",
                                            name=row["name"]))))
                continue
            product = matches[0] if matches else None
        target = product.id if product else ("new", normalize_text(row.get("name")))
        if target in seen:
            errors.append((line, str(_l("The same product is already on line %(line)s.", line=seen[target]))))
            continue
        seen[target] = line
        parsed, problems = _row_data(row, product, producer, categories)
        if problems:
            errors.append((line, "; ".join(problems)))
            continue
        plan.append((line, product, parsed))
    if errors:
        raise CsvRowErrors(errors)
    created = updated = 0
    for line, product, parsed in plan:
        try:
            if product is None:
                create_product(producer, actor, parsed)
                created += 1
            else:
                update_product(product, actor, parsed)
                updated += 1
        except FieldErrors as exc:  # a reservation made while we were reading the file
            errors.append((line, "; ".join(exc.errors.values())))
    if errors:
        raise CsvRowErrors(errors)
    return ImportResult(created=created, updated=updated)
