"""Parsing and showing money and quantities exactly (integers, never floats)."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from marketplace.i18n import minor_units, unit_label

#: Plain decimal numbers only: digits, one dot or comma; no signs, exponents or spaces inside.
_DECIMAL_RE = re.compile(r"^\d+(?:[.,]\d+)?$")
MAX_PRICE_MAJOR = Decimal("100000000")  # 100 million of any currency is surely a typo
MAX_QUANTITY_MILLI = 100_000 * 1000
MILLI = 1000


class InvalidAmount(ValueError):
    """Raised with a message fit to show next to the form field."""


def parse_decimal(text: str | None) -> Decimal:
    cleaned = (text or "").strip().replace("\u00a0", "").replace(" ", "")
    if not _DECIMAL_RE.match(cleaned):
        raise InvalidAmount(str(_l("Enter a number such as 12,50 or 12.50.")))
    try:
        return Decimal(cleaned.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the regex already refuses these
        raise InvalidAmount(str(_l("Enter a number such as 12,50 or 12.50."))) from exc


def parse_price_minor(text: str | None, currency: str) -> int:
    """'12,50' in KZT -> 1250. Refuses negatives, exponents, text and sub-minor digits."""
    value = parse_decimal(text)
    digits = minor_units(currency)
    if -value.as_tuple().exponent > digits:
        raise InvalidAmount(str(_l("Use at most %(digits)s digits after the decimal point.", digits=digits)))
    if value > MAX_PRICE_MAJOR:
        raise InvalidAmount(str(_l("That price is too large.")))
    return int(value.scaleb(digits))


def format_price_input(amount_minor: int | None, currency: str) -> str:
    """The value to put back in a price field ('12.50', or '1250' for whole amounts)."""
    if amount_minor is None:
        return ""
    value = Decimal(amount_minor).scaleb(-minor_units(currency))
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value)


def parse_quantity_milli(text: str | None, sold_by_weight: bool, allow_zero: bool = False) -> int:
    """A quantity in thousandths of the unit: decimals (3 digits) by weight, whole otherwise."""
    value = parse_decimal(text)
    if sold_by_weight:
        if -value.as_tuple().exponent > 3:
            raise InvalidAmount(str(_l("Use at most three digits after the decimal point.")))
    elif value != value.to_integral_value():
        raise InvalidAmount(str(_l("Enter a whole number.")))
    milli = int(value * MILLI)
    if milli == 0 and not allow_zero:
        raise InvalidAmount(str(_l("Enter a quantity greater than zero.")))
    if milli > MAX_QUANTITY_MILLI:
        raise InvalidAmount(str(_l("That quantity is too large.")))
    return milli


def quantity_number(milli: int | None) -> str:
    """1500 -> '1.5' for form fields (no locale, no unit)."""
    if milli is None:
        return ""
    value = (Decimal(milli) / MILLI).normalize()
    return format(value, "f")


def format_quantity(milli: int | None, unit=None) -> str:
    """1500, 'kg' -> '1,5 кг' in the current locale."""
    if milli is None:
        return ""
    value = (Decimal(milli) / MILLI).normalize()
    number = format_decimal(value, format="#,##0.###", locale=str(get_locale() or "en"))
    return f"{number}\u00a0{unit_label(unit)}" if unit is not None else number


def line_total_minor(unit_price_minor: int, quantity_milli: int) -> int:
    """Price of a quantity, rounded half up to the minor unit, in integers only."""
    return (unit_price_minor * quantity_milli + MILLI // 2) // MILLI
