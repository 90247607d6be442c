"""Money in integer minor units with a currency code: parsing what people type, and showing it.

Never floats: a price is an int of the currency's minor units (tiyn, kopeck, cent).
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, format_decimal, get_currency_precision
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

#: Plain decimal numbers only: ASCII digits, one dot or comma; no signs, exponents or spaces
#: inside. (`\d` would also take '٣' and '３', which Decimal reads as 3.)
_DECIMAL_RE = re.compile(r"^[0-9]+(?:[.,][0-9]+)?$")
MAX_PRICE_MAJOR = Decimal("100000000")  # 100 million of any currency is surely a typo
MILLI = 1000


class InvalidAmount(ValueError):
    """Raised with a message fit to show next to the form field."""


def parse_decimal(text: str | None) -> Decimal:
    cleaned = (text or "").strip().replace("\u00a0", "").replace(" ", "")
    if any(ch.isdigit() and not ch.isascii() for ch in cleaned):
        raise InvalidAmount(str(_l("Write numbers with the digits 0–9.")))
    if not _DECIMAL_RE.match(cleaned):
        raise InvalidAmount(str(_l("Enter a number such as 12,50 or 12.50.")))
    try:
        return Decimal(cleaned.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the regex already refuses these
        raise InvalidAmount(str(_l("Enter a number such as 12,50 or 12.50."))) from exc


def minor_units(currency: str) -> int:
    """Digits after the decimal point of a currency (KZT 2, JPY 0)."""
    return get_currency_precision(currency)

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


def percent_from_bp(basis_points: int | None) -> str:
    """A commission in basis points as people write the percentage: 500 -> '5', 550 -> '5,5' in ru
    (the locale's decimal sign; 'комиссия 5.0%' read wrong in ru, kk and ky)."""
    if basis_points is None:
        return ""
    return format_decimal(Decimal(basis_points).scaleb(-2), format="#,##0.##", locale=str(get_locale() or "en"))


def line_total_minor(unit_price_minor: int, quantity_milli: int) -> int:
    """Price of a quantity, rounded half up to the minor unit, in integers only."""
    return (unit_price_minor * quantity_milli + MILLI // 2) // MILLI


#: Symbols people in our markets write, where CLDR has only the ISO code.
LOCAL_SYMBOLS = {
    "KZT": {"*": "₸"},
    "KGS": {"ru": "сом", "ky": "сом", "kk": "сом"},
}


def money(amount_minor: int | None, currency: str) -> str:
    """Integer minor units shown in the current locale, e.g. '1 250 ₸'; whole amounts without decimals."""
    if amount_minor is None:
        return ""
    return _money_text(amount_minor, currency, str(get_locale() or "en"))


#: Currencies whose minor unit is not in use: prices are whole, and a sum is shown rounded to
#: the whole unit in reports and charts (tiyn and tyiyn exist on paper, not in a wallet).
WHOLE_UNIT_CURRENCIES = frozenset({"KZT", "KGS", "UZS", "MNT"})


def whole_unit_step(currency: str) -> int:
    """The smallest amount that changes hands, in minor units: 100 for KZT (no tiyn in a wallet), 1 for EUR."""
    return 10 ** minor_units(currency) if currency in WHOLE_UNIT_CURRENCIES else 1


def cash_minor(amount_minor: int, currency: str) -> int:
    """An amount as it is paid in cash: rounded half up to the whole unit where the currency's
    fractions are not in use (587.10 ₸ -> 587 ₸, 587.50 ₸ -> 588 ₸), unchanged elsewhere."""
    step = whole_unit_step(currency)
    if amount_minor < 0:
        return -cash_minor(-amount_minor, currency)
    return (amount_minor + step // 2) // step * step


def cash_minor_up(amount_minor: int, currency: str) -> int:
    """Rounded up to the whole unit where fractions are not in use (87.10 ₸ -> 88 ₸)."""
    step = whole_unit_step(currency)
    return -(-amount_minor // step) * step


def money_whole(amount_minor: int | None, currency: str) -> str:
    """Like money(), rounded half up to the whole unit where the currency's fractions are not in use."""
    if amount_minor is None:
        return ""
    return money(cash_minor(amount_minor, currency), currency)


# Formatting through Babel costs ~0.1 ms a call, and a product list shows the same prices,
# dates and market days over and over: the texts are pure functions of their arguments.
@lru_cache(maxsize=8192)
def _money_text(amount_minor: int, currency: str, locale: str) -> str:
    value = Decimal(amount_minor).scaleb(-minor_units(currency))
    pattern = Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0]
    if value == value.to_integral_value():
        pattern = pattern.replace(".00", "")
    text = format_currency(value, currency, locale=locale, format=pattern, currency_digits=False)
    symbols = LOCAL_SYMBOLS.get(currency, {})
    symbol = symbols.get(locale.split("_")[0]) or symbols.get("*")
    return text.replace(currency, symbol) if symbol else text
