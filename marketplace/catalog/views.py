"""The customer side: home, product list and page, producer and market pages (read-only)."""
from flask import Blueprint, abort, current_app, render_template, request

from marketplace.catalog import queries
from marketplace.catalog.filters import (
    KIND_LABELS,
    KIND_SINGULAR,
    MAX_PAGE,
    SORTS,
    ProductFilters,
    clean_text,
    describe,
    market_day_label,
    shoppers_market,
)
from marketplace.core.db import utcnow
from marketplace.search.queries import plan_search
from marketplace.trust.models import CertificationScheme
from marketplace.web.args import page_arg
from marketplace.web.security import search_throttle

bp = Blueprint("catalog", __name__)


@bp.route("/")
def home():
    producers = queries.featured_producers()
    return render_template(
        "catalog/home.html",
        market_days=queries.upcoming_market_days(limit=6),
        categories=queries.top_categories(),
        producers=producers, badges=queries.active_badges(p.id for p in producers),
    )


@bp.route("/products")
@search_throttle
def products():
    filters = ProductFilters.from_args(request.args)
    plan = plan_search(filters.q) if filters.q else queries.NO_SEARCH
    markets = queries.market_choices()
    page = queries.product_page(filters, current_app.config["PAGE_SIZE"], plan,
                                shoppers_market(filters, request.cookies, markets))
    categories = queries.all_categories()
    market_days = queries.upcoming_market_days(limit=30, market_slug=filters.market)
    return render_template(
        "catalog/products.html", filters=filters, page=page, plan=plan, sorts=SORTS, kinds=KIND_LABELS,
        badge_schemes=[s.value for s in CertificationScheme], day_label=market_day_label,
        categories=categories, markets=markets, market_days=market_days,
        labels=describe(filters, categories, markets, market_days, page.pagination.items),
    )


@bp.route("/products/<int:product_id>")
def product(product_id: int):
    item = queries.listed_product(product_id)
    if item is None:
        abort(404)
    return render_template(
        "catalog/product.html", product=item, availability=queries.product_availability(item),
        badges=queries.active_badges([item.producer_id])[item.producer_id], now=utcnow(),
    )


@bp.route("/producers/<slug>")
def producer(slug: str):
    item = queries.listed_producer(clean_text(slug, 140))
    if item is None:
        abort(404)
    return render_template(
        "catalog/producer.html", producer=item, kind_label=KIND_SINGULAR.get(item.kind.value, ""),
        badges=queries.active_badges([item.id])[item.id],
        products=queries.producer_products(item, page_arg(MAX_PAGE), current_app.config["PAGE_SIZE"]),
        vendors=queries.producer_markets(item),
    )


@bp.route("/markets")
def markets():
    items = queries.active_markets()
    return render_template("catalog/markets.html", markets=items,
                           next_days=queries.next_day_per_market(items))


@bp.route("/markets/<slug>")
def market(slug: str):
    item = queries.market_by_slug(clean_text(slug, 140))
    if item is None:
        abort(404)
    days = queries.upcoming_market_days(limit=4, market_id=item.id)
    producers = queries.market_vendors(item)
    return render_template(
        "catalog/market.html", market=item, offerings=queries.market_day_offerings(item, days),
        producers=producers, badges=queries.active_badges(p.id for p in producers),
    )
