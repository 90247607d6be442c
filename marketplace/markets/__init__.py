"""Markets: organizers, market days from a schedule, ordering windows, pickup slots, vendors, cancellation."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.markets import cli, tasks, views
from marketplace.tasks import add_tasks
from marketplace.web.templating import NavEntry, add_nav_entries


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    for command in cli.commands:
        app.cli.add_command(command)
    add_tasks(app, tasks.extend_schedules)
    add_nav_entries(app, NavEntry(50, "organizer", "markets.organizer_home", _l("My markets")))
