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


def _active(model, object_id: int):
    """The market, producer or product the button is about (a CSRF-checked POST), else 400/404."""
    if not ActionForm().validate_on_submit():
        abort(400)
    item = db.session.get(model, object_id)
    if item is None or not getattr(item, "active", True):
        abort(404)
    return item


def _follow(target, page_url: str, **which):
    """Follow or stop following a market or producer (`follow=0` stops), then back to its page."""
    following = request.form.get("follow") != "0"
    with transaction():
        (services.follow if following else services.unfollow)(current_user, **which)
    return _done(_("You follow %(name)s.", name=target.name) if following
                 else _("You no longer follow %(name)s.", name=target.name), page_url)


@bp.route("/follows/markets/<int:market_id>", methods=["POST"])
@login_required
def follow_market(market_id: int):
    market = _active(Market, market_id)
    return _follow(market, url_for("catalog.market", slug=market.slug), market=market)


@bp.route("/follows/producers/<int:producer_id>", methods=["POST"])
@login_required
def follow_producer(producer_id: int):
    producer = _active(Producer, producer_id)
    return _follow(producer, url_for("catalog.producer", slug=producer.slug), producer=producer)


@bp.route("/favourites/<int:product_id>", methods=["POST"])
@login_required
def favourite(product_id: int):
    product = _active(Product, product_id)
    keep = request.form.get("favourite") != "0"
    with transaction():
        (services.add_favourite if keep else services.remove_favourite)(current_user, product)
    return _done(_("%(name)s is in your favourites.", name=product.name) if keep
                 else _("%(name)s is no longer in your favourites.", name=product.name),
                 url_for("catalog.product", product_id=product.id))
