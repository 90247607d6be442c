"""The baskets kept in the session: one per market day, product ids and milli quantities only.

A customer may fill a basket for Saturday at one market and another for Sunday at another
market (another currency, even): each is checked out on its own, and adding to one never
touches the other. Nothing is taken out of a basket unless the customer asks.

Flask's session survives login (Flask-Login adds its keys beside ours), so a basket
filled before logging in is still there after.
"""
from __future__ import annotations

from flask import session

KEY = "basket"
#: The session is a signed cookie (4 KB): a few market days and a few dozen lines fit.
MAX_DAYS = 6
MAX_LINES = 40

Baskets = dict[int, dict[int, int]]


def _items(raw) -> dict[int, int]:
    items = {}
    for key, value in (raw or {}).items() if isinstance(raw, dict) else ():
        try:
            product_id, quantity = int(key), int(value)
        except (TypeError, ValueError):
            continue
        if quantity > 0:
            items[product_id] = quantity
    return items


def read_all() -> Baskets:
    """{market day id: {product id: quantity milli}}; malformed data reads as empty."""
    data = session.get(KEY)
    if not isinstance(data, dict):
        return {}
    if "items" in data:  # the one-basket shape of earlier versions
        day = data.get("day")
        items = _items(data.get("items"))
        return {day: items} if isinstance(day, int) and items else {}
    baskets: Baskets = {}
    for key, raw in (data.get("days") or {}).items() if isinstance(data.get("days"), dict) else ():
        try:
            day_id = int(key)
        except (TypeError, ValueError):
            continue
        items = _items(raw)
        if items:
            baskets[day_id] = items
    return baskets


def read(day_id: int | None) -> dict[int, int]:
    return dict(read_all().get(day_id, {})) if day_id is not None else {}


def write_all(baskets: Baskets) -> None:
    kept = {str(day): {str(k): int(v) for k, v in items.items()} for day, items in baskets.items() if items}
    if kept:
        session[KEY] = {"days": kept}
    else:
        session.pop(KEY, None)


def count() -> int:
    """How many lines all the baskets hold (the header's badge)."""
    return sum(len(items) for items in read_all().values())
