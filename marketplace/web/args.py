"""Request arguments read the same way everywhere: ids within a database integer, pages clamped."""
from __future__ import annotations

from flask import request
from werkzeug.routing import IntegerConverter

#: PostgreSQL's INTEGER; SQLite raises OverflowError past 64 bits.
MAX_ID = 2_147_483_647
#: No list is this long; a larger page number is a typo or a probe, and past the database integer a 500.
MAX_PAGE = 100_000


class BoundedIntConverter(IntegerConverter):
    """`<int:id>` in a URL: an id beyond a database integer is a 404, not an overflow error."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def parse_int(value: str | None, low: int, high: int) -> int | None:
    """A whole number written in ASCII digits within [low, high], else None."""
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > len(str(high)):
        return None
    number = int(value)
    return number if low <= number <= high else None


def id_arg(value: str | None) -> int | None:
    """An id typed or posted by the client (not from the URL rule): None unless 1..MAX_ID."""
    return parse_int(value, 1, MAX_ID)


def page_arg(limit: int = MAX_PAGE) -> int:
    """`?page=` as a page number from 1 to `limit`; anything else is page 1."""
    return min(parse_int(request.args.get("page"), 1, 10**12) or 1, limit)
