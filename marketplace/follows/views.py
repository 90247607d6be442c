"""One tap to follow a market or producer, or keep a product; each is a POST that goes back."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.extensions import db
from marketplace.follows import services
from marketplace.follows.forms import ActionForm
from marketplace.markets.models import Market
from marketplace.producers.models import Producer, Product
from marketplace.web.headers import is_safe_next_url
from marketplace.web.transaction import transaction

bp = Blueprint("follows", __name__)


def _done(message: str, fallback: str):
    """Say what was done and go back where the button was."""
    flash(message, "success")
    target = request.form.get("next")
    return redirect(target if is_safe_next_url(target) else fallback)


def _target(model, object_id: int, *, starting: bool):
    """The market, producer or product the button is about (a CSRF-checked POST), else 400/404.
    Only an active one can be followed or kept; any can be let go (the account page still lists
    what was taken off the site, with its button)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    item = db.session.get(model, object_id)
    if item is None or (starting and not getattr(item, "active", True)):
        abort(404)
    return item


def _page(item, endpoint: str, **values) -> str:
    """Where the button goes back to without `next`: the item's page, or the account page once it is gone."""
    return url_for(endpoint, **values) if getattr(item, "active", True) else url_for("accounts.account")


def _follow(target, page_url: str, **which):
    """Follow or stop following a market or producer (`follow=0` stops), then back to its page."""
    following = _starting("follow")
    with transaction():
        (services.follow if following else services.unfollow)(current_user, **which)
    return _done(_("You follow %(name)s.", name=target.name) if following
                 else _("You no longer follow %(name)s.", name=target.name), page_url)


def _starting(field: str) -> bool:
    """Whether the button starts (follow, keep) or stops (`<field>=0`)."""
    return request.form.get(field) != "0"


@bp.route("/follows/markets/<int:market_id>", methods=["POST"])
@login_required
def follow_market(market_id: int):
    market = _target(Market, market_id, starting=_starting("follow"))
    return _follow(market, _page(market, "catalog.market", slug=market.slug), market=market)


@bp.route("/follows/producers/<int:producer_id>", methods=["POST"])
@login_required
def follow_producer(producer_id: int):
    producer = _target(Producer, producer_id, starting=_starting("follow"))
    return _follow(producer, _page(producer, "catalog.producer", slug=producer.slug), producer=producer)


@bp.route("/favourites/<int:product_id>", methods=["POST"])
@login_required
def favourite(product_id: int):
    keep = _starting("favourite")
    product = _target(Product, product_id, starting=keep)
    with transaction():
        (services.add_favourite if keep else services.remove_favourite)(current_user, product)
    return _done(_("%(name)s is in your favourites.", name=product.name) if keep
                 else _("%(name)s is no longer in your favourites.", name=product.name),
                 _page(product, "catalog.product", product_id=product.id))
