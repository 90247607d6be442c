"""Read-only queries for the customer side.

What a customer sees is what is on sale: an active product of a producer who is an
APPROVED vendor of at least one active market. Every page here loads its rows in a
fixed number of queries (eager loading, one badge query per page), whatever its size.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime

from flask_sqlalchemy.pagination import Pagination
from collections.abc import Sequence

from sqlalchemy import and_, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import aliased, contains_eager, joinedload, lazyload, selectinload

from marketplace.catalog.filters import ProductFilters
from marketplace.core.text import words as words_of
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.markets.models import (
    Market,
    MarketDay,
    MarketDayStatus,
    Vendor,
    VendorStatus,
)
from marketplace.markets.services import is_ordering_open, ordering_open_condition
from marketplace.media.models import Image
from marketplace.producers.models import (
    Category,
    Offer,
    Producer,
    Product,
    ProductPhoto,
    StockMode,
    effective_price,
)
from marketplace.search.matching import Alternatives, Part, found, held_each, holds
from marketplace.search.queries import SearchPlan, WordMatch
from marketplace.trust.queries import active_badges, producers_with_badge
from marketplace.web.reference import reference_data

#: The plan of a list without a search.
NO_SEARCH = SearchPlan()

# --- Building blocks ---------------------------------------------------------------

def _approved_vendor(producer_id, market_id=None, market_slug: str | None = None):
    """EXISTS: the producer is an approved vendor of an active market (or of that one)."""
    query = _listed_producer_ids(market_slug).where(Vendor.producer_id == producer_id)
    if market_id is not None:
        query = query.where(Vendor.market_id == market_id)
    return query.exists()


def _listed_producer_ids(market_slug: str | None = None):
    """Ids of producers who are approved vendors of an active market (or of that one)."""
    query = (select(Vendor.producer_id).join(Market, Market.id == Vendor.market_id)
             .where(Vendor.status == VendorStatus.APPROVED, Market.active.is_(True)))
    if market_slug:
        query = query.where(Market.slug == market_slug)
    return query


def _upcoming_day(now: datetime):
    """A market day customers can still come to: scheduled and not over."""
    return and_(MarketDay.status == MarketDayStatus.SCHEDULED, MarketDay.closes_at > now)


# --- Cards: the columns a product card shows ---------------------------------------
#
# The list, search, producer and product pages show products as cards. They read the
# card's columns with one Core statement into small frozen rows, not ORM objects with their
# relationships: no identity map, no lazy loaders, and a row is hashable, so the card's
# rendered fragment is kept under the row itself (web/fragments.py).

@dataclass(frozen=True, slots=True)
class CardImage:
    """The product's first photo, as the img macro reads it."""

    key: str
    width: int
    height: int
    alt: str


@dataclass(frozen=True, slots=True)
class CardProducer:
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class ProductCard:
    """What a product card shows (templates/catalog/_macros.html, product_card)."""

    id: int
    name: str
    price_minor: int
    currency: str
    unit: object
    producer_id: int
    producer: CardProducer
    photo: CardImage | None


@dataclass(frozen=True, slots=True)
class DayOffer:
    """A product's offer on one market day, as a card shows it (its price that day and what is left)."""

    id: int
    product_id: int
    price_minor: int
    available_milli: int


def _first_photo_image_id():
    return (select(ProductPhoto.image_id).where(ProductPhoto.product_id == Product.id)
            .order_by(ProductPhoto.position, ProductPhoto.id).limit(1).correlate(Product).scalar_subquery())


def _card_select():
    """SELECT of a card's columns: the product, its producer, its first photo's image (if any)."""
    return (select(Product.id, Product.name, Product.price_minor, Product.currency, Product.unit,
                   Product.producer_id, Producer.slug, Producer.name, Image.key, Image.width, Image.height,
                   Image.alt)
            .join(Producer, Producer.id == Product.producer_id)
            .outerjoin(Image, Image.id == _first_photo_image_id()))


def _card(row) -> ProductCard:
    (product_id, name, price_minor, currency, unit, producer_id, producer_slug, producer_name,
     image_key, width, height, alt) = row
    photo = CardImage(image_key, width, height, alt) if image_key is not None else None
    return ProductCard(product_id, name, price_minor, currency, unit, producer_id,
                       CardProducer(producer_slug, producer_name), photo)


