"""Security headers (Flask-Talisman), private pages, safe redirects and per-request database intent.

Talisman sets HSTS (a year, subdomains included) on HTTPS responses, redirects plain HTTP to
HTTPS when FORCE_HTTPS is on (production; the proxy says which scheme the client used, see
web/security.py), and sends the CSP, X-Frame-Options, nosniff, Referrer-Policy and
Permissions-Policy on every response. On top of it: `Cache-Control: no-store` on every page
of a signed-in user and on pages marked `private_page`; `Referrer-Policy: no-referrer` on
pages marked `token_page` (a link from an email with a secret in its fragment).
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from flask import Flask, current_app, request
from flask_talisman import Talisman

from marketplace.core.dialects import write_intent
from marketplace.core.events import signed_in_user_id



def is_safe_next_url(target: str | None) -> bool:
    """A `next` URL is followed only when it stays on this site."""
    if not target:
        return False
    if target.startswith(("//", "\\")) or "\\" in target:
        return False
    # Control characters (a CRLF would split the Location header) and anything with a scheme
    # or a host of its own (`http:evil.example` is a path to urljoin, a host to browsers).
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return False
    own = urlsplit(target)
    if own.scheme or own.netloc:
        return False
    host_url = request.host_url
    parts = urlsplit(urljoin(host_url, target))
    return parts.scheme in ("http", "https") and parts.netloc == urlsplit(host_url).netloc


def content_security_policy() -> str:
    """The policy for this app's current config (card payments add Stripe's origins)."""
    return _policy_for(current_app.config.get("STRIPE_JS_URL", ""),
                       current_app.config.get("STRIPE_API_BASE") or "https://api.stripe.com")


@lru_cache(maxsize=16)
def _policy_for(stripe_js: str, api_base: str) -> str:
    stripe_origin = origin_of(stripe_js)
    api_origin = origin_of(api_base)
    script_src = " ".join(filter(None, ["'self'", stripe_origin]))
    frame_src = " ".join(filter(None, ["'self'", stripe_origin]))
    connect_src = " ".join(filter(None, ["'self'", stripe_origin, api_origin]))
    return (
        "default-src 'self'; "
        f"script-src {script_src}; "
        "style-src 'self'; "
        "img-src 'self' data: blob: https://tile.openstreetmap.org https://*.tile.openstreetmap.org; "
        f"connect-src {connect_src}; "
        f"frame-src {frame_src}; "
        "media-src 'self' blob:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


@lru_cache(maxsize=16)
def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


class _LivePolicy(Mapping):
    """Talisman's CSP, read from the config on every response (a test or `make run` may switch
    card payments on after the app is built). Talisman accepts any mapping of directive to sources;
    it reads every directive of it on every response, so the policy and its parsing are kept per
    config (they were a fifth of a cached page's time)."""

    def _parsed(self) -> dict[str, str]:
        return _directives(content_security_policy())

    def __getitem__(self, key):
        return self._parsed()[key]

    def __iter__(self):
        return iter(self._parsed())

    def __len__(self):
        return len(self._parsed())


def origin_of(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def private_page(view):
    """Never stored by a browser or proxy (`Cache-Control: no-store`), signed in or not."""
    view.private_page = True
    return view


def public_asset(view):
    """The same for everyone, signed in or not (an image): a browser may keep it, and the
    headers of private pages are left off."""
    view.public_asset = True
    return view


def token_page(view):
    """A page opened from an emailed link with a secret: private, and no Referer leaves it."""
    view.token_page = True
    return private_page(view)


def https_exempt(view):
    """Served over plain HTTP too (a health check the load balancer calls on the app directly)."""
    view.talisman_view_options = {**getattr(view, "talisman_view_options", {}), "force_https": False}
    return view


def _view_flag(name: str) -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, name, False))


def _signed_in() -> bool:
    # Flask-Login keeps the user it loaded in g; a page that never looked has shown nobody's data.
    return signed_in_user_id() is not None


def init_app(app: Flask) -> None:
    @app.before_request
    def _declare_write_intent():
        write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))

    # Registered before Talisman, so it runs after Talisman's (after_request runs in reverse)
    # and its per-page Referrer-Policy stands.
    @app.after_request
    def _private_pages(response):
        if request.endpoint == "static" or _view_flag("public_asset"):
            return response
        if _view_flag("token_page"):
            response.headers["Referrer-Policy"] = "no-referrer"
        if response.headers.get("Content-Disposition", "").startswith("attachment"):
            # A download (a certificate) is never a page: nothing in it may run or load.
            response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        if _signed_in() or _view_flag("private_page"):
            response.headers["Cache-Control"] = "no-store"
            response.vary.add("Cookie")
        return response

    Talisman(
        app,
        force_https=app.config.get("FORCE_HTTPS", False),
        strict_transport_security=True,
        strict_transport_security_max_age=365 * 24 * 3600,
        strict_transport_security_include_subdomains=True,
        content_security_policy=_LivePolicy(),
        frame_options="DENY",
        referrer_policy="same-origin",
        permissions_policy="camera=(self), geolocation=()",
        feature_policy={},
        document_policy={},
        # The cookie flags are config (SESSION_COOKIE_SECURE is on in production); Talisman must
        # not turn Secure on for `make run` over plain HTTP.
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
        session_cookie_http_only=True,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
    )
