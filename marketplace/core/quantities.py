"""Quantities in thousandths of a unit (grams of a kilo, millilitres of a litre), and unit names."""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from marketplace.core.money import MILLI, InvalidAmount, parse_decimal

MAX_QUANTITY_MILLI = 100_000 * MILLI

UNIT_LABELS = {
    "kg": _l("kg"),
    "g": _l("g"),
    "l": _l("l"),
    "piece": _l("pc."),
    "bunch": _l("bunch"),
    "jar": _l("jar"),
    "dozen": _l("dozen"),
}


def unit_label(unit) -> str:
    key = getattr(unit, "value", unit)
    return str(UNIT_LABELS.get(key, key))


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
