"""Jinja filters and globals shared by every template."""
from __future__ import annotations

from flask import Flask, current_app, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from marketplace.core.locale import (
    LANGUAGE_NAMES,
    format_day,
    format_local_datetime,
    format_local_time,
)
from marketplace.core.money import money
from marketplace.core.quantities import format_quantity, quantity_number, unit_label


def url_with(**changes) -> str:
    """The current URL with some query arguments changed (None removes one)."""
    from flask import url_for

    args = request.args.to_dict(flat=True)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        money=money,
        qty=format_quantity,
        qty_number=quantity_number,
        unit=unit_label,
        local_dt=format_local_datetime,
        local_time=format_local_time,
        day=format_day,
    )
    from marketplace.media.services import thumbnail_size
    from marketplace.trust.labels import scheme_label

    app.jinja_env.globals.update(url_with=url_with, LANGUAGE_NAMES=LANGUAGE_NAMES,
                                 image_url=image_url, thumbnail_size=thumbnail_size,
                                 scheme_label=scheme_label)
    app.jinja_env.add_extension("jinja2.ext.do")

    @app.context_processor
    def _common():
        return {
            "role_nav": role_nav,
            "current_locale": str(get_locale() or "en"),
            "languages": current_app.config["LANGUAGES"],
        }


def image_url(image, size: int = 400) -> str:
    from flask import url_for

    return url_for("media.image", key=image.key, size=size) if image is not None else ""


#: (role or None for everyone logged in, endpoint, label); endpoints not registered are skipped.
ROLE_NAV = [
    (None, "orders.my_orders", _l("My orders")),
    ("producer", "producers.dashboard", _l("My shop")),
    ("producer", "orders.producer_days", _l("Orders to prepare")),
    ("producer", "trust.my_certificates", _l("Certificates")),
    ("organizer", "markets.organizer_home", _l("My markets")),
    ("organizer", "trust.verification_queue", _l("Certificates to check")),
    ("admin", "admin.users", _l("Users")),
    ("admin", "trust.moderation", _l("Moderation")),
]


def role_nav() -> list[dict]:
    from flask_login import current_user

    if not current_user.is_authenticated:
        return []
    items = []
    for role, endpoint, label in ROLE_NAV:
        if endpoint in current_app.view_functions and (role is None or current_user.has_role(role)):
            items.append({"url": url_for(endpoint), "label": label})
    return items
