"""The organizer's market day from a phone: "Today" (every market day happening today, each one
tap from its pickup point), the settlement reached from the menu, a day's no-shows and missing
items as a list, and a message to a day's vendors or customers.

These pages stand on top (pickup is the highest layer), so they link the pickup point, the
settlement (payments) and the market's pages without any lower feature knowing about them.
"""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.accounts.decorators import organizer_required
from marketplace.markets import queries as markets
from marketplace.markets.models import MarketDay
from marketplace.markets.services import can_manage, local_today, markets_of
from marketplace.orders.queries import day_problems, market_day_for_basket, order_counts_of_days
from marketplace.pickup import messages
from marketplace.web.transaction import transaction

bp = Blueprint("today", __name__, url_prefix="/organize")


class MessageForm(FlaskForm):
    audience = RadioField(_l("Send to"), choices=[(messages.Audience.VENDORS.value, _l("All vendors of the market")),
                                             (messages.Audience.CUSTOMERS.value, _l("All customers of this day"))],
                          default=messages.Audience.CUSTOMERS.value, validators=[DataRequired()])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=messages.MAX_SUBJECT)])
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=messages.MAX_BODY)],
                         description=_l("Sent by email; at most %(n)s characters.", n=messages.MAX_BODY))
    nonce = HiddenField()


def _managed_day(market_day_id: int) -> MarketDay:
    market_day = market_day_for_basket(market_day_id)
    if market_day is None or not can_manage(current_user, market_day.market):
        abort(404)
    return market_day


def todays_days(user) -> list[MarketDay]:
    """Market days happening today (each in its market's time zone) at the markets the user runs."""
    by_date: dict = {}
    for market in markets_of(user):
        by_date.setdefault(local_today(market), []).append(market.id)
    # One query per local date (markets in one or two time zones), not one per market.
    found = [day for date, ids in by_date.items() for day in markets.days_of_markets_on(ids, date)]
    return sorted(found, key=lambda day: (day.opens_at, day.id))


@bp.route("/today")
@organizer_required
def index():
    """Today's market days; with exactly one, straight to its pickup point."""
    days = todays_days(current_user)
    running = [day for day in days if day.status.value != "cancelled"]
    if len(days) == 1 and running and request.args.get("list") is None:
        return redirect(url_for("pickup.day", market_day_id=running[0].id))
    return render_template("pickup/today.html", days=days,
                           counts=order_counts_of_days([day.id for day in days]))


@bp.route("/settlement")
@organizer_required
def settlement():
    """Straight to a settlement: of the market whose latest day held is the most recent, else of
    the first market; its tabs switch to the organizer's other markets in one tap."""
    managed = markets_of(current_user)
    if managed and request.args.get("list") is None:
        chosen = latest_market(managed) or managed[0]
        return redirect(url_for("payments.market_settlement", market_id=chosen.id))
    return render_template("pickup/settlement_markets.html", markets=managed)


def latest_market(managed) -> object | None:
    """Of these markets, the one whose latest market day held (today included) is the most recent."""
    today = max((local_today(market) for market in managed), default=None)
    dates = markets.latest_held_dates([market.id for market in managed], today) if today else {}
    found = [market for market in managed if market.id in dates]
    return max(found, key=lambda market: (dates[market.id], -market.id)) if found else None


@bp.route("/days/<int:market_day_id>/no-shows")
@organizer_required
def no_shows(market_day_id: int):
    market_day = _managed_day(market_day_id)
    return render_template("pickup/no_shows.html", market_day=market_day, problems=day_problems(market_day.id))


@bp.route("/days/<int:market_day_id>/message", methods=["GET", "POST"])
@organizer_required
def message(market_day_id: int):
    market_day = _managed_day(market_day_id)
    form = MessageForm()
    if request.method == "GET":
        form.nonce.data = secrets.token_hex(8)
    elif form.validate_on_submit():
        with transaction(form) as tx:
            sent = messages.message_day(current_user, market_day, messages.Audience(form.audience.data),
                                        form.subject.data, form.body.data, form.nonce.data or "")
        if tx.ok:
            flash(ngettext("Your message is on its way to %(num)s person.",
                           "Your message is on its way to %(num)s people.", sent) if sent
                  else _("This message was sent already; it is not sent twice."), "success")
            return redirect(url_for("markets.day", day_id=market_day.id))
    counts = {audience: len(messages.recipients(market_day, audience)) for audience in messages.Audience}
    return render_template("pickup/message.html", market_day=market_day, form=form, counts=counts,
                           sent=messages.messages_sent(market_day), limit=messages.MAX_MESSAGES_PER_DAY,
                           Audience=messages.Audience)