def product_cards(query) -> list[ProductCard]:
    """Cards for a `_card_select()` narrowed and ordered by the caller."""
    return [_card(row) for row in db.session.execute(query)]


# --- The product list ---------------------------------------------------------------
#
# The list is the busiest page, and at country scale (50,000 products) it must not walk
# every product on each request. So:
# - a page first picks its 24 ids with a narrow query that follows the sort's index and
#   stops at the page's end (a deep OFFSET skips index entries, not whole rows with their
#   descriptions), then loads those 24 rows in full;
# - the total counts product ids only, with no join the filters do not need, from the
#   covering index (producer_id, active, created_at), and stops counting at COUNT_CAP;
# - a search's words are looked up as whole terms of the search column, each with its few
#   alternatives, in an index of terms (GIN on PostgreSQL, FTS5 on SQLite; search.matching).

def _offered_on(day_conditions, market_slug: str, *, with_stock_left: bool, orderable_at: datetime | None = None):
    """Condition: the product is offered on some market day matching `day_conditions` (on
    MarketDay), of an active market (with that slug, if one is given).

    Harvest (per market day) needs an Offer for that day from a producer approved at that
    day's market: an EXISTS per product over its own offers, so a sorted page stops at its
    24th match instead of first listing every open offer (70,000 at country scale); on
    PostgreSQL the (day, approved producer) pairs it is checked against are listed once.
    Standing stock (inventory) is offered on every day of the markets where its producer is
    an approved vendor: those producers are few and are listed once per statement.

    With `orderable_at` (can be ordered at that instant), a harvest product is first compared
    with its `orderable_until` (the latest cutoff of any day it was offered on, indexed): only
    products that pass are checked offer by offer.
    """
    left = Offer.quantity_milli - Offer.reserved_milli if with_stock_left else Offer.quantity_milli
    active_markets = select(Market.id).where(Market.active.is_(True))
    if market_slug:
        active_markets = active_markets.where(Market.slug == market_slug)
    if db.session.get_bind().dialect.name == "postgresql":
        harvest = _offered_per_pair(day_conditions, active_markets, left)
    else:
        harvest = _offered_per_join(day_conditions, active_markets, left)
    standing_producers = (select(Vendor.producer_id)
                          .join(MarketDay, MarketDay.market_id == Vendor.market_id)
                          .where(Vendor.status == VendorStatus.APPROVED, MarketDay.market_id.in_(active_markets),
                                 *day_conditions))
    standing = [Product.stock_mode == StockMode.INVENTORY, Product.producer_id.in_(standing_producers)]
    if with_stock_left:
        standing.append(Product.inventory_milli - Product.inventory_reserved_milli > 0)
    still_orderable = [Product.orderable_until > orderable_at] if orderable_at is not None else []
    return or_(and_(Product.stock_mode == StockMode.PER_MARKET_DAY, *still_orderable, harvest), and_(*standing))


def _offered_per_join(day_conditions, active_markets, left):
    """EXISTS: an offer of the product with something `left`, on a matching day of an active
    market where its producer is approved. SQLite follows indexes per product: the product's
    offers, their day, the vendor row."""
    return (select(Offer.id)
            .join(MarketDay, MarketDay.id == Offer.market_day_id)
            .join(Vendor, and_(Vendor.market_id == MarketDay.market_id, Vendor.producer_id == Product.producer_id,
                               Vendor.status == VendorStatus.APPROVED))
            .where(Offer.product_id == Product.id, left > 0, MarketDay.market_id.in_(active_markets), *day_conditions)
            .exists())


def _offered_per_pair(day_conditions, active_markets, left):
    """The same EXISTS for PostgreSQL: each matching day with each producer approved at its
    market (a few thousand pairs at country scale) is listed once per statement, and per
    product its offers are read from their index and their (day, producer) looked up there.

    PostgreSQL turns the joins above into a plan it reruns for every product (the producer's
    vendor rows, then every day of their markets): 19 µs a product, 10,899 products on the
    bench's filtered page 125. "IS TRUE" keeps the IN a hashed list (a bare IN would be turned
    into that join again): ~2 µs a product. On SQLite the list costs more than it saves."""
    day_vendors = (select(MarketDay.id, Vendor.producer_id)
                   .join(Vendor, Vendor.market_id == MarketDay.market_id)
                   .where(Vendor.status == VendorStatus.APPROVED, MarketDay.market_id.in_(active_markets),
                          *day_conditions))
    return (select(Offer.id)
            .where(Offer.product_id == Product.id, left > 0,
                   tuple_(Offer.market_day_id, Product.producer_id).in_(day_vendors).is_(True))
            .exists())


