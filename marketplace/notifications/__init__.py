"""Email: the outbox written in the same transaction as the change it reports, delivered by the worker."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.notifications import cli, services, tasks, views
from marketplace.tasks import add_tasks
from marketplace.web.templating import NavEntry, add_nav_entries


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    services.register_delivery(app, tasks.deliver_emails.delay)
    add_tasks(app, tasks.deliver_emails, tasks.send_outbox)
    for command in cli.commands:
        app.cli.add_command(command)
    add_nav_entries(app, NavEntry(95, "admin", "notifications.emails", _l("Emails and jobs")))
