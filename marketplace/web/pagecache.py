"""A short-lived cache of the catalog pages anonymous visitors see.

The hour before a Saturday market, most requests are phones browsing the catalog before
logging in: the same few pages, over and over. Each gunicorn worker keeps the pages it
rendered for visitors without cookies and serves them again while nothing they show can
have changed:

- Any write to a table the catalog shows (products, offers, producers, markets, market
  days, vendors, certificates, reviews, ...) bumps the catalog version kept in the shared
  cache (Flask-Caching: Redis when REDIS_URL is set, so every worker of every host sees it
  at once; else a folder in the instance folder, shared by the host's workers; in-process
  under testing), when the statement runs and again when its transaction commits; a page
  rendered under an older catalog version is not served again.
  The writes are seen at the engine, so ORM flushes, bulk UPDATEs and Core statements all
  count.
- A checkout's reservation changes what is left, not the catalog: its statement carries
  `core.changes.STOCK_ONLY` and bumps the stock version instead. Figures that follow stock
  ("7 kg left") are live figures (`add_live_figure`, `live_figure`): a stored page keeps a
  marker for each, with the value it was rendered with, and a hit after the stock version
  moved reads those values again (one primary-key query per kind) and fills them in. A
  figure that crossed zero (sold out, or back) has the page rendered anew; a reservation
  that sells out also marks its transaction (`core.changes.mark_catalog_changed`), so lists
  that leave sold-out products out are rendered anew as well.
- What changes with the clock alone (an ordering window opening or closing, a certificate
  expiring at midnight, a market day passing) is bounded by a short lifetime,
  PAGE_CACHE_SECONDS (10 s by default, 0 turns the cache off; off under testing).
- Only GET requests of anonymous visitors are served from or stored in the cache: no
  login (session or remember cookie), no basket (its key, once a line was added: the badge
  counts its lines), no flashed message — a session holding at
  most its CSRF token. Pages carry a form token (the language switcher, the basket form):
  it is stored as a placeholder and each visitor gets their own token in its place, so a
  token is never shown to another visitor. Only 200 responses that set no cookie of their
  own are kept. The key is the full path with its query string and the page's locale.

When the shared cache cannot be reached (Redis down), pages are neither served from nor
stored in the cache for a few seconds at a time: always fresh, never stale. `init_app`
connects the listeners to the app's own engine and request hooks; nothing happens at import.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import time
from collections import OrderedDict

from dataclasses import dataclass, replace

from flask import Flask, current_app, g, request, session
from flask.globals import request_ctx
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import event
from sqlalchemy.exc import InvalidRequestError

from marketplace.core.changes import CATALOG_CHANGED, STOCK_CHANGED, STOCK_ONLY
from marketplace.core.extensions import cache, db

log = logging.getLogger(__name__)

#: Endpoints whose pages are the same for every anonymous visitor.
CACHED_ENDPOINTS = frozenset({"catalog.home", "catalog.products", "catalog.product", "catalog.producer",
                              "catalog.markets", "catalog.market"})
#: Tables whose rows appear on those pages (directly, or through counts and trust figures);
#: a higher feature whose facts these pages show adds its own with `add_catalog_tables`.
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


VERSION_KEY = "pagecache-version"
STOCK_VERSION_KEY = "pagecache-stock-version"
#: A live figure's place in a stored page: NUL, a random word drawn for each rendering, the
#: figure's number, NUL. The word is what makes it ours: a raw NUL in the query string reaches
#: the page (the language switcher's "next" is request.full_path), and "\x00fig99\x00" there was
#: read as a marker (a 500, or a stock figure put into the form).
_FIGURE = re.compile(rb"\x00fig([0-9a-f]+)-(\d+)\x00")
#: After the shared cache failed, this process leaves it alone for so many seconds.
PAUSE_AFTER_FAILURE = 5.0


def cache_config(app: Flask) -> dict:
    """Flask-Caching's settings: CACHE_TYPE when set; else Redis with REDIS_URL, in-process under
    testing, and a folder in the instance folder (shared by one host's workers) otherwise."""
    config = app.config
    if config.get("CACHE_TYPE"):
        return {}
    if config.get("REDIS_URL"):
        timeout = config.get("REDIS_TIMEOUT_SECONDS", 0.5)
        return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": config["REDIS_URL"], "CACHE_KEY_PREFIX": "aimak:",
                "CACHE_OPTIONS": {"socket_timeout": timeout, "socket_connect_timeout": timeout}}
    if config.get("TESTING"):
        return {"CACHE_TYPE": "SimpleCache"}
    return {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": os.path.join(app.instance_path, "cache")}


class SharedVersion:
    """The catalog's and the stock's versions in the shared cache; None while it cannot be reached."""

    def __init__(self, app: Flask):
        self.app = app
        self.paused_until = 0.0

    def _backend(self):
        return self.app.extensions["cache"][cache]

    def _failed(self, exc: Exception) -> None:
        if time.monotonic() >= self.paused_until:
            log.warning("Page cache off for %s s: the shared cache failed: %s", PAUSE_AFTER_FAILURE, exc)
        self.paused_until = time.monotonic() + PAUSE_AFTER_FAILURE

    def bump(self, key: str = VERSION_KEY) -> None:
        """Invalidate every page cached under the current catalog version (or refill the live
        figures of pages stored under the current stock version), on every worker and host."""
        if time.monotonic() < self.paused_until:
            return
        try:
            self._backend().set(key, f"{time.time_ns()}-{os.getpid()}-{secrets.token_hex(4)}", timeout=0)
        except Exception as exc:  # noqa: BLE001 - Redis down: pages are not cached meanwhile
            self._failed(exc)

    def bump_stock(self) -> None:
        self.bump(STOCK_VERSION_KEY)

    def current(self) -> tuple[str, str] | None:
        """(catalog version, stock version), read in one round trip."""
        if time.monotonic() < self.paused_until:
            return None
        try:
            versions = self._backend().get_many(VERSION_KEY, STOCK_VERSION_KEY)
            if None in versions:
                for key, version in zip((VERSION_KEY, STOCK_VERSION_KEY), versions):
                    if version is None:
                        self.bump(key)
                versions = self._backend().get_many(VERSION_KEY, STOCK_VERSION_KEY)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return None
        return None if None in versions else (versions[0], versions[1])


def shared_version(app: Flask) -> SharedVersion:
    version = app.extensions.get("pagecache-version")
    if version is None:
        version = app.extensions["pagecache-version"] = SharedVersion(app)
    return version


@dataclass(frozen=True)
class Entry:
    """A stored page: `template` holds a marker per live figure, `body` the figures filled in."""

    version: str
    stock: str
    expires: float
    status: int
    headers: list
    template: bytes
    figures: tuple  # (kind, id, value, args) per marker, in marker order
    body: bytes
    marker: str = ""  # the random word of this page's markers


class PageCache:
    """Rendered pages of one app in one process, least recently used first out."""

    def __init__(self, app: Flask):
        self.version = shared_version(app)
        self.entries: OrderedDict = OrderedDict()

    def get(self, key, current: str) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry.expires or entry.version != current:
            self.entries.pop(key, None)
            return None
        self.entries.move_to_end(key)
        return entry

    def put(self, key, entry: Entry) -> None:
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > MAX_ENTRIES:
            self.entries.popitem(last=False)

    def drop(self, key) -> None:
        self.entries.pop(key, None)


# --- Live figures ----------------------------------------------------------------------

def add_live_figure(app: Flask, kind: str, load, render) -> None:
    """A figure that changes more often than the page around it (what is left of a product).

    `load(ids)` returns {id: value} for the ids still there; `render(value, *args)` the text
    shown (plain text, escaped here). A feature registers its kinds in `register(app)` and
    writes them with `live_figure(kind, id, value, *args)`.
    """
    app.extensions.setdefault("pagecache_live", {})[kind] = (load, render)


def live_figure(kind: str, id_: int, value, *args) -> Markup:
    """The figure's text; while a page is rendered to be cached, a marker the cache fills in."""
    _load, render = current_app.extensions["pagecache_live"][kind]
    if g.get("pagecache_seconds") is None:
        return escape(render(value, *args))
    figures = g.setdefault("pagecache_figures", [])
    figures.append((kind, id_, value, args))
    marker = g.setdefault("pagecache_marker", secrets.token_hex(8))
    return Markup(f"\x00fig{marker}-{len(figures) - 1}\x00")


def _fill(template: bytes, figures, marker: str) -> bytes:
    live = current_app.extensions["pagecache_live"]
    texts = [str(escape(live[kind][1](value, *args))).encode() for kind, _id, value, args in figures]
    ours = marker.encode()
    # One pattern for every rendering (not compiled per marker): a match with another word is
    # not ours and stays as it came.
    return _FIGURE.sub(lambda match: texts[int(match.group(2))] if match.group(1) == ours else match.group(0),
                       template)


def _refreshed(entry: Entry, stock: str) -> Entry | None:
    """The entry with its figures read again under this stock version; None when one crossed
    zero (sold out, or back), which changes more of the page than the figure."""
    live = current_app.extensions["pagecache_live"]
    current = {}
    for kind in {kind for kind, *_rest in entry.figures}:
        ids = sorted({id_ for figure_kind, id_, _value, _args in entry.figures if figure_kind == kind})
        current[kind] = live[kind][0](ids)
    figures = []
    for kind, id_, value, args in entry.figures:
        now = current[kind].get(id_)
        if now is None or (now > 0) != (value > 0):
            return None
        figures.append((kind, id_, now, args))
    figures = tuple(figures)
    body = entry.body if figures == entry.figures else _fill(entry.template, figures, entry.marker)
    return replace(entry, stock=stock, figures=figures, body=body)


def add_catalog_tables(app: Flask, *names: str) -> None:
    """A feature's tables whose rows the cached pages show (through template globals): a write to
    one renders those pages anew, as a write to the catalog's own tables does."""
    app.extensions["pagecache_tables"] = app.extensions.get("pagecache_tables", CATALOG_TABLES) | set(names)


#: Lifetimes read from the config or the environment on every request; checked once at start.
LIFETIME_SETTINGS = ("PAGE_CACHE_SECONDS", "REFERENCE_DATA_SECONDS")


def check_lifetimes(app: Flask) -> None:
    """Refuse to start on a lifetime that is not a finite number of seconds ≥ 0: read as it was,
    "10s" made every page a 500 at its first float(), and a negative one a cache that never
    keeps anything, with no word of why."""
    for name in LIFETIME_SETTINGS:
        value = app.config.get(name, os.environ.get(name) or None)
        if value is None:
            continue
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = float("nan")
        if not (0 <= seconds < float("inf")):
            raise ValueError(f"{name} must be a number of seconds, 0 or more (0 turns it off); got {value!r}")


def init_app(app: Flask) -> None:
    """Serve and store anonymous catalog pages, and watch the app's engine for catalog writes."""
    check_lifetimes(app)
    cache.init_app(app, config=cache_config(app))
    with app.app_context():
        _watch_catalog_writes(db.engine, app)
    app.before_request(_serve_cached)
    app.after_request(_store)


def _watch_catalog_writes(engine, app: Flask) -> None:
    # Seen at the engine, so ORM flushes, bulk UPDATEs and Core statements all count; bumped
    # when the statement runs and again at its commit. A reservation (STOCK_ONLY) bumps the
    # stock version only; a transaction the services mark (a sell-out) the catalog's at commit.
    @event.listens_for(engine, "before_cursor_execute")
    def _note_catalog_write(conn, _cursor, statement, _parameters, context, _executemany):
        match = _WRITE.match(statement)
        if not match or match.group(1).lower() not in app.extensions.get("pagecache_tables", CATALOG_TABLES):
            return
        if context is not None and context.execution_options.get(STOCK_ONLY):
            conn.info[STOCK_CHANGED] = True
            shared_version(app).bump_stock()
        else:
            conn.info[CATALOG_CHANGED] = True
            shared_version(app).bump()

    @event.listens_for(engine, "commit")
    def _committed(conn):
        if conn.info.pop(CATALOG_CHANGED, False):
            shared_version(app).bump()
        if conn.info.pop(STOCK_CHANGED, False):
            shared_version(app).bump_stock()

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn):
        try:
            conn.info.pop(CATALOG_CHANGED, None)
            conn.info.pop(STOCK_CHANGED, None)
        except InvalidRequestError:
            pass  # the connection is being invalidated (a failed or interrupted statement): nothing to keep


