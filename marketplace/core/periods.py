"""Weeks for back-office figures: the last N weeks' starts, and a portable SQL bucket per week.

Grouping by week with date_trunc (PostgreSQL) or strftime (SQLite) would differ per database;
a CASE over the week starts is the same SQL on both and uses the column's index range.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from sqlalchemy import case


def week_starts(weeks: int, now: datetime) -> list[datetime]:
    """Mondays 00:00 UTC of the last `weeks` weeks, oldest first (this week included)."""
    today = now.astimezone(timezone.utc).date()
    monday = today - timedelta(days=today.weekday())
    return [datetime.combine(monday - timedelta(weeks=n), time(0), tzinfo=timezone.utc)
            for n in range(weeks - 1, -1, -1)]


def week_bucket(column, starts: list[datetime]):
    """An SQL expression: the index of the week (in `starts`) a timestamp falls in."""
    return case(*[(column >= start, index) for index, start in reversed(list(enumerate(starts)))], else_=-1)
