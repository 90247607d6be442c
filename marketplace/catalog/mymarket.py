""""My market": the one market a visitor shops at, remembered in a cookie or suggested.

A shopper reaches one market: home, search and lists show that market's next day first,
in its currency, and the others are one tap away. The visitor picks it (a cookie that
outlives the session, so the next visit remembers it); until then the site suggests one
from the language (Kazakh: a tenge market, Kyrgyz: a som market — the one whose next day
comes first). Russian and English are spoken at every market: nothing is guessed for them.

The anonymous page cache keys its pages on the cookie too (catalog's register).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from marketplace.catalog.queries import MarketRow, NextDay

#: The cookie holding the chosen market's slug; a year, like a shop's "your store".
COOKIE = "market"
COOKIE_MAX_AGE = 365 * 24 * 3600
#: A product list URL with `market=*` shows every market, even to a visitor who has one.
ALL_MARKETS = "*"
#: The currency of the markets a language suggests (both countries speak Russian and English).
LOCALE_CURRENCY = {"kk": "KZT", "ky": "KGS"}


@dataclass(frozen=True)
class MyMarket:
    market: MarketRow | None
    #: The visitor chose it (else the language suggested it, or there is none).
    chosen: bool
    #: Its next market day: the first one taking orders, else the first one to come.
    next_day: NextDay | None

    @property
    def slug(self) -> str:
        return self.market.slug if self.market else ""


NONE = MyMarket(None, False, None)


def pick(markets: Sequence[MarketRow], next_days: dict[int, NextDay], cookie: str | None, locale: str) -> MyMarket:
    """The visitor's market among the active ones: the cookie's, else the language's suggestion."""
    by_slug = {m.slug: m for m in markets}
    chosen = by_slug.get((cookie or "").strip().lower())
    if chosen is not None:
        return MyMarket(chosen, True, next_days.get(chosen.id))
    currency = LOCALE_CURRENCY.get(locale)
    if currency is None:
        return NONE
    candidates = [m for m in markets if m.currency == currency and m.id in next_days]
    if not candidates:
        return NONE
    suggested = min(candidates, key=lambda m: (next_days[m.id].opens_at, m.name))
    return MyMarket(suggested, False, next_days[suggested.id])


def market_switch_key(markets) -> tuple:
    """Everything the market switch's buttons show (templates/catalog/_macros.html), so the
    rendered buttons are reused while it stays the same (web/fragments.py)."""
    return tuple((m.id, m.slug, m.name, m.address, m.currency) for m in markets)
