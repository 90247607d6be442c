"""What the product list page shows for a query string, a visitor's cookies and language.

One function, so the view and the benchmark's ceiling (bench/ceiling.py, the same page
rendered from memory) cannot drift apart: the ceiling captures exactly what the view renders.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from marketplace.catalog import mymarket, queries
from marketplace.catalog.filters import (
    KIND_LABELS,
    SORTS,
    ProductFilters,
    describe,
    market_day_label,
    shoppers_market,
)
from marketplace.search.queries import plan_search
from marketplace.trust.models import CertificationScheme

BADGE_SCHEMES = [s.value for s in CertificationScheme]


@dataclass(frozen=True)
class FilterChoices:
    """Keys of the filter form's option lists: everything their options show, so a rendered
    list is reused while they stay the same (templates/catalog/products.html)."""

    categories: tuple
    markets: tuple
    market_days: tuple


def filter_choices(categories, markets, market_days) -> FilterChoices:
    return FilterChoices(
        categories=tuple((c.slug, c.name, c.parent_id is not None) for c in categories),
        markets=tuple((m.slug, m.name) for m in markets),
        # What market_day_label shows: the market's name, its zone, the day's hours.
        market_days=tuple((d.id, d.market.name, d.market.timezone, d.opens_at, d.closes_at) for d in market_days),
    )


def my_market(markets, cookies, locale: str) -> mymarket.MyMarket:
    """The visitor's market (the cookie's, else the language's suggestion); no query when neither applies."""
    cookie = cookies.get(mymarket.COOKIE)
    if not cookie and locale not in mymarket.LOCALE_CURRENCY:
        return mymarket.NONE  # nothing chosen, nothing to suggest: no query
    return mymarket.pick(markets, queries.next_shopping_day_per_market(markets), cookie, locale)


def product_list_page(args, cookies, locale: str, page_size: int) -> dict:
    """The product list template's context for these query arguments."""
    filters = ProductFilters.from_args(args)
    markets, categories = queries.active_markets(), queries.all_categories()
    mine = (my_market(markets, cookies, locale)
            if not filters.market_day and filters.market != mymarket.ALL_MARKETS else mymarket.NONE)
    if mine.market and not filters.market:
        filters = replace(filters, market=mine.slug)  # links from this page carry it: they stay on it
    shown_market = next((m for m in markets if m.slug == filters.market), None)
    offers_day = mine.next_day.id if mine.next_day and shown_market is mine.market else None
    plan = plan_search(filters.q) if filters.q else queries.NO_SEARCH
    wanted = filters.for_query()
    page = queries.product_page(wanted, page_size, offers_day=offers_day, plan=plan,
                                market_id=shoppers_market(wanted, cookies, markets))
    market_days = queries.market_day_choices(limit=30, market_slug=wanted.market)
    # A search that finds nothing at one market says what the others have (one count, only then).
    elsewhere = (queries.found_at_other_markets(wanted, plan)
                 if plan and wanted.market and not page.pagination.total else 0)
    # Other searches offered lead to products on sale (a statement each, only when there is one to offer).
    corrected = queries.did_you_mean(plan) if plan else None
    loosened = queries.without_missing_words(wanted, plan) if plan and not page.pagination.total else None
    return dict(
        filters=filters, page=page, elsewhere=elsewhere, sorts=SORTS, kinds=KIND_LABELS,
        badge_schemes=BADGE_SCHEMES, day_label=market_day_label,
        categories=categories, markets=markets, market_days=market_days, mine=mine, corrected=corrected,
        loosened=loosened,
        shown_market=shown_market, offers_day=offers_day, choices=filter_choices(categories, markets, market_days),
        labels=describe(filters, categories, markets, market_days, page.pagination.items),
    )
