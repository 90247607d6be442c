"""The visitor's baskets: one per market day, product ids and milli quantities only, kept on the
server (orders.models.BasketLine) under a random key that is all the session holds.

A customer may fill a basket for Saturday at one market and another for Sunday at another
market (another currency, even): each is checked out on its own, and adding to one never
touches the other. Nothing is taken out of a basket unless the customer asks.

Why not the session itself: Flask's session is a signed cookie, and every answer carries all of
it. Two tabs adding at once (a slow connection) each answered a whole basket, and the browser
kept the last: the other tab's product was gone without a word. Here a request writes only the
lines it changed (`write_all` compares with what `read_all` read), so both tabs keep theirs.

The basket survives login (web.security.keep_at_login keeps the key; `renew_key_at_login` then
moves the lines under a new key), so a basket filled before logging in is still there after,
and a session cookie someone planted before the login does not lead to the customer's basket. Once set it stays for the session, even when the baskets are empty: a tab
emptying its basket must not drop the key another tab is adding under. A session holding a key
is not served the anonymous page cache (web.pagecache), as a session holding a basket was not.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app, request, session

from marketplace.core.extensions import db
from marketplace.orders import queries, services

KEY = "basket"
ENVIRON_KEY = "aimak.basket"
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


def _from_cookie(data: dict) -> Baskets:
    """A basket an earlier version kept in the cookie itself; the next change moves it to the server."""
    if "items" in data:  # the one-basket shape
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


def _basket_key() -> str | None:
    key = session.get(KEY)
    return key if isinstance(key, str) and 0 < len(key) <= 64 else None


def _copy(baskets: Baskets) -> Baskets:
    return {day: dict(items) for day, items in baskets.items()}


class _Read:
    """What this request read: the baskets the visitor has, and what the server holds under the
    key (nothing for a basket still in an old cookie) — write_all writes the difference."""

    def __init__(self, baskets: Baskets, stored: Baskets):
        self.baskets, self.stored = baskets, stored


def _load() -> _Read:
    """Read the baskets once per request. Kept in the WSGI environ, not in g: a test's app
    context outlives its requests, a request does not."""
    read = request.environ.get(ENVIRON_KEY)
    if read is None:
        key, data = _basket_key(), session.get(KEY)
        if key is not None:
            baskets = queries.baskets_of_key(key)
            read = _Read(baskets, _copy(baskets))
        else:
            read = _Read(_from_cookie(data) if isinstance(data, dict) else {}, {})
        request.environ[ENVIRON_KEY] = read
    return read


def read_all() -> Baskets:
    """{market day id: {product id: quantity milli}}; malformed data reads as empty."""
    return _copy(_load().baskets)


def read(day_id: int | None) -> dict[int, int]:
    return dict(read_all().get(day_id, {})) if day_id is not None else {}


def _new_key() -> str:
    """The session's basket key. Taken from the session's CSRF secret when it has one, so two
    tabs of one session that add their first products at once still fill one basket."""
    secret = session.get("csrf_token")
    if not (isinstance(secret, str) and secret):
        return secrets.token_urlsafe(32)
    # An HMAC, not the secret itself: the CSRF secret can be read back from a page's token.
    app_key = current_app.secret_key
    app_key = app_key.encode() if isinstance(app_key, str) else app_key
    return hmac.new(app_key, f"basket:{secret}".encode(), hashlib.sha256).hexdigest()[:43]


def write_all(baskets: Baskets) -> None:
    """Keep the baskets as the customer left them: only what changed since read_all is written,
    and committed (the lines are the visitor's, whatever else the request does)."""
    read = _load()
    after = {day: {product: quantity for product, quantity in items.items() if quantity > 0}
             for day, items in baskets.items()}
    after = {day: items for day, items in after.items() if items}
    key = _basket_key()
    if key is None and not after:
        session.pop(KEY, None)  # an old cookie's basket emptied: nothing to keep
        return
    if key is None:
        key = _new_key()
        session[KEY] = key
    services.save_basket_changes(key, read.stored, after)
    db.session.commit()
    read.baskets, read.stored = _copy(after), _copy(after)


def take(day_id: int) -> dict[int, int]:
    """One day's basket for a checkout, taken off the server in its transaction (an old cookie's
    basket, with no lines on the server, as read): see services.take_basket_lines."""
    key = _basket_key()
    if key is None:
        return read(day_id)
    taken = services.take_basket_lines(key, day_id)
    # Gone from the server already: the write_all after the order deletes nothing more (and
    # after a rollback, one would write the lines back as they are again).
    _load().stored.pop(day_id, None)
    return taken


def renew_key_at_login(_sender, **_extra) -> None:
    """Flask-Login's user_logged_in: the basket's lines go under a fresh key. The old key may be
    known to whoever planted the session before the login; committed at once, as write_all is."""
    key = _basket_key()
    if key is None:
        return
    fresh = secrets.token_urlsafe(32)
    services.move_basket(key, fresh)
    db.session.commit()
    session[KEY] = fresh
    request.environ.pop(ENVIRON_KEY, None)


def count() -> int:
    """How many lines all the baskets hold (the header's badge): no query without a basket key,
    none either when this request has read the baskets already."""
    read = request.environ.get(ENVIRON_KEY)
    if read is not None:
        return sum(len(items) for items in read.baskets.values())
    key = _basket_key()
    return queries.basket_line_count(key) if key is not None else 0
