"""Reference data kept per worker: the active markets, the categories, the coming market days.

Every product list page shows them (filters, the market switch) and they almost never change,
yet reading them cost a fifth of an uncached page (100 markets at country scale). Each worker
keeps what it read under the page cache's catalog version (`web.pagecache`: shared by every
worker and host, bumped by any write to a catalog table: market, category, market day, ...),
so a write anywhere is seen on the next request everywhere. What changes with the clock alone
(a market day passing) is bounded by a short lifetime, REFERENCE_DATA_SECONDS (10 s by default,
as the page cache's; 0 turns it off). When the shared cache cannot be reached the data is read
from the database as before: never stale.

Off under testing by default, like the page cache: many tests move the clock or write rows a
page then reads, and a lifetime measured by the real clock would make them depend on timing.
tests/catalog/test_reference_data.py turns it on and proves that writes are seen at once, on
both databases and across two apps sharing one version.

Only immutable values may be kept (frozen dataclasses, tuples): they are shared by every
request of the worker, so ORM objects bound to one request's session must never be kept.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, current_app, g

from marketplace.web.pagecache import shared_version

T = TypeVar("T")

DEFAULT_SECONDS = 10
#: Keys are few (a handful of lists, and the market days of each market), but a key can come from
#: a query string (a market's slug): the oldest leave first.
MAX_ENTRIES = 500


@dataclass(frozen=True)
class _Entry:
    version: str
    expires: float
    value: object


class ReferenceCache:
    """Values of one app in one process by key, least recently used first out."""

    def __init__(self):
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, version: str):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry.version != version or time.monotonic() >= entry.expires:
                return None
            self.entries.move_to_end(key)
            return entry

    def put(self, key, entry: _Entry) -> None:
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                self.entries.popitem(last=False)


def _cache(app: Flask) -> ReferenceCache:
    kept = app.extensions.get("reference-data")
    if kept is None:
        kept = app.extensions["reference-data"] = ReferenceCache()
    return kept


def _seconds(app: Flask) -> float:
    default = 0 if app.testing else DEFAULT_SECONDS
    return float(app.config.get("REFERENCE_DATA_SECONDS", os.environ.get("REFERENCE_DATA_SECONDS") or default))


def _catalog_version() -> str | None:
    """This request's catalog version, read from the shared cache once at most: the page cache's
    reading when it made one (an anonymous visitor's page), else the first time it is needed.
    Read before any data is loaded, so data loaded during a write is kept under the version the
    write's commit bumps again."""
    versions = g.get("pagecache_versions")
    if versions is not None:
        return versions[0]
    if "reference_version" not in g:
        versions = shared_version(current_app).current()
        g.reference_version = versions[0] if versions is not None else None
    return g.reference_version


def reference_data(key: tuple, load: Callable[[], T]) -> T:
    """`load()`'s value, kept in this worker while the catalog version stays the same and its
    lifetime lasts. `key` names the value and its arguments; the value must be immutable."""
    seconds = _seconds(current_app)
    version = _catalog_version() if seconds > 0 else None
    if version is None:
        return load()
    kept = _cache(current_app)
    entry = kept.get(key, version)
    if entry is None:
        entry = _Entry(version, time.monotonic() + seconds, load())
        kept.put(key, entry)
    return entry.value
