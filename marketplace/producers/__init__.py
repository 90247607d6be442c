"""Producers: the shop's profile, products and photos, what they bring to each market day, applications."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.accounts.signals import user_registered
from marketplace.markets.signals import market_day_deleting
from marketplace.producers import services, views
from marketplace.search.signals import reindex_requested
from marketplace.web.templating import NavEntry, add_nav_entries


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    user_registered.connect(services.create_profile_on_registration, weak=False)
    market_day_deleting.connect(services.remove_unreserved_offers_of_day, weak=False)
    # The products' search columns are ours: index them again when the vocabulary changes.
    reindex_requested.connect(services.reindex_on_request, weak=False)
    add_nav_entries(app, NavEntry(20, "producer", "producers.dashboard", _l("My shop")))
