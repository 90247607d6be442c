"""The HTTP edge every feature's views use: transactions, access decorators, request arguments, CSV,
and the app-wide parts of a response (error pages, security headers, templating, page cache)."""
from __future__ import annotations

from flask import Flask

from marketplace.web import errors, fragments, headers, health, pagecache, security, templating
from marketplace.web.args import BoundedIntConverter


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    security.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    templating.init_app(app)
    fragments.init_app(app)
    pagecache.init_app(app)
    health.init_app(app)
