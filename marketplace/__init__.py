"""Aimak: a direct-sale marketplace for small producers."""
from __future__ import annotations

import os

from flask import Flask

from config import CONFIGS, ProductionConfig


def create_app(config: type | dict | str | None = None) -> Flask:
    """Build the application; this only wires the parts together."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "instance")))
    load_config(app, config)
    register_extensions(app)
    register_models()
    register_blueprints(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
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
    if app.config.get("ALLOW_TEST_EMAIL_DOMAIN"):
        import email_validator

        # email-validator refuses RFC 2606 names; the demo and the tests use `.test`.
        email_validator.SPECIAL_USE_DOMAIN_NAMES = [
            name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name != "test"]
    os.makedirs(app.instance_path, exist_ok=True)
    os.makedirs(app.config["MEDIA_ROOT"], exist_ok=True)


def register_extensions(app: Flask) -> None:
    from marketplace.core.extensions import (
        babel,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
    )
    from marketplace.core.locale import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(os.path.dirname(__file__), "translations"))
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    from marketplace.accounts.services import load_user_by_session_token

    login_manager.user_loader(load_user_by_session_token)
    from marketplace.core.dialects import disable_jit, enable_sqlite_pragmas

    with app.app_context():
        enable_sqlite_pragmas(db.engine)
        disable_jit(db.engine)


def register_models() -> None:
    """Import every feature's models so the metadata (and Alembic) sees all tables."""
    from marketplace.accounts import models as _accounts  # noqa: F401
    from marketplace.markets import models as _markets  # noqa: F401
    from marketplace.media import models as _media  # noqa: F401
    from marketplace.notifications import models as _notifications  # noqa: F401
    from marketplace.orders import models as _orders  # noqa: F401
    from marketplace.payments import models as _payments  # noqa: F401
    from marketplace.producers import models as _producers  # noqa: F401
    from marketplace.trust import models as _trust  # noqa: F401


def register_blueprints(app: Flask) -> None:
    from marketplace.blueprints import all_blueprints
    from marketplace.web.args import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter

    for blueprint in all_blueprints():
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from marketplace.web.errors import register

    register(app)


def register_request_hooks(app: Flask) -> None:
    from marketplace.web.headers import register

    register(app)
    from marketplace.notifications.services import register_delivery

    register_delivery(app)


def register_template_helpers(app: Flask) -> None:
    from marketplace.web.templating import register

    register(app)


def register_commands(app: Flask) -> None:
    from marketplace.cli import register

    register(app)
