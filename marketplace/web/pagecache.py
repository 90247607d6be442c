"""A short-lived cache of the catalog pages anonymous visitors see.

The hour before a Saturday market, most requests are phones browsing the catalog before
logging in: the same few pages, over and over. Each gunicorn worker keeps the pages it
rendered for visitors without cookies and serves them again while nothing they show can
have changed:

- Any write to a table the catalog shows (products, offers, producers, markets, market
  days, vendors, certificates, reviews, ...) bumps a version shared by every worker on
  the host (a small file in the instance folder), when the statement runs and again when
  its transaction commits; a page rendered under an older version is not served again.
  The writes are seen at the engine, so ORM flushes, bulk UPDATEs (the stock reservations
  of a checkout) and Core statements all count.
- What changes with the clock alone (an ordering window opening or closing, a certificate
  expiring at midnight, a market day passing) is bounded by a short lifetime,
  PAGE_CACHE_SECONDS (10 s by default, 0 turns the cache off; off under testing).
- Only GET requests of anonymous visitors are served from or stored in the cache: no
  login (session or remember cookie), no basket, no flashed message — a session holding at
  most its CSRF token. Pages carry a form token (the language switcher, the basket form):
  it is stored as a placeholder and each visitor gets their own token in its place, so a
  token is never shown to another visitor. Only 200 responses that set no cookie of their
  own are kept. The key is the full path with its query string and the page's locale.

Hosts behind one proxy each have their own version file; across hosts a page is at most
PAGE_CACHE_SECONDS old. `init_app` connects the listeners to the app's own engine and
request hooks; nothing happens at import.
"""
from __future__ import annotations

import os
import re
import time
from collections import OrderedDict

from flask import Flask, current_app, g, request, session
from flask.globals import request_ctx
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.exc import InvalidRequestError

from marketplace.core.extensions import db

#: Endpoints whose pages are the same for every anonymous visitor.
CACHED_ENDPOINTS = frozenset({"catalog.home", "catalog.products", "catalog.product", "catalog.producer",
                              "catalog.markets", "catalog.market"})
#: Tables whose rows appear on those pages (directly, or through counts and trust figures).
CATALOG_TABLES = frozenset({"product", "product_photo", "image", "producer", "category", "offer", "market",
                            "market_day", "market_schedule", "market_organizer", "vendor", "certification",
                            "review"})
#: Session keys an anonymous visitor may have and still get a cached page.
ANONYMOUS_SESSION_KEYS = frozenset({"csrf_token", "_fresh", "_permanent"})
#: Where the visitor's CSRF token goes in a stored page (no token can look like this).
TOKEN_PLACEHOLDER = b"\x00pagecache-csrf-token\x00"
MAX_ENTRIES = 2000
DEFAULT_SECONDS = 10

_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


def version_file(app: Flask) -> str:
    """PAGE_CACHE_VERSION_FILE, else a file in the instance folder (shared by the host's workers)."""
    return app.config.get("PAGE_CACHE_VERSION_FILE") or os.path.join(app.instance_path, "catalog-cache-version")


def bump(path: str) -> None:
    """Invalidate every page cached under this version file (by any worker of the host)."""
    # A fresh value written atomically: readers see the old or the new one, never half.
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w") as handle:
            handle.write(f"{time.time_ns()}-{os.getpid()}")
        os.replace(temporary, path)
    except FileNotFoundError:
        pass  # its folder is gone (a test's temporary folder): no cache reads it any more


def current_version(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


class PageCache:
    """Rendered pages of one app in one process, least recently used first out."""

    def __init__(self, app: Flask):
        self.path = version_file(app)
        self.entries: OrderedDict = OrderedDict()
        if not os.path.exists(self.path):
            bump(self.path)

    def get(self, key):
        entry = self.entries.get(key)
        if entry is None:
            return None
        version, expires, response = entry
        if time.monotonic() >= expires or version != current_version(self.path):
            self.entries.pop(key, None)
            return None
        self.entries.move_to_end(key)
        return response

    def put(self, key, version: str, seconds: float, response) -> None:
        self.entries[key] = (version, time.monotonic() + seconds, response)
        self.entries.move_to_end(key)
        while len(self.entries) > MAX_ENTRIES:
            self.entries.popitem(last=False)


def init_app(app: Flask) -> None:
    """Serve and store anonymous catalog pages, and watch the app's engine for catalog writes."""
    with app.app_context():
        _watch_catalog_writes(db.engine, app)
    app.before_request(_serve_cached)
    app.after_request(_store)


def _watch_catalog_writes(engine, app: Flask) -> None:
    # Seen at the engine, so ORM flushes, bulk UPDATEs (a checkout's stock reservations) and
    # Core statements all count; bumped when the statement runs and again at its commit.
    @event.listens_for(engine, "before_cursor_execute")
    def _note_catalog_write(conn, _cursor, statement, _parameters, _context, _executemany):
        match = _WRITE.match(statement)
        if match and match.group(1).lower() in CATALOG_TABLES:
            conn.info["catalog_written"] = True
            bump(version_file(app))

    @event.listens_for(engine, "commit")
    def _committed(conn):
        if conn.info.pop("catalog_written", False):
            bump(version_file(app))

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn):
        try:
            conn.info.pop("catalog_written", None)
        except InvalidRequestError:
            pass  # the connection is being invalidated (a failed or interrupted statement): nothing to keep


def _seconds() -> float:
    default = 0 if current_app.testing else DEFAULT_SECONDS
    return float(current_app.config.get("PAGE_CACHE_SECONDS", os.environ.get("PAGE_CACHE_SECONDS", default)))


def _cache() -> PageCache:
    cache = current_app.extensions.get("pagecache")
    if cache is None:
        cache = current_app.extensions["pagecache"] = PageCache(current_app)
    return cache


def _key():
    return request.full_path, str(get_locale())


def _anonymous() -> bool:
    return ("remember_token" not in request.cookies and set(session.keys()) <= ANONYMOUS_SESSION_KEYS
            and not request_ctx.flashes)


def _serve_cached():
    if request.method != "GET" or request.endpoint not in CACHED_ENDPOINTS or not _anonymous():
        return None
    seconds = _seconds()
    if seconds <= 0:
        return None
    cache = _cache()
    # The version is read before the page is rendered: a write during rendering makes the
    # stored page old at once instead of letting it pass for new.
    g.pagecache_version = current_version(cache.path)
    cached = cache.get(_key())
    if cached is not None:
        status, headers, body = cached
        if TOKEN_PLACEHOLDER in body:
            body = body.replace(TOKEN_PLACEHOLDER, generate_csrf().encode())
        return current_app.response_class(body, status=status, headers=headers)
    g.pagecache_seconds = seconds
    return None


def _store(response):
    seconds = g.pop("pagecache_seconds", None)
    if (seconds is None or response.status_code != 200 or response.direct_passthrough
            or "Set-Cookie" in response.headers or not _anonymous()):
        return response
    body = response.get_data()
    token = g.get("csrf_token")
    if token:
        body = body.replace(token.encode(), TOKEN_PLACEHOLDER)
    headers = [(name, value) for name, value in response.headers.items() if name.lower() != "content-length"]
    _cache().put(_key(), g.pagecache_version, seconds, (response.status_code, headers, body))
    return response
