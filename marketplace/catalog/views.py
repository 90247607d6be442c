"""The customer side: home, product list and page, producer and market pages (read-only)."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from marketplace.catalog import listing, mymarket, queries
from marketplace.catalog.filters import KIND_SINGULAR, MAX_PAGE, clean_text
from marketplace.core.db import utcnow
from marketplace.follows import queries as follows
from marketplace.orders.forms import ActionForm
from marketplace.web.args import page_arg
from marketplace.web.headers import is_safe_next_url
from marketplace.web.security import search_throttle

bp = Blueprint("catalog", __name__)


@bp.route("/")
def home():
    markets = queries.active_markets()
    mine = listing.my_market(markets, request.cookies, str(get_locale()))
    week = queries.market_day_offerings(mine.market, [mine.next_day], cap=12) if mine.next_day else []
    producers = queries.market_vendors(mine.market)[:6] if mine.market else queries.featured_producers()
    return render_template(
        "catalog/home.html", markets=markets, mine=mine, week=week[0] if week else None,
        market_days=[] if mine.market else queries.upcoming_market_days(limit=6),
        categories=queries.top_categories(),
        producers=producers, badges=queries.active_badges(p.id for p in producers),
    )


@bp.route("/my-market", methods=["POST"])
def choose_market():
    """Remember the visitor's market (a preference, like the language: a cookie, not the session)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    market = queries.market_by_slug(clean_text(request.form.get("market"), 140))
    if market is None:
        abort(404)
    target = request.form.get("next")
    response = redirect(target if is_safe_next_url(target) else url_for("catalog.home"))
    response.set_cookie(mymarket.COOKIE, market.slug, max_age=mymarket.COOKIE_MAX_AGE, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False), httponly=True)
    return response


@bp.route("/products")
@search_throttle
def products():
    context = listing.product_list_page(request.args, request.cookies, str(get_locale()),
                                        current_app.config["PAGE_SIZE"])
    return render_template("catalog/products.html", **context)


@bp.route("/products/<int:product_id>")
def product(product_id: int):
    item = queries.listed_product(product_id)
    if item is None:
        abort(404)
    availability = queries.product_availability(item)
    orderable = [a for a in availability if a.orderable]
    mine = request.cookies.get(mymarket.COOKIE, "")
    chosen = next((a for a in orderable if a.day.market.slug == mine), orderable[0] if orderable else None)
    return render_template(
        "catalog/product.html", product=item, availability=availability, orderable=orderable, chosen=chosen,
        badges=queries.active_badges([item.producer_id])[item.producer_id], now=utcnow(),
        more=queries.more_from_producer(item),
        favourite=current_user.is_authenticated and follows.is_favourite(current_user.id, item.id),
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
        following=current_user.is_authenticated and follows.follows_producer(current_user.id, item.id),
    )


@bp.route("/markets")
def markets():
    items = queries.active_markets()
    return render_template("catalog/markets.html", markets=items,
                           next_days=queries.next_day_per_market(items),
                           mine=request.cookies.get(mymarket.COOKIE, ""))


@bp.route("/markets/<slug>")
def market(slug: str):
    item = queries.market_by_slug(clean_text(slug, 140))
    if item is None:
        abort(404)
    days = queries.upcoming_market_days(limit=4, market_id=item.id)
    producers = queries.market_vendors(item)
    return render_template(
        "catalog/market.html", market=item, offerings=queries.market_day_offerings(item, days),
        # A group's PGS badge shows here only when this market's organizers count the group.
        producers=producers, badges=queries.active_badges((p.id for p in producers), market_id=item.id),
        mine=request.cookies.get(mymarket.COOKIE, ""),
        following=current_user.is_authenticated and follows.follows_market(current_user.id, item.id),
    )