def _matches(plan: SearchPlan):
    """Condition: the product's search column holds, for every word of the search, one of
    its terms (as typed, the words it begins, or a typo's correction); a search of no
    word at all ("%", "1=1 --": numbers and punctuation are not words) finds nothing."""
    return holds(Product.__table__, [word.everything for word in plan.words])


def _category_ids(slug: str):
    """The category with that slug and its sub-categories (the tree is at most three deep)."""
    parent, grandparent = aliased(Category), aliased(Category)
    return (select(Category.id)
            .outerjoin(parent, parent.id == Category.parent_id)
            .outerjoin(grandparent, grandparent.id == parent.parent_id)
            .where(or_(Category.slug == slug, parent.slug == slug, grandparent.slug == slug)))


#: Market.organizers loads eagerly by default (organizer pages); the customer side never shows them.
_NO_ORGANIZERS = lazyload(Market.organizers)


def _with_photos():
    return selectinload(Product.photos).joinedload(ProductPhoto.image)


@dataclass
class ProductPage:
    """One page of the product list, with everything its template shows."""

    pagination: object
    badges: dict
    #: product id -> its Offer on the chosen market day (only with a market day filter).
    day_offers: dict


def product_list_conditions(filters: ProductFilters, now: datetime | None = None, *, plan: SearchPlan = NO_SEARCH,
                            for_count: bool = False, producer_joined: bool = False) -> list:
    """WHERE conditions for a filter state (on Product alone, unless `producer_joined`).

    "Listed" is written for the query at hand, so each can stop early or stay in an index:
    a page sorted by trust (producer joined) walks producers in trust order with an EXISTS
    per producer; a page sorted by price or date walks that index with an EXISTS per
    product; the count uses an IN over the approved producers and reads the product index
    alone. A search reads every product it finds (to rank them), from its own index: an IN
    too, made once, instead of an EXISTS for each of thousands of rows.
    """
    now = now or utcnow()
    today = now.date()
    if for_count or plan:
        listed = Product.producer_id.in_(_listed_producer_ids(filters.market or None))
    else:
        listed = _approved_vendor(Producer.id if producer_joined else Product.producer_id, market_slug=filters.market)
    conditions = [Product.active.is_(True), listed]
    if plan:
        conditions.append(_matches(plan))
    if filters.category:
        conditions.append(Product.category_id.in_(_category_ids(filters.category)))
    if filters.producer:
        conditions.append(Product.producer_id.in_(select(Producer.id).where(Producer.slug == filters.producer)))
    if filters.kind:
        conditions.append(Product.producer_id.in_(select(Producer.id).where(Producer.kind == filters.kind)))
    if filters.badge:
        # Trust says who shows a badge today (a group's badge also needs the membership).
        conditions.append(Product.producer_id.in_(producers_with_badge(filters.badge, today)))

    # The market and market day narrow both "offered" and "available now" to themselves.
    day_scope = [MarketDay.id == filters.market_day] if filters.market_day else []
    if filters.market_day:
        conditions.append(_offered_on([*day_scope, _upcoming_day(now)], filters.market, with_stock_left=False))
    if filters.available:
        conditions.append(_offered_on([*day_scope, ordering_open_condition(now)], filters.market, with_stock_left=True,
                                      orderable_at=now))
    return conditions


def _relevance(plan: SearchPlan, market_id: int | None) -> list:
    """Best match first: words found as typed before typo corrections, then words found in
    the name before words found in the description before words found only in the
    producer's or category's name, then the shopper's market."""
    order = []
    if plan.has_fuzzy:
        order.append(sum((case((_found(_as_typed(word)), 1), else_=0) for word in plan.words), literal(0)).desc())
    order.append(sum((_where_found(word) for word in plan.words), literal(0)).desc())
    if market_id is not None:
        order.append(case((_approved_vendor(Product.producer_id, market_id=market_id), 1), else_=0).desc())
    return order


def _found(alternatives: Alternatives, part: Part = Part.ANYWHERE):
    return found(Product.__table__, alternatives, part)


