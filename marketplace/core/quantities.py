"""Quantities in thousandths of a unit (grams of a kilo, millilitres of a litre), and unit names."""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal
from flask_babel import get_locale, ngettext
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


#: Counted units agree with their number ("1 пучок", "2 пучка", "5 пучков"; "2 bunches"), each
#: language by its own plural rule; the abbreviations above (kg, g, l, pc.) never change.
COUNTED_UNITS = {
    "bunch": lambda n, number: ngettext("%(number)s bunch", "%(number)s bunches", n, number=number),
    "jar": lambda n, number: ngettext("%(number)s jar", "%(number)s jars", n, number=number),
    "dozen": lambda n, number: ngettext("%(number)s dozen", "%(number)s dozens", n, number=number),
}

#: gettext's plural rules count whole numbers. A fraction (half a jar: not sold so, but possible)
#: reads as CLDR's "other", which in ru, kk, ky and en is the form the rules give 2 ("1,5 пучка",
#: "1.5 bunches").
FRACTION_PLURAL = 2


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
    """1500, 'kg' -> '1,5 кг', 2000, 'bunch' -> '2 пучка' in the current locale."""
    if milli is None:
        return ""
    value = (Decimal(milli) / MILLI).normalize()
    number = format_decimal(value, format="#,##0.###", locale=str(get_locale() or "en"))
    if unit is None:
        return number
    counted = COUNTED_UNITS.get(getattr(unit, "value", unit))
    if counted is None:
        return f"{number}\u00a0{unit_label(unit)}"
    plural = int(value) if value == value.to_integral_value() else FRACTION_PLURAL
    # The number and its unit never part at a line break, whatever space the translation typed.
    return counted(plural, number).replace(" ", "\u00a0")
