"""The ceiling: the product list's page 1 rendered from memory, with no database work.

It is our real application (same templates, macros, filters, locale selection, security
headers) with one extra route, `/ceiling`, that renders `catalog/products.html` with the
24 product cards, badges, categories, markets and market days that `/products` shows (the
view's own `catalog.listing.product_list_page`) — loaded once at start-up, then kept as plain detached objects. So the HTML is the same page
and the only difference from `/products` is the per-request database work and the Python
that drives it: the ratio to this route says what our queries cost.

    gunicorn 'bench.ceiling:create_ceiling_app()'
"""
from __future__ import annotations

from flask import current_app, render_template, request

from marketplace import create_app
from marketplace.catalog.listing import product_list_page
from marketplace.core.extensions import db


def create_ceiling_app(config=None):
    app = create_app(config)
    with app.test_request_context("/products"):
        captured = _products_page_data()

    @app.route("/ceiling")
    def ceiling():
        return render_template("catalog/products.html", **captured)

    return app


def _products_page_data() -> dict:
    """What the catalog's product list view passes to its template, loaded once."""
    data = product_list_page(request.args, request.cookies, "en", current_app.config["PAGE_SIZE"])
    # Render once while the session is open, so every attribute the page reads is loaded;
    # then detach everything: later renders cannot reach the database.
    render_template("catalog/products.html", **data)
    db.session.expunge_all()
    db.session.remove()
    return data