def _where_found(word: WordMatch):
    """4 when the word is in the name as typed, 3 when a word it begins or its correction is, 2 when
    it is in the description, else 0 (the producer's or category's name)."""
    loose = Alternatives((*word.completions, *word.fuzzy))
    whens = [(_found(Alternatives(word.exact), Part.NAME), 4)]
    if loose:
        whens.append((_found(loose, Part.NAME), 3))
    whens.append((_found(word.everything, Part.NAME_OR_DESCRIPTION), 2))
    return case(*whens, else_=0)


def _as_typed(word: WordMatch) -> Alternatives:
    return Alternatives((*word.exact, *word.completions))


def _order(filters: ProductFilters, plan: SearchPlan, market_id: int | None = None) -> list:
    newest = [Product.created_at.desc(), Product.id.desc()]
    # Prices in different currencies cannot be compared: each currency is sorted on its own.
    if filters.sort == "price":
        return [Product.currency, Product.price_minor.asc(), Product.id.asc()]
    if filters.sort == "price_desc":
        return [Product.currency, Product.price_minor.desc(), Product.id.desc()]
    if filters.sort == "newest":
        return newest
    trust = [Producer.trust_score.desc()]
    if filters.sort == "relevance" and (plan or market_id is not None):
        return [*_relevance(plan, market_id), *trust, *newest]
    return [*trust, *newest]


def _sorts_by_producer(filters: ProductFilters) -> bool:
    return filters.sort not in ("price", "price_desc", "newest")


#: The list counts its matches up to this many and then says "more than": counting all
#: 50,000 products on every request costs more than the page itself, and nobody pages that far.
COUNT_CAP = 1000


class ProductListPagination(Pagination):
    """Flask-SQLAlchemy's pagination with the list's cheap queries (see above).

    `total` is exact up to COUNT_CAP; beyond it `total_is_lower_bound` is set, `total` is
    COUNT_CAP, and whether there is a next page is known from one extra id on this page. When
    that extra id is missing, this page is the last and the total is known without a count.
    """

    total_is_lower_bound = False
    _more = False
    #: how many products this page found (None until it looked)
    _on_page: int | None = None
    #: how many products a search found in all, counted with its page (None: not counted yet)
    _counted: int | None = None

    def _query_items(self) -> list:
        filters, now, plan = self._query_args["filters"], self._query_args["now"], self._query_args["plan"]
        by_producer = _sorts_by_producer(filters)
        if by_producer:
            ids = select(Product.id).select_from(Producer).join(Product, Product.producer_id == Producer.id)
        else:
            ids = select(Product.id)
        ids = ids.where(*product_list_conditions(filters, now, plan=plan, producer_joined=by_producer))
        order = _order(filters, plan, self._query_args["market_id"])
        counting = bool(plan) and filters.sort == "relevance"
        if counting:
            # A search by relevance ranks every product it finds before taking a page:
            # counting them on the way costs nothing more, and saves the count's own statement.
            ids = ids.add_columns(func.count().over().label("found"))
        rows = db.session.execute(ids.order_by(*order).limit(self.per_page + 1).offset(self._query_offset)).all()
        if counting and rows:
            self._counted = rows[0][1]
        page_ids = [row[0] for row in rows]
        self._more, page_ids = len(page_ids) > self.per_page, page_ids[:self.per_page]
        self._on_page = len(page_ids)
        if not page_ids:
            return []
        by_id = {card.id: card for card in product_cards(_card_select().where(Product.id.in_(page_ids)))}
        return [by_id[i] for i in page_ids if i in by_id]

    def _query_count(self) -> int:
        if self._on_page is not None and not self._more and (self._on_page or self.page == 1):
            # The last page is on screen: what it holds tells the total, no count needed.
            return self._query_offset + self._on_page
        total = self._counted
        if total is None:
            filters, now, plan = self._query_args["filters"], self._query_args["now"], self._query_args["plan"]
            counted = (select(Product.id).where(*product_list_conditions(filters, now, plan=plan, for_count=True))
                       .limit(COUNT_CAP + 1).subquery())
            total = db.session.scalar(select(func.count()).select_from(counted))
        self.total_is_lower_bound = total > COUNT_CAP
        return COUNT_CAP if self.total_is_lower_bound else total

    @property
    def has_next(self) -> bool:
        return self._more if self.total_is_lower_bound else super().has_next


