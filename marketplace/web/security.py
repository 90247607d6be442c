"""The HTTP edge's security parts that every feature shares.

- Proxies: `TRUSTED_PROXIES` proxies in front of the app (nginx: 1) set X-Forwarded-For/-Proto/
  -Host/-Port; ProxyFix believes exactly that many, so `request.remote_addr` is the client and
  `request.is_secure` says whether the client used HTTPS. With 0 nothing is believed.
- Rate limits: Flask-Limiter counts in Redis when REDIS_URL is set (every worker and host sees
  one count), and falls back to counting in memory while Redis is away — never a 500. Limits
  are keyed by the client's address (`address_key`: an IPv6 client by its /64 network).
- Input: every submitted value (form fields and query arguments) is NFC-normalised as the
  request is parsed, before any form or view reads it, and NUL characters are dropped; number
  fields take ASCII digits only.
- Events: a 403/404 shown to a signed-in user on a real page (another user's object, a page
  of another role) and every 429 leave a security event line.
- Sessions: `keep_at_login(app, key)` names a session key that survives the fresh session a
  login starts (the basket's key); everything else a visitor had before logging in is dropped.
"""
from __future__ import annotations

import ipaddress
import os
import time
import unicodedata
from collections.abc import Callable

from flask import Flask, current_app, g, request
from flask import Request as FlaskRequest
from babel import support
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.middleware.proxy_fix import ProxyFix
from wtforms import DecimalField, FloatField, IntegerField
from wtforms.fields import DecimalRangeField, IntegerRangeField
from wtforms.i18n import messages_path as wtforms_messages_path
from wtforms.validators import StopValidation

from marketplace.core.events import security_event, signed_in_user_id
from marketplace.core.extensions import limiter

#: Number fields whose raw text must be ASCII digits (Python's int() also takes '٣' and '３').
NUMBER_FIELDS = (IntegerField, FloatField, DecimalField, IntegerRangeField, DecimalRangeField)
#: app.extensions key: session keys kept when a login starts a fresh session.
KEPT_AT_LOGIN = "aimak.session_keys_kept_at_login"
#: Endpoints whose 404s are not probes of others' objects (assets, the error page itself).
_QUIET_ENDPOINTS = frozenset({"static", "media.image"})


# --- Proxies and addresses -------------------------------------------------------------

def trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-* from exactly TRUSTED_PROXIES proxies (0: from none)."""
    count = int(app.config.get("TRUSTED_PROXIES") or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)


def address_key() -> str:
    """The client's address for counting: IPv4 as is, IPv6 by its /64 (one household or phone)."""
    address = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


# --- Rate limits -----------------------------------------------------------------------

def configure_limiter(app: Flask) -> None:
    """Flask-Limiter's storage from REDIS_URL, with the in-memory fallback; call before limiter.init_app."""
    config = app.config
    if config.get("REDIS_REQUIRED"):
        config["REDIS_URL"] = config.get("REDIS_URL") or os.environ.get("REDIS_URL", "")
        if not config["REDIS_URL"]:
            raise RuntimeError("Production needs these environment variables: REDIS_URL "
                               "(login throttling and rate limits counted once for every worker and host)")
    if not config.get("RATELIMIT_STORAGE_URI"):
        config["RATELIMIT_STORAGE_URI"] = config.get("REDIS_URL") or "memory://"
    if config["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://", "unix://")):
        timeout = config.get("REDIS_TIMEOUT_SECONDS", 0.5)
        config.setdefault("RATELIMIT_STORAGE_OPTIONS", {
            "socket_timeout": timeout, "socket_connect_timeout": timeout})
    # Redis away: count in this process instead (each worker alone) until it is back.
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    # Whatever else goes wrong with the counting, the request is served rather than a 500.
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    config.setdefault("RATELIMIT_KEY_PREFIX", "aimak-limits")


def limits_off() -> bool:
    """Rate limits are switched off for this app (RATE_LIMITS_ON, read per request)."""
    return not current_app.config.get("RATE_LIMITS_ON", True)


def config_limit(name: str) -> Callable[[], str]:
    """A limit read from the config when the request comes, e.g. config_limit("REGISTER_RATE_LIMIT")."""
    return lambda: current_app.config[name]


def address_limit(name: str, *, scope: str | None = None, methods: list[str] | None = None,
                  exempt_when: Callable[[], bool] | None = None):
    """Decorate a view with the limit in config[name], counted per client address."""

    def exempt() -> bool:
        return limits_off() or bool(exempt_when and exempt_when())

    return limiter.limit(config_limit(name), key_func=address_key, methods=methods,
                         exempt_when=exempt, scope=scope or name.lower())


def search_throttle(view):
    """Searches (`?q=`) per address: SEARCH_RATE_LIMIT; browsing without a query is not counted."""
    return address_limit("SEARCH_RATE_LIMIT", scope="search",
                         exempt_when=lambda: not (request.args.get("q") or "").strip())(view)


# --- Cookies -----------------------------------------------------------------------------

