"""Locale choice and locale-aware formatting of dates and times in a market's zone."""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates
from flask import current_app, has_request_context, request
from flask_babel import get_locale
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


class DayText:
    """A date formatted when the text around it is rendered: an email subject made now and
    rendered in its reader's language (`queue_email` renders it under the reader's locale)."""

    def __init__(self, day: date):
        self.day = day

    def __str__(self) -> str:
        return format_day(self.day)


class LocalDateTimeText:
    """A moment in a market's zone, formatted when the text around it is rendered (as DayText)."""

    def __init__(self, moment: datetime, tz_name: str):
        self.moment, self.tz_name = moment, tz_name

    def __str__(self) -> str:
        return format_local_datetime(self.moment, self.tz_name)


@lru_cache(maxsize=8192)
def _day_text(day: date, fmt: str, locale: str) -> str:
    return dates.format_date(day, fmt, locale=locale)