def product_page(filters: ProductFilters, per_page: int, offers_day: int | None = None,
                 plan: SearchPlan = NO_SEARCH, market_id: int | None = None) -> ProductPage:
    """The page of products for a filter state: items, total, badges, day offers (of the chosen
    market day, else of `offers_day`: the next day of the visitor's market, whose prices cards show).
    A search's `plan` (search.queries.plan_search) finds and ranks them; with `market_id` (the
    shopper's market) the best matches sold there come first."""
    pagination = ProductListPagination(page=filters.page, per_page=per_page, max_per_page=per_page,
                                       error_out=False, count=True, filters=filters, now=utcnow(), plan=plan,
                                       market_id=market_id)
    items = pagination.items
    badges = active_badges(p.producer_id for p in items)
    day_offers = {}
    day_id = filters.market_day or offers_day
    if day_id and items:
        prices = {p.id: p.price_minor for p in items}
        rows = db.session.execute(
            select(Offer.id, Offer.product_id, Offer.price_minor, (Offer.quantity_milli - Offer.reserved_milli).label("left"))
            .where(Offer.market_day_id == day_id, Offer.product_id.in_(list(prices))))
        day_offers = {row.product_id: DayOffer(row.id, row.product_id,
                                               effective_price(row.price_minor, prices[row.product_id]), row.left)
                      for row in rows}
    return ProductPage(pagination=pagination, badges=badges, day_offers=day_offers)


def found_at_other_markets(filters: ProductFilters, plan: SearchPlan) -> int:
    """How many products (up to COUNT_CAP) the search finds at any market, when it found
    none at the one chosen."""
    counted = (select(Product.id).where(*product_list_conditions(replace(filters, market=""), plan=plan,
                                                                 for_count=True))
               .limit(COUNT_CAP).subquery())
    return db.session.scalar(select(func.count()).select_from(counted))


# --- Where a search leads -------------------------------------------------------------
#
# Suggestions, "did you mean" and the nothing-found page offer other searches; each is offered
# only when it finds a product on sale, so none leads to "Nothing found" and none tells the
# words of a product its producer took off sale (the search word list keeps every product's).

def searches_finding_products(shared: Sequence[Alternatives], each: Sequence[Alternatives]) -> set[int]:
    """Which searches find a product on sale, at any market: the indexes n of the words in
    `each` for which some product holds every `shared` word and each[n]. One statement: per
    search, the index is read first and the products it holds are checked one by one
    (active, an approved vendor: index lookups) up to the first (24 searches in about 2 ms
    at country scale)."""
    if not each:
        return set()
    return set(db.session.scalars(
        held_each(Product.__table__, shared, each, Product.active.is_(True), _approved_vendor(Product.producer_id))))


def did_you_mean(plan: SearchPlan) -> str | None:
    """The search with each typo corrected, when it finds a product on sale."""
    if not plan.suggestion:
        return None
    *shared, last = [word.as_corrected for word in plan.words]
    return plan.suggestion if searches_finding_products(shared, [last]) else None


@dataclass(frozen=True)
class WithoutMissingWords:
    """A search that found nothing, loosened: the words no product on sale holds are dropped."""

    #: those words, as typed
    missing: str
    #: the search without them, as typed, and how many products it finds (up to COUNT_CAP)
    query: str
    count: int


def without_missing_words(filters: ProductFilters, plan: SearchPlan) -> WithoutMissingWords | None:
    """When a search of several words found nothing because some word is held by no product
    on sale ("мёд с пасеки"), the search of its other words, if it finds something with the
    same filters. Every word must be found (that stays); this only shows the way on."""
    if len(plan.words) < 2:
        return None
    held = searches_finding_products([], [word.everything for word in plan.words])
    missing = {word.word for n, word in enumerate(plan.words) if n not in held}
    if not missing or len(missing) == len(plan.words):
        return None
    tokens = [(token, set(words_of(token))) for token in filters.q.split()]
    if any(said & missing and not said <= missing for _, said in tokens):
        return None  # "мёд-пасеки": the word no product holds cannot be dropped alone
    dropped = [token for token, said in tokens if said and said <= missing]
    kept = [token for token, said in tokens if not (said and said <= missing)]
    loosened = SearchPlan(tuple(word for word in plan.words if word.word not in missing), typed=True)
    counted = (select(Product.id).where(*product_list_conditions(filters, plan=loosened, for_count=True))
               .limit(COUNT_CAP).subquery())
    count = db.session.scalar(select(func.count()).select_from(counted))
    if not count or not kept:
        return None
    return WithoutMissingWords(missing=" ".join(dropped), query=" ".join(kept), count=count)