def _seconds() -> float:
    default = 0 if current_app.testing else DEFAULT_SECONDS
    return float(current_app.config.get("PAGE_CACHE_SECONDS", os.environ.get("PAGE_CACHE_SECONDS") or default))


def _cache() -> PageCache:
    pages = current_app.extensions.get("pagecache")
    if pages is None:
        pages = current_app.extensions["pagecache"] = PageCache(current_app)
    return pages


def vary_on_cookies(app: Flask, *names: str) -> None:
    """A feature whose pages depend on a cookie of its own (catalog: the visitor's market) has the
    cache keep a page per value of it, as it keeps one per language."""
    app.extensions.setdefault("pagecache_vary_cookies", []).extend(names)


def _key():
    cookies = current_app.extensions.get("pagecache_vary_cookies", ())
    return (request.full_path, str(get_locale()), *(request.cookies.get(name, "")[:200] for name in cookies))


def _anonymous() -> bool:
    return (current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") not in request.cookies and set(session.keys()) <= ANONYMOUS_SESSION_KEYS
            and not request_ctx.flashes)


def _serve_cached():
    if request.method != "GET" or request.endpoint not in CACHED_ENDPOINTS or not _anonymous():
        return None
    seconds = _seconds()
    if seconds <= 0:
        return None
    pages = _cache()
    # The versions are read before the page is rendered: a write during rendering makes the
    # stored page old at once instead of letting it pass for new.
    versions = pages.version.current()
    if versions is None:
        return None  # the shared cache is away: render, and keep nothing
    g.pagecache_versions = versions
    key = _key()
    entry = pages.get(key, versions[0])
    if entry is not None and entry.stock != versions[1]:
        entry = _refreshed(entry, versions[1]) if entry.figures else replace(entry, stock=versions[1])
        if entry is None:
            pages.drop(key)
        else:
            pages.put(key, entry)
    if entry is not None:
        body = entry.body
        if TOKEN_PLACEHOLDER in body:
            body = body.replace(TOKEN_PLACEHOLDER, generate_csrf().encode())
        return current_app.response_class(body, status=entry.status, headers=entry.headers)
    g.pagecache_seconds = seconds
    return None


def _store(response):
    seconds = g.pop("pagecache_seconds", None)
    figures = tuple(g.pop("pagecache_figures", ()))
    marker = g.pop("pagecache_marker", "")
    template = None
    if figures and not response.direct_passthrough:
        template = response.get_data()
        response.set_data(_fill(template, figures, marker))
    if (seconds is None or response.status_code != 200 or response.direct_passthrough
            or "Set-Cookie" in response.headers or not _anonymous()):
        return response
    body = response.get_data()
    token = g.get("csrf_token")
    if token:
        body = body.replace(token.encode(), TOKEN_PLACEHOLDER)
        template = template.replace(token.encode(), TOKEN_PLACEHOLDER) if template is not None else None
    headers = [(name, value) for name, value in response.headers.items() if name.lower() != "content-length"]
    catalog, stock = g.pagecache_versions
    _cache().put(_key(), Entry(catalog, stock, time.monotonic() + seconds, response.status_code, headers,
                               template if template is not None else body, figures, body, marker))
    return response