class HostPrefixedCookies:
    """WSGI middleware (production, COOKIE_HOST_PREFIX): every cookie the app sets — the
    session, remember-me, device, language, any a feature adds — reaches the browser as
    `__Host-<name>`, Secure, Path=/, without Domain, which the browser keeps only from HTTPS for
    this very host. Coming back, only `__Host-` cookies are read (a cookie planted by another
    subdomain or over plain HTTP is ignored), under their plain names: the app never sees the
    prefix, so no feature has to know about it.
    """

    PREFIX = "__Host-"

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("HTTP_COOKIE"):
            environ["HTTP_COOKIE"] = self.incoming(environ["HTTP_COOKIE"])

        def prefixed_start_response(status, headers, exc_info=None):
            headers = [(name, self.outgoing(value) if name.lower() == "set-cookie" else value)
                       for name, value in headers]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, prefixed_start_response)

    @classmethod
    def incoming(cls, header: str) -> str:
        kept = []
        for chunk in header.split(";"):
            name, sep, value = chunk.strip().partition("=")
            if sep and name.startswith(cls.PREFIX) and len(name) > len(cls.PREFIX):
                kept.append(f"{name[len(cls.PREFIX):]}={value}")
        return "; ".join(kept)

    @classmethod
    def outgoing(cls, header: str) -> str:
        first, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        if not name.startswith(cls.PREFIX):
            name = cls.PREFIX + name
        kept = [a for a in attributes if a and a.split("=", 1)[0].strip().lower() not in ("domain", "path", "secure")]
        return "; ".join([f"{name}={value}", *kept, "Secure", "Path=/"])


# --- Input -----------------------------------------------------------------------------

def nfc(value):
    """NFC, and no NUL: PostgreSQL refuses NUL in text (a 500 whose log line carried the
    statement's parameters), and no honest form holds one."""
    return unicodedata.normalize("NFC", value).replace("\x00", "") if isinstance(value, str) else value


class NFCMultiDict(ImmutableMultiDict):
    """Form fields and query arguments with every text value in NFC ('Ме\u0308д' is 'Мёд')."""

    def __init__(self, mapping=None):
        if mapping is None:
            super().__init__()
            return
        super().__init__([(key, nfc(value)) for key, value in MultiDict(mapping).items(multi=True)])


class Request(FlaskRequest):
    parameter_storage_class = NFCMultiDict


def ascii_digits_only(form, field) -> None:
    """A number typed with other digits (Arabic-Indic '٣', full-width '３') is refused, not read."""
    raw = field.raw_data[0] if field.raw_data else ""
    if isinstance(raw, str) and not raw.isascii():
        field.errors[:] = []  # ours says more than "Not a valid integer value."
        raise StopValidation(str(_l("Write numbers with the digits 0–9.")))


def _bind_field(meta, form, unbound_field, options):
    field = unbound_field.bind(form=form, **options)
    if isinstance(field, NUMBER_FIELDS):
        field.validators = [ascii_digits_only, *field.validators]
    return field


def check_number_fields() -> None:
    """Every FlaskForm's number fields check their raw text first (see ascii_digits_only), and
    WTForms' own messages come in the page's language (see FormTranslations)."""
    FlaskForm.Meta.bind_field = _bind_field
    FlaskForm.Meta.get_translations = _form_translations


#: Our catalogues of WTForms' messages for languages WTForms has none of (ky): <locale>/LC_MESSAGES/wtforms.po.
_TRANSLATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "translations")


class FormTranslations:
    """WTForms' own messages ("Field cannot be longer than 120 characters.", "Not a valid choice."):
    WTForms' catalogue of the page's language, else ours (WTForms ships ru and kk but no ky, so a
    Kyrgyz page answered a too-long name in English)."""

    def __init__(self):
        # Catalogues per language, read from disk once per process (they change only with a release).
        self._by_locale: dict[str, support.NullTranslations] = {}

    def _catalogue(self):
        locale = str(get_locale())
        catalogue = self._by_locale.get(locale)
        if catalogue is None:
            catalogue = support.Translations.load(wtforms_messages_path(), [locale], domain="wtforms")
            if not isinstance(catalogue, support.Translations):  # WTForms has none for this language
                catalogue = support.Translations.load(_TRANSLATIONS_DIR, [locale], domain="wtforms")
            self._by_locale[locale] = catalogue
        return catalogue

    def gettext(self, string):
        return self._catalogue().ugettext(string) if request else string

    def ngettext(self, singular, plural, n):
        if not request:
            return singular if n == 1 else plural
        return self._catalogue().ungettext(singular, plural, n)


_FORM_TRANSLATIONS = FormTranslations()


def _form_translations(meta, form):
    return _FORM_TRANSLATIONS if current_app.config.get("WTF_I18N_ENABLED", True) else None


# --- Sessions --------------------------------------------------------------------------

def keep_at_login(app: Flask, *keys: str) -> None:
    """These session keys survive the fresh session a login starts (a feature's own state)."""
    app.extensions.setdefault(KEPT_AT_LOGIN, set()).update(keys)


def session_keys_kept_at_login() -> frozenset[str]:
    return frozenset(current_app.extensions.get(KEPT_AT_LOGIN, ()))


# --- Events ----------------------------------------------------------------------------

def _log_refusals(response):
    status = response.status_code
    if status == 429 and "Retry-After" not in response.headers:
        current = limiter.current_limit  # Flask-Limiter's refusal: when its window ends
        if current is not None:
            response.headers["Retry-After"] = str(max(1, int(current.reset_at - time.time())))
    if status == 429 and not getattr(response, "security_event_logged", False):
        security_event("rate_limited", outcome="refused", user_id=signed_in_user_id(),
                       endpoint=request.endpoint, method=request.method)
    elif status in (403, 404) and request.url_rule is not None and request.endpoint not in _QUIET_ENDPOINTS:
        user_id = signed_in_user_id()
        if user_id is not None or status == 403:
            # A signed-in user asking for a page that exists but not for them: another
            # user's order, a producer page of someone else, an admin page.
            security_event("access_refused", outcome="not_found" if status == 404 else "forbidden",
                           user_id=user_id, endpoint=request.endpoint, method=request.method,
                           path=request.path)
    return response


def init_app(app: Flask) -> None:
    trust_proxies(app)
    if app.config.get("COOKIE_HOST_PREFIX"):
        app.wsgi_app = HostPrefixedCookies(app.wsgi_app)
    app.request_class = Request
    check_number_fields()
    app.after_request(_log_refusals)
