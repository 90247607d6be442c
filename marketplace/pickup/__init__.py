"""The pickup point on market day: find an order, hand it over, no-shows, labels; above orders and payments."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.pickup import cli, today, views
from marketplace.web.templating import NavEntry, add_nav_entries


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    # "Today" and "Settlement" in the organizer's menu: the pickup point and the settlement
    # are two taps away from any page (Menu, then the entry; one day today or one market: straight there).
    app.register_blueprint(today.bp)
    add_nav_entries(app, NavEntry(45, "organizer", "today.index", _l("Today")),
                    NavEntry(55, "organizer", "today.settlement", _l("Settlement")))
    for command in cli.commands:
        app.cli.add_command(command)
