"""Security headers, safe redirects and per-request database intent."""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from flask import Flask, current_app, request

from marketplace.core.dialects import write_intent


def is_safe_next_url(target: str | None) -> bool:
    """A `next` URL is followed only when it stays on this site."""
    if not target:
        return False
    if target.startswith("//") or target.startswith("\\") or "\\" in target:
        return False
    host_url = request.host_url
    parts = urlsplit(urljoin(host_url, target))
    return parts.scheme in ("http", "https") and parts.netloc == urlsplit(host_url).netloc


def content_security_policy() -> str:
    stripe_js = current_app.config.get("STRIPE_JS_URL", "")
    stripe_origin = origin_of(stripe_js)
    api_origin = origin_of(current_app.config.get("STRIPE_API_BASE") or "https://api.stripe.com")
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
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def origin_of(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def init_app(app: Flask) -> None:
    @app.before_request
    def _declare_write_intent():
        write_intent.set(request.method not in ("GET", "HEAD", "OPTIONS"))

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", "camera=(self), geolocation=()")
        return response
