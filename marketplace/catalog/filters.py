"""The product list's state, read from any query string and written back as a URL.

Whatever arrives in the query string (SQL fragments, `%`, 5,000 characters, NUL bytes,
unknown values, page -1 or 10**40) becomes a valid state: values that cannot be valid
are dropped, text is cleaned and cut, numbers are clamped. So the list never fails,
and the URL of every link is rebuilt from this state only (the URL holds the whole
state, and nothing else).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, fields, replace

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.catalog.mymarket import ALL_MARKETS
from marketplace.catalog.mymarket import COOKIE as MARKET_COOKIE
from marketplace.core.locale import format_local_datetime, format_local_time
from marketplace.producers.models import ProducerKind
from marketplace.trust.labels import scheme_label
from marketplace.trust.models import CertificationScheme
from marketplace.web.args import MAX_ID, parse_int

MAX_QUERY_CHARS = 200
MAX_SLUG_CHARS = 140
#: Deeper pages are refused early: an OFFSET of millions is slow and useless.
MAX_PAGE = 1000

SORTS = {
    "relevance": _l("Best match"),
    "price": _l("Price: low to high"),
    "price_desc": _l("Price: high to low"),
    "newest": _l("Newest"),
    "trust": _l("Most trusted producers"),
}
KIND_LABELS = {
    ProducerKind.FARMER.value: _l("Farmers"),
    ProducerKind.CRAFTSMAN.value: _l("Craftspeople"),
    ProducerKind.PROCESSOR.value: _l("Small processors"),
}
KIND_SINGULAR = {
    ProducerKind.FARMER.value: _l("Farmer"),
    ProducerKind.CRAFTSMAN.value: _l("Craftsperson"),
    ProducerKind.PROCESSOR.value: _l("Small processor"),
}
_TRUE = {"1", "on", "true", "yes", "y"}


def clean_text(value: str | None, limit: int) -> str:
    """Printable text only (no NUL or other control characters), trimmed and cut to `limit`."""
    if not value:
        return ""
    kept = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in value[: limit * 4])
    return " ".join(kept.split())[:limit]


@dataclass(frozen=True)
class ProductFilters:
    q: str = ""
    category: str = ""
    market: str = ""
    market_day: int | None = None
    badge: str = ""
    kind: str = ""
    producer: str = ""
    available: bool = False
    sort: str = "relevance"
    page: int = 1

    #: The filters a customer can loosen one by one (sort and page are not filters).
    FILTER_KEYS = ("q", "category", "market", "market_day", "badge", "kind", "producer", "available")

    @classmethod
    def from_args(cls, args) -> ProductFilters:
        """The state from a request's query string; never raises."""
        sort = clean_text(args.get("sort"), 20)
        badge = clean_text(args.get("badge"), 40)
        kind = clean_text(args.get("kind"), 20)
        page_text = (args.get("page") or "").strip()
        page = parse_int(page_text, 1, 10**12)
        return cls(
            q=clean_text(args.get("q"), MAX_QUERY_CHARS),
            category=clean_text(args.get("category"), MAX_SLUG_CHARS).lower(),
            market=clean_text(args.get("market"), MAX_SLUG_CHARS).lower(),
            market_day=parse_int(args.get("market_day"), 1, MAX_ID),
            badge=badge if badge in {s.value for s in CertificationScheme} else "",
            kind=kind if kind in KIND_LABELS else "",
            producer=clean_text(args.get("producer"), MAX_SLUG_CHARS).lower(),
            available=(args.get("available") or "").strip().lower() in _TRUE,
            sort=sort if sort in SORTS else "relevance",
            page=min(page, MAX_PAGE) if page else 1,
        )

    @property
    def active(self) -> list[str]:
        """The filter keys that are set, in a stable order (every market, `*`, is no filter)."""
        return [key for key in self.FILTER_KEYS if getattr(self, key) and not (key == "market" and self.every_market)]

    @property
    def every_market(self) -> bool:
        """`market=*`: every market, even for a visitor whose own market would narrow the list."""
        return self.market == ALL_MARKETS

    def for_query(self) -> ProductFilters:
        """The state the queries read: `*` is no market filter at all."""
        return replace(self, market="") if self.every_market else self

    def args(self) -> dict:
        """The canonical query arguments (defaults left out)."""
        result = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, "", False) or (f.name == "sort" and value == "relevance") or (
                    f.name == "page" and value == 1):
                continue
            result[f.name] = "1" if value is True else value
        return result

    def url(self, **changes) -> str:
        """The list's URL for this state with some values changed; any change but a page resets to page 1."""
        if "page" not in changes:
            changes["page"] = 1
        return url_for("catalog.products", **replace(self, **changes).args())

    def without(self, key: str) -> str:
        """The URL with one filter removed (the empty result's suggestions); without its market
        the list shows every market, also to a visitor whose own market it would otherwise show."""
        default = ALL_MARKETS if key == "market" else next(f.default for f in fields(self) if f.name == key)
        return self.url(**{key: default})


def shoppers_market(filters: ProductFilters, cookies, markets) -> int | None:
    """The id of the shopper's market, whose best matches a search shows first: the market
    filter's, else the "my market" cookie's (an id or a slug of one of `markets`, the active
    ones); None when neither names one."""
    wanted = filters.market or clean_text(cookies.get(MARKET_COOKIE), MAX_SLUG_CHARS).lower()
    if not wanted:
        return None
    market_id = parse_int(wanted, 1, MAX_ID)
    return next((m.id for m in markets if m.slug == wanted or m.id == market_id), None)


def market_day_label(day) -> str:
    """'Market name · Sat 7 Dec, 08:00–13:00' in the market's timezone."""
    tz = day.market.timezone
    return f"{day.market.name} · {format_local_datetime(day.opens_at, tz)}–{format_local_time(day.closes_at, tz)}"


def describe(filters: ProductFilters, categories, markets, market_days, products=()) -> dict[str, str]:
    """A short label for each active filter, for the chips that remove it."""
    category = next((c for c in categories if c.slug == filters.category), None)
    market = next((m for m in markets if m.slug == filters.market), None)
    day = next((d for d in market_days if d.id == filters.market_day), None)
    producer = next((p.producer for p in products if p.producer.slug == filters.producer), None)
    labels = {
        "q": _("Words: %(q)s", q=filters.q),
        "category": _("Category: %(name)s", name=_(category.name) if category else filters.category),
        "market": _("Market: %(name)s", name=market.name if market else filters.market),
        "market_day": _("Market day: %(name)s",
                        name=market_day_label(day) if day else _("the chosen day")),
        "badge": _("Certification: %(name)s", name=scheme_label(filters.badge)) if filters.badge else "",
        "kind": str(KIND_LABELS.get(filters.kind, "")),
        "producer": _("Producer: %(name)s", name=producer.name if producer else filters.producer),
        "available": _("Can be ordered now"),
    }
    return {key: labels[key] for key in filters.active}
