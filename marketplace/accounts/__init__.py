"""Accounts: registration, login with a rotating session token, roles, password reset, the admin's user pages."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.accounts import admin_views, cli, services, views
from marketplace.core.extensions import login_manager
from marketplace.web.templating import NavEntry, add_nav_entries


def register(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    # Flask-Login's own message is English whatever the page's language (a checkout sends people here).
    login_manager.login_message = _l("Log in to go on; your basket is kept.")
    login_manager.user_loader(services.load_user_by_session_token)
    services.dummy_hash(app.config.get("PASSWORD_HASH_METHOD", "scrypt"))  # see its docstring
    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    for command in cli.commands:
        app.cli.add_command(command)
    add_nav_entries(app, NavEntry(65, "admin", "admin.overview", _l("Admin overview")),
                    NavEntry(70, "admin", "admin.users", _l("Users")))