# --- Reference data: markets, categories, the coming market days ---------------------
#
# Every list page shows them and they almost never change: each worker keeps them as rows
# (web.reference) while the catalog version stays the same, for a few seconds at most.

@dataclass(frozen=True, slots=True)
class MarketRow:
    """An active market as the lists, the filters and the market switch show it."""

    id: int
    slug: str
    name: str
    address: str
    currency: str
    timezone: str


@dataclass(frozen=True, slots=True)
class CategoryRow:
    id: int
    slug: str
    name: str
    parent_id: int | None


def all_categories() -> tuple[CategoryRow, ...]:
    return reference_data(("categories",), _read_categories)


def _read_categories() -> tuple[CategoryRow, ...]:
    return tuple(CategoryRow(*row) for row in db.session.execute(
        select(Category.id, Category.slug, Category.name, Category.parent_id)
        .order_by(Category.position, Category.name)))


def top_categories() -> tuple[CategoryRow, ...]:
    return tuple(category for category in all_categories() if category.parent_id is None)


def active_markets() -> tuple[MarketRow, ...]:
    return reference_data(("active-markets",), _read_active_markets)


def _read_active_markets() -> tuple[MarketRow, ...]:
    return tuple(MarketRow(*row) for row in db.session.execute(
        select(Market.id, Market.slug, Market.name, Market.address, Market.currency, Market.timezone)
        .where(Market.active.is_(True)).order_by(Market.name)))


def upcoming_market_days(limit: int = 6, market_id: int | None = None,
                         market_slug: str | None = None) -> list[MarketDay]:
    """The next scheduled market days of active markets (or of one), soonest first."""
    query = (select(MarketDay).join(MarketDay.market)
             .where(Market.active.is_(True), _upcoming_day(utcnow()))
             .options(contains_eager(MarketDay.market).lazyload(Market.organizers))
             .order_by(MarketDay.opens_at, MarketDay.id)
             .limit(limit))
    if market_id is not None:
        query = query.where(MarketDay.market_id == market_id)
    if market_slug:
        query = query.where(Market.slug == market_slug)
    return list(db.session.scalars(query))


@dataclass(frozen=True, slots=True)
class DayChoiceMarket:
    name: str
    timezone: str


@dataclass(frozen=True, slots=True)
class DayChoice:
    """A market day as the list's filter offers it (filters.market_day_label reads these)."""

    id: int
    opens_at: datetime
    closes_at: datetime
    market: DayChoiceMarket


def market_day_choices(limit: int = 30, market_slug: str | None = None) -> tuple[DayChoice, ...]:
    """The next scheduled market days of active markets (or of one), soonest first: the list's
    market day filter, read as rows (no MarketDay and Market objects for thirty options)."""
    return reference_data(("market-day-choices", limit, market_slug or ""),
                          lambda: _read_market_day_choices(limit, market_slug))


def _read_market_day_choices(limit: int, market_slug: str | None) -> tuple[DayChoice, ...]:
    query = (select(MarketDay.id, MarketDay.opens_at, MarketDay.closes_at, Market.name, Market.timezone)
             .join(Market, Market.id == MarketDay.market_id)
             .where(Market.active.is_(True), _upcoming_day(utcnow()))
             .order_by(MarketDay.opens_at, MarketDay.id).limit(limit))
    if market_slug:
        query = query.where(Market.slug == market_slug)
    return tuple(DayChoice(day_id, opens_at, closes_at, DayChoiceMarket(name, timezone))
                 for day_id, opens_at, closes_at, name, timezone in db.session.execute(query))


def featured_producers(limit: int = 6) -> list[Producer]:
    """Approved vendors with the best trust, for the home page."""
    return list(db.session.scalars(
        select(Producer).where(_approved_vendor(Producer.id))
        .options(joinedload(Producer.photo))
        .order_by(Producer.trust_score.desc(), Producer.id).limit(limit)))


# --- One product -------------------------------------------------------------------

@dataclass
class DayAvailability:
    """What is left of a product for one upcoming market day, and whether it can be ordered."""

    day: MarketDay
    left_milli: int
    price_minor: int
    orderable: bool
    #: Where the figure is read again after a sale (catalog/stock.py): ("offer", offer id) or
    #: ("inventory", product id).
    stock_kind: str = "offer"
    stock_id: int = 0


