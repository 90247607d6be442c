"""Markets: organizers, market days from a schedule, ordering windows, pickup slots, vendors, cancellation."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.markets import cli, queries, services, tasks, views
from marketplace.tasks import add_tasks
from marketplace.web.templating import (
    NavEntry,
    TabEntry,
    add_nav_entries,
    add_tabs,
    add_template_globals,
)


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    for command in cli.commands:
        app.cli.add_command(command)
    add_tasks(app, tasks.extend_schedules)
    services.connect_receivers()
    add_nav_entries(app, NavEntry(50, "organizer", "markets.organizer_home", _l("My markets")))
    # The market's tabs; payments adds Settlement.
    add_tabs(app, "market",
             TabEntry(10, "markets.market", _l("Overview"), args=("market_id",)),
             TabEntry(20, "markets.calendar", _l("Calendar"), args=("market_id",)),
             TabEntry(40, "markets.vendors", _l("Vendors"), also=("markets.vendor",), args=("market_id",)),
             TabEntry(50, "markets.edit_market", _l("Settings"), args=("market_id",)),
             TabEntry(60, "markets.organizers", _l("Organizers"), args=("market_id",)))
    # The tabs' market switch: an organizer of several markets goes to the same page of another.
    add_template_globals(app, organized_markets=queries.organized_markets)
