"""The basket kept in the session: one market day, product ids and milli quantities only.

Flask's session survives login (Flask-Login adds its keys beside ours), so a basket
filled before logging in is still there after.
"""
from __future__ import annotations

from flask import session

KEY = "basket"


def read() -> tuple[int | None, dict[int, int]]:
    """(market day id, {product id: quantity milli}); malformed data reads as empty."""
    data = session.get(KEY)
    if not isinstance(data, dict):
        return None, {}
    day = data.get("day")
    items = {}
    for key, value in (data.get("items") or {}).items():
        try:
            product_id, quantity = int(key), int(value)
        except (TypeError, ValueError):
            continue
        if quantity > 0:
            items[product_id] = quantity
    return (day if isinstance(day, int) else None), items


def write(day_id: int | None, items: dict[int, int]) -> None:
    if not items:
        session.pop(KEY, None)
        return
    session[KEY] = {"day": day_id, "items": {str(k): int(v) for k, v in items.items()}}


def clear() -> None:
    session.pop(KEY, None)


def count() -> int:
    return len(read()[1])