def listed_product(product_id: int) -> Product | None:
    """An active product of an approved vendor, with producer, category and photos; else None."""
    return db.session.scalar(
        select(Product)
        .where(Product.id == product_id, Product.active.is_(True), _approved_vendor(Product.producer_id))
        .options(joinedload(Product.producer).joinedload(Producer.photo), joinedload(Product.category),
                 _with_photos()))


def product_availability(product: Product, limit: int = 8) -> list[DayAvailability]:
    """The upcoming market days where the product is offered, with what is left on each."""
    now = utcnow()
    days = list(db.session.scalars(
        select(MarketDay).join(MarketDay.market)
        .where(Market.active.is_(True), _upcoming_day(now),
               _approved_vendor(product.producer_id, market_id=MarketDay.market_id))
        .options(contains_eager(MarketDay.market).lazyload(Market.organizers))
        .order_by(MarketDay.opens_at, MarketDay.id).limit(limit)))
    result = []
    if product.stock_mode == StockMode.INVENTORY:
        left = product.inventory_milli - product.inventory_reserved_milli
        for day in days:
            result.append(DayAvailability(day, left, product.price_minor, is_ordering_open(day, now) and left > 0,
                                          "inventory", product.id))
        return result
    offers = {offer.market_day_id: offer for offer in db.session.scalars(
        select(Offer).where(Offer.product_id == product.id, Offer.market_day_id.in_([d.id for d in days])))} \
        if days else {}
    for day in days:
        offer = offers.get(day.id)
        if offer is None or offer.quantity_milli <= 0:
            continue
        left = offer.available_milli
        result.append(DayAvailability(day, left, offer.effective_price_minor, is_ordering_open(day, now) and left > 0,
                                      "offer", offer.id))
    return result


# --- One producer ------------------------------------------------------------------

def listed_producer(slug: str) -> Producer | None:
    """A producer who is an approved vendor of an active market, with photo; else None."""
    return db.session.scalar(
        select(Producer).where(Producer.slug == slug, _approved_vendor(Producer.id))
        .options(joinedload(Producer.photo)))


class CardPagination(Pagination):
    """A page of cards for `_card_select()` narrowed by `where` and ordered by `order`."""

    def _query_items(self) -> list[ProductCard]:
        query = (_card_select().where(*self._query_args["where"]).order_by(*self._query_args["order"])
                 .limit(self.per_page).offset(self._query_offset))
        return product_cards(query)

    def _query_count(self) -> int:
        return db.session.scalar(select(func.count(Product.id)).where(*self._query_args["where"]))


def producer_products(producer: Producer, page: int, per_page: int) -> CardPagination:
    """The producer's products on sale as cards, by name."""
    return CardPagination(page=page, per_page=per_page, max_per_page=per_page, error_out=False, count=True,
                          where=[Product.producer_id == producer.id, Product.active.is_(True)],
                          order=[Product.name, Product.id])


def producer_markets(producer: Producer) -> list[Vendor]:
    """Where the producer sells: approved vendor rows of active markets, with the market."""
    return list(db.session.scalars(
        select(Vendor).join(Vendor.market)
        .where(Vendor.producer_id == producer.id, Vendor.status == VendorStatus.APPROVED,
               Market.active.is_(True))
        .options(contains_eager(Vendor.market).lazyload(Market.organizers)).order_by(Market.name)))


# --- Markets -----------------------------------------------------------------------

def market_by_slug(slug: str) -> Market | None:
    return db.session.scalar(select(Market).where(Market.slug == slug, Market.active.is_(True))
                             .options(joinedload(Market.photo), _NO_ORGANIZERS))


@dataclass(frozen=True, slots=True)
class NextDay:
    """A market's next day as the markets list, the home page and "my market" show it."""

    id: int
    date: date
    opens_at: datetime
    closes_at: datetime
    cutoff_at: datetime
    market: MarketRow


