"""The customer side: home, products, markets (read-only)."""
from flask import Blueprint, render_template

from marketplace.catalog import queries

bp = Blueprint("catalog", __name__)


@bp.route("/")
def home():
    return render_template(
        "catalog/home.html",
        market_days=queries.upcoming_market_days(),
        markets=queries.active_markets(),
        categories=queries.top_categories(),
        producers=queries.featured_producers(),
    )


@bp.route("/markets")
def markets():
    return render_template("catalog/markets.html", markets=queries.active_markets(),
                           market_days=queries.upcoming_market_days(limit=30))


@bp.route("/products")
def products():
    from flask import current_app, request

    page_number = request.args.get("page", 1, type=int) or 1
    q = request.args.get("q", "")[:200]
    page = queries.product_page(q, max(page_number, 1), current_app.config["PAGE_SIZE"])
    return render_template("catalog/products.html", page=page, q=q)
