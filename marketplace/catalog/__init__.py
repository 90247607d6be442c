"""The catalog: what customers browse and search (read-only)."""
from __future__ import annotations

from flask import Flask

from marketplace.catalog import mymarket, queries, stock, views
from marketplace.search.queries import set_product_check
from marketplace.web.pagecache import vary_on_cookies
from marketplace.web.templating import add_template_globals


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    # Home and lists show the visitor's market first: a cached page is kept per market cookie.
    vary_on_cookies(app, mymarket.COOKIE)
    add_template_globals(app, market_switch_key=mymarket.market_switch_key)
    # What is left of a product is filled into cached pages after a sale (web.pagecache).
    stock.register(app)
    # Suggestions as you type (search's endpoint) offer only what leads to products on sale.
    set_product_check(app, queries.searches_finding_products)
