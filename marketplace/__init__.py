"""Aimak: a direct-sale marketplace for small producers.

`create_app` is the app gunicorn serves: what requests need and nothing more. The `flask`
commands (migrations, the demo, the Telegram bot's side) run on `marketplace.cli:create_app`,
which adds them; a web worker does not carry their libraries (docs/performance.md, worker memory).
"""
from __future__ import annotations

import os

import email_validator
from flask import Flask

from config import CONFIGS, INSTANCE_DIR, ProductionConfig
from marketplace import (
    accounts,
    alerts,
    catalog,
    follows,
    groups,
    markets,
    media,
    notifications,
    orders,
    payments,
    pickup,
    producers,
    search,
    storage,
    tasks,
    trust,
    web,
)
from marketplace.core.dialects import disable_jit, enable_sqlite_pragmas
from marketplace.core.extensions import babel, csrf, db, limiter, login_manager
from marketplace.core.locale import select_locale
from marketplace.web.logs import configure_logging
from marketplace.web.security import configure_limiter

#: Every feature, in the order of the layers (docs/architecture.md): each one's register(app)
#: adds its blueprint, its commands, its signal receivers, its menu entries and template globals.
FEATURES = (notifications, media, accounts, search, markets, producers, follows, orders, groups, payments, trust,
            pickup, catalog, alerts)


def create_app(config: type | dict | str | None = None) -> Flask:
    """Build the application; this only wires the parts together."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=str(INSTANCE_DIR.resolve()))
    load_config(app, config)
    configure_logging(app)
    register_extensions(app)
    storage.init_app(app)
    tasks.init_app(app)
    web.init_app(app)
    for feature in FEATURES:
        feature.register(app)
    return app


def load_config(app: Flask, config) -> None:
    if config is None:
        config = os.environ.get("AIMAK_CONFIG", "development")
    if isinstance(config, str):
        config = CONFIGS[config]
    if isinstance(config, dict):
        # {"BASE_CONFIG": "testing", ...overrides}: a named config with some values changed.
        app.config.from_object(CONFIGS[config.get("BASE_CONFIG", "development")])
        app.config.update(config)
    else:
        if config is ProductionConfig:
            ProductionConfig.check()
        app.config.from_object(config)
        if config is ProductionConfig:
            app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
            app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
            app.config["MAIL_SERVER"] = os.environ["MAIL_SERVER"]
            app.config["SITE_URL"] = os.environ["SITE_URL"]
    if app.config.get("ALLOW_TEST_EMAIL_DOMAIN"):
        # email-validator refuses RFC 2606 names; the demo and the tests use `.test`.
        email_validator.SPECIAL_USE_DOMAIN_NAMES = [
            name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name != "test"]
    os.makedirs(app.instance_path, exist_ok=True)
    os.makedirs(app.config["MEDIA_ROOT"], exist_ok=True)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(os.path.dirname(__file__), "translations"))
    configure_limiter(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    with app.app_context():
        enable_sqlite_pragmas(db.engine)
        disable_jit(db.engine)