def next_day_per_market(markets: Sequence[MarketRow], condition=None) -> dict[int, NextDay]:
    """The next upcoming market day of each market (or the next one meeting `condition`); one query."""
    if not markets:
        return {}
    now = utcnow()
    where = [_upcoming_day(now)] if condition is None else [_upcoming_day(now), condition]
    first = (select(MarketDay.market_id, func.min(MarketDay.opens_at).label("opens_at"))
             .where(MarketDay.market_id.in_([m.id for m in markets]), *where)
             .group_by(MarketDay.market_id).subquery())
    rows = db.session.execute(
        select(MarketDay.id, MarketDay.market_id, MarketDay.date, MarketDay.opens_at, MarketDay.closes_at,
               MarketDay.cutoff_at)
        .join(first, and_(first.c.market_id == MarketDay.market_id, first.c.opens_at == MarketDay.opens_at))
        .where(*where))
    by_id = {m.id: m for m in markets}
    return {market_id: NextDay(day_id, day, opens_at, closes_at, cutoff_at, by_id[market_id])
            for day_id, market_id, day, opens_at, closes_at, cutoff_at in rows}


def next_shopping_day_per_market(markets: Sequence[MarketRow]) -> dict[int, NextDay]:
    """Each market's first day taking orders now, else its next day to come (two queries at most)."""
    days = next_day_per_market(markets, ordering_open_condition(utcnow()))
    missing = [m for m in markets if m.id not in days]
    if missing:
        days.update(next_day_per_market(missing))
    return days


def more_from_producer(product: Product, limit: int = 4) -> list[ProductCard]:
    """Other products on sale from the same producer, as cards, by name."""
    return product_cards(
        _card_select().where(Product.producer_id == product.producer_id, Product.id != product.id,
                             Product.active.is_(True))
        .order_by(Product.name, Product.id).limit(limit))


def market_vendors(market: Market) -> list[Producer]:
    """The approved producers who attend the market, by name."""
    return list(db.session.scalars(
        select(Producer).join(Vendor, Vendor.producer_id == Producer.id)
        .where(Vendor.market_id == market.id, Vendor.status == VendorStatus.APPROVED)
        .options(joinedload(Producer.photo)).order_by(Producer.name, Producer.id)))


@dataclass
class DayOffering:
    """Some of what is offered on one market day, and how many products in all."""

    day: MarketDay | NextDay
    products: list
    total: int


def market_day_offerings(market: Market | MarketRow, days: Sequence[MarketDay | NextDay], cap: int = 8) -> list[DayOffering]:
    """For each day, the first `cap` products offered (by name) and the full count.

    Harvest offers differ per day; standing stock of the market's approved vendors is
    offered every day. Four queries whatever the number of days: harvest rows capped per
    day with a window function, harvest counts, standing stock (capped) and its count.
    """
    if not days:
        return []
    day_ids = [d.id for d in days]
    approved = _approved_vendor(Product.producer_id, market_id=market.id)
    harvest_where = [Offer.market_day_id.in_(day_ids), Offer.quantity_milli > 0, Product.active.is_(True),
                     Product.stock_mode == StockMode.PER_MARKET_DAY, approved]
    ranked = (select(Offer.id.label("offer_id"), Offer.market_day_id.label("day_id"),
                     func.row_number().over(partition_by=Offer.market_day_id,
                                            order_by=(Product.name, Product.id)).label("rank"))
              .join(Product, Product.id == Offer.product_id).where(*harvest_where).subquery())
    harvest = defaultdict(list)
    for offer in db.session.scalars(
            select(Offer).join(ranked, ranked.c.offer_id == Offer.id).where(ranked.c.rank <= cap)
            .options(joinedload(Offer.product).joinedload(Product.producer),
                     joinedload(Offer.product).selectinload(Product.photos).joinedload(ProductPhoto.image))
            .order_by(ranked.c.day_id, ranked.c.rank)):
        harvest[offer.market_day_id].append((offer.product, offer.effective_price_minor))
    harvest_counts = dict(db.session.execute(
        select(Offer.market_day_id, func.count(Offer.id)).join(Product, Product.id == Offer.product_id)
        .where(*harvest_where).group_by(Offer.market_day_id)).all())
    standing_where = [Product.active.is_(True), Product.stock_mode == StockMode.INVENTORY, approved]
    standing = list(db.session.scalars(
        select(Product).where(*standing_where)
        .options(joinedload(Product.producer), _with_photos())
        .order_by(Product.name, Product.id).limit(cap)))
    standing_count = db.session.scalar(select(func.count(Product.id)).where(*standing_where)) or 0
    result = []
    for day in days:
        shown = harvest[day.id] + [(p, p.price_minor) for p in standing]
        result.append(DayOffering(day, shown[:cap], harvest_counts.get(day.id, 0) + standing_count))
    return result
