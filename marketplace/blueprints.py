"""The one list of feature blueprints. Each feature adds its own line here."""
from __future__ import annotations

import importlib

FEATURE_VIEW_MODULES = [
    "marketplace.catalog.views",
    "marketplace.accounts.views",
    "marketplace.accounts.admin_views",
    "marketplace.media.views",
    "marketplace.producers.views",
    "marketplace.markets.views",
    "marketplace.orders.views",
    "marketplace.trust.views",
    "marketplace.payments.views",
    "marketplace.pickup.views",
    "marketplace.web.pagecache",
]


def all_blueprints():
    for module_name in FEATURE_VIEW_MODULES:
        yield importlib.import_module(module_name).bp
