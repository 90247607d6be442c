"""What is left of a product, as catalog pages show it: a live figure of the page cache.

A sale changes these figures and nothing else on a page, so they are written with
`stock_left(kind, id, left_milli, unit)` and the anonymous page cache fills them in again
after a sale instead of rendering the page again (web.pagecache, docs/architecture.md:
Caching). `kind` is "offer" (per market day; id the offer's) or "inventory" (standing
stock; id the product's).
"""
from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.core.quantities import format_quantity
from marketplace.producers.models import Offer, Product
from marketplace.web.pagecache import add_live_figure, live_figure
from marketplace.web.templating import add_template_globals


def left_text(left_milli: int, unit) -> str:
    if left_milli > 0:
        return _("%(qty)s left", qty=format_quantity(left_milli, unit))
    return _("Sold out for this day")


def offers_left(ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(
        select(Offer.id, Offer.quantity_milli - Offer.reserved_milli).where(Offer.id.in_(ids))).all())


def inventory_left(ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(
        select(Product.id, Product.inventory_milli - Product.inventory_reserved_milli).where(Product.id.in_(ids))).all())


def stock_left(kind: str, id_: int, left_milli: int, unit) -> Markup:
    return live_figure(kind, id_, left_milli, unit)


def register(app: Flask) -> None:
    add_live_figure(app, "offer", offers_left, left_text)
    add_live_figure(app, "inventory", inventory_left, left_text)
    add_template_globals(app, stock_left=stock_left)
