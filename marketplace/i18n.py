"""Locale choice and locale-aware formatting of money, quantities and times."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, dates
from babel.numbers import format_currency, get_currency_precision
from flask import current_app, has_request_context, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша", "ky": "Кыргызча"}
LOCALE_COOKIE = "locale"


def select_locale() -> str:
    """The user's setting, else the switcher's cookie, else the browser's languages."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user_locale = getattr(current_user, "locale", None) if current_user else None
    if user_locale in languages:
        return user_locale
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in languages:
        return cookie
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def minor_units(currency: str) -> int:
    """Digits after the decimal point of a currency (KZT 2, JPY 0)."""
    return get_currency_precision(currency)


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


def local_datetime(instant: datetime | None, tz_name: str) -> datetime | None:
    if instant is None:
        return None
    return instant.astimezone(ZoneInfo(tz_name))


def format_local_datetime(instant: datetime | None, tz_name: str, fmt: str = "EEE d MMM, HH:mm") -> str:
    """An instant in a market's zone, e.g. 'сб, 7 дек., 08:00'."""
    if instant is None:
        return ""
    return _local_datetime_text(instant, tz_name, fmt, str(get_locale() or "en"))


def format_local_time(instant: datetime | None, tz_name: str) -> str:
    return format_local_datetime(instant, tz_name, "HH:mm")


@lru_cache(maxsize=8192)
def _local_datetime_text(instant: datetime, tz_name: str, fmt: str, locale: str) -> str:
    return dates.format_datetime(local_datetime(instant, tz_name).replace(tzinfo=None), fmt, locale=locale)


def format_day(day: date | None, fmt: str = "EEEE d MMMM") -> str:
    if day is None:
        return ""
    return _day_text(day, fmt, str(get_locale() or "en"))


@lru_cache(maxsize=8192)
def _day_text(day: date, fmt: str, locale: str) -> str:
    return dates.format_date(day, fmt, locale=locale)


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
