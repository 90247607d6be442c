"""Jinja filters and globals shared by every template, and the menu each feature adds its entries to."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g, request, url_for
from flask_babel import get_locale, get_translations
from flask_login import current_user

from marketplace.core.locale import (
    LANGUAGE_NAMES,
    format_day,
    format_local_datetime,
    format_local_time,
)
from marketplace.core.money import money, money_whole, percent_from_bp
from marketplace.core.quantities import format_quantity, quantity_number, unit_label


@dataclass(frozen=True)
class NavEntry:
    """A link in the signed-in menu: shown to users with `role` (None: everyone signed in)."""

    position: int  #: where it stands in the menu (features register in layer order, not menu order)
    role: str | None
    endpoint: str
    label: object  # a lazy string, translated when the menu is shown


@dataclass(frozen=True)
class TabEntry:
    """A tab of a section of pages (the producer's shop, an organizer's market), added by any feature."""

    position: int
    endpoint: str
    label: object  # a lazy string
    #: Other endpoints on which this tab is the current one (a pick list belongs to "Orders").
    also: tuple[str, ...] = ()
    #: Names of the section's arguments this endpoint takes (e.g. "market_id").
    args: tuple[str, ...] = ()


def add_tabs(app: Flask, section: str, *entries: TabEntry) -> None:
    """A feature's `register(app)` adds its pages to a section's tabs (a lower feature's section too)."""
    tabs = app.extensions.setdefault("section_tabs", {}).setdefault(section, [])
    tabs.extend(entries)
    tabs.sort(key=lambda entry: entry.position)


def section_tabs(section: str, **args) -> list[dict]:
    """The tabs of a section for this page: url, label, and whether it is the current page."""
    endpoint = request.endpoint
    return [{"url": url_for(entry.endpoint, **{name: args[name] for name in entry.args}),
             "label": entry.label, "current": endpoint == entry.endpoint or endpoint in entry.also}
            for entry in current_app.extensions.get("section_tabs", {}).get(section, [])]


def url_with(**changes) -> str:
    """The current URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict(flat=True)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def add_nav_entries(app: Flask, *entries: NavEntry) -> None:
    """A feature's `register(app)` adds its menu links here, in the order the menu shows them."""
    nav = app.extensions.setdefault("nav_entries", [])
    nav.extend(entries)
    nav.sort(key=lambda entry: entry.position)


def add_template_globals(app: Flask, **functions) -> None:
    """A feature offers figures of its own to every template (a lower feature's page may show them)."""
    app.jinja_env.globals.update(functions)


def role_nav() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    return [{"url": url_for(entry.endpoint), "label": entry.label}
            for entry in current_app.extensions.get("nav_entries", [])
            if entry.role is None or current_user.has_role(entry.role)]


def page_translations():
    """The translations of this page's locale, looked up once per page rather than per word.

    Flask-Babel finds them on every `_()` (context, domain, locale, its cache: a sixth of the
    product list's render). They are kept beside the locale they belong to, so a locale forced
    for an email (`force_locale` sets a new one) or a `refresh()` looks them up again."""
    babel_ctx = g.get("_flask_babel")
    locale = getattr(babel_ctx, "babel_locale", None)
    kept = getattr(babel_ctx, "aimak_translations", None)
    if kept is not None and locale is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    babel_ctx = g.get("_flask_babel")
    if babel_ctx is not None:
        babel_ctx.aimak_translations = (getattr(babel_ctx, "babel_locale", None), translations)
    return translations


def init_app(app: Flask) -> None:
    # Templates translate through page_translations (Flask-Babel installed its own callables first).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.filters.update(
        money=money,
        money_whole=money_whole,
        percent_bp=percent_from_bp,
        qty=format_quantity,
        qty_number=quantity_number,
        unit=unit_label,
        local_dt=format_local_datetime,
        local_time=format_local_time,
        day=format_day,
    )
    app.jinja_env.globals.update(url_with=url_with, LANGUAGE_NAMES=LANGUAGE_NAMES, section_tabs=section_tabs)
    app.jinja_env.add_extension("jinja2.ext.do")

    @app.context_processor
    def _common():
        return {
            "role_nav": role_nav,
            "current_locale": str(get_locale() or "en"),
            "languages": current_app.config["LANGUAGES"],
        }
