"""Month grids for the organizer's calendar of market days (pure date arithmetic, no queries)."""
from __future__ import annotations

import calendar as _calendar
import re
from dataclasses import dataclass
from datetime import date

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    first: date
    #: Weeks Monday to Sunday; days of the neighbouring months fill the first and last week.
    weeks: list[list[date]]


def month_arg(value: str | None) -> date | None:
    """`?month=2026-12` as the first day of that month; anything else (or a silly year) is None."""
    match = _MONTH.match((value or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def shift(first: date, months: int) -> date:
    """The first day of the month `months` after (or before) `first`'s month."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months(first: date, count: int) -> list[Month]:
    grid = _calendar.Calendar(firstweekday=0)
    result = []
    for n in range(count):
        start = shift(first, n)
        result.append(Month(start, grid.monthdatescalendar(start.year, start.month)))
    return result


def by_date(days) -> dict[date, list]:
    found: dict[date, list] = {}
    for day in days:
        found.setdefault(day.date, []).append(day)
    return found
