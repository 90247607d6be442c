"""Pieces of pages rendered once and reused: a product card, a filter's option list.

A fragment is kept under a key made of everything it shows (a card's name, price, photo,
producer and badges, the page's locale), so a change to any of them is a new key and the
old fragment is never served again: nothing has to invalidate it, and no write can be
missed. What changes by the minute (the stock figure on a card) stays outside: the fragment
holds a slot, `SLOT`, that the page fills on every request.

The fragments live in each worker's memory, least recently used first out, not in the
shared cache (Flask-Caching, Redis in production): a fragment costs a fraction of a
millisecond to render, less than a round trip to Redis for it, and a key made of content
needs no version shared across workers to stay right.

    {% call fragment(("card", card, badge_key)) %} ... {{ fragment_slot }} ... {% endcall %}
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Flask, current_app, request
from flask_babel import get_locale
from markupsafe import Markup

#: Where a fragment's per-request part goes. User text is escaped ("<" becomes "&lt;"), so no
#: product name or badge issuer can ever contain it.
SLOT = Markup("<!--fragment-slot-->")
MAX_ENTRIES = 5000


class FragmentCache:
    """Rendered fragments of one process by key, least recently used first out."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key) -> Markup | None:
        with self.lock:
            html = self.entries.get(key)
            if html is None:
                self.misses += 1
                return None
            self.hits += 1
            self.entries.move_to_end(key)
            return html

    def put(self, key, html: Markup) -> None:
        with self.lock:
            self.entries[key] = html
            self.entries.move_to_end(key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.hits = self.misses = 0


def fragment_cache(app: Flask) -> FragmentCache:
    return app.extensions["fragments"]


def fragment(key, caller, fill="") -> Markup:
    """The fragment under `key` in this page's locale (rendered by the call block on a miss),
    with its slot filled by `fill`. The key must hold everything the block shows."""
    cache = fragment_cache(current_app)
    # The locale changes every translated word and formatted figure; the script root every link.
    full_key = (key, str(get_locale()), request.script_root)
    html = cache.get(full_key)
    if html is None:
        html = Markup(caller())
        cache.put(full_key, html)
    return Markup(html.replace(SLOT, fill)) if SLOT in html else html


def init_app(app: Flask) -> None:
    app.extensions["fragments"] = FragmentCache(app.config.get("FRAGMENT_CACHE_ENTRIES", MAX_ENTRIES))
    app.jinja_env.globals.update(fragment=fragment, fragment_slot=SLOT)
