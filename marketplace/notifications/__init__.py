"""Messages: the email outbox and the Telegram channel, written in the same transaction as the change
they report and delivered by the worker; what each person chooses to get, by which channel.

The commands (`cli.py`) and the Telegram sending (`telegram_bot.py`, python-telegram-bot) are
registered by `marketplace.cli`, the app the worker and `flask` run on, not here: a web worker
serves the links, the webhook and the pages without them."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.notifications import (
    channel_views,
    channels,
    services,
    tasks,
    views,
)
from marketplace.tasks import add_tasks
from marketplace.web.templating import NavEntry, add_nav_entries, add_template_globals


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(channel_views.bp)
    services.register_delivery(app, tasks.deliver_emails.delay, tasks.deliver_telegram_messages.delay)
    add_tasks(app, tasks.deliver_emails, tasks.send_outbox, tasks.deliver_telegram_messages, tasks.send_telegram,
              tasks.forget_old_notices)
    add_nav_entries(app, NavEntry(95, "admin", "notifications.emails", _l("Emails and jobs")))
    # The account page (accounts, above) shows what a person gets by which channel.
    add_template_globals(app, message_settings=channels.settings_of)
