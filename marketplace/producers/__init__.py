"""Producers: the shop's profile, products and photos, what they bring to each market day, applications."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.accounts.signals import user_registered
from marketplace.markets.signals import market_day_deleting
from marketplace.producers import queries, services, views
from marketplace.search.signals import reindex_requested
from marketplace.web.templating import (
    NavEntry,
    TabEntry,
    add_nav_entries,
    add_tabs,
    add_template_globals,
)


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    user_registered.connect(services.create_profile_on_registration, weak=False)
    market_day_deleting.connect(services.remove_unreserved_offers_of_day, weak=False)
    # The products' search columns are ours: index them again when the vocabulary changes.
    reindex_requested.connect(services.reindex_on_request, weak=False)
    add_nav_entries(app, NavEntry(20, "producer", "producers.dashboard", _l("My shop")))
    # The shop's tabs; orders, payments and trust add theirs (Orders, My sales, Certificates).
    add_tabs(app, "shop",
             TabEntry(10, "producers.dashboard", _l("Overview")),
             TabEntry(30, "producers.availability", _l("What I bring")),
             TabEntry(40, "producers.products", _l("Products"),
                      also=("producers.new_product", "producers.edit_product", "producers.import_csv")),
             TabEntry(70, "producers.markets", _l("Markets"), also=("producers.apply", "producers.application")),
             TabEntry(80, "producers.profile", _l("Profile")))
    # The organizer's vendor page (markets, below) shows what an applicant sells.
    add_template_globals(app, products_of_producer=queries.products_of_producer,
                         # The admin's overview (accounts, below): new producers per week.
                         new_producers_per_week=queries.new_producers_per_week)
