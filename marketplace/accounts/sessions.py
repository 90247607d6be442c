"""Starting a signed-in session, and the browser's device cookie (the edge: reads the request).

A login (and a privilege change of the signed-in user) starts a fresh session: everything
the browser carried before is dropped — a session cookie and CSRF token someone planted
before the login are worth nothing after it — except the keys a feature asked to keep
(web.security.keep_at_login: the basket's key). Flask's session is a signed cookie, so a fresh
session is a new cookie value with a new CSRF token and a new random session id.
"""
from __future__ import annotations

import secrets

from flask import current_app, g, request, session
from flask_login import login_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from marketplace.accounts.models import User
from marketplace.web.security import session_keys_kept_at_login

#: A device cookie lives a year; each login renews it.
DEVICE_COOKIE_SECONDS = 365 * 24 * 3600
#: A random value set in the session at registration: the confirmation link carries it too.
REGISTRATION_NONCE = "registration"


def start_session(user: User, remember: bool = False) -> None:
    """Clear the session (keeping only the kept keys), re-key it and sign the user in."""
    kept = {key: session[key] for key in session_keys_kept_at_login() if key in session}
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF's per-request copy: the next form gets a new token
    session.update(kept)
    session["sid"] = secrets.token_urlsafe(16)  # a new cookie value even for an empty session
    login_user(user, remember=remember, fresh=True)


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="login-device")


def device_cookie() -> tuple[int | None, str]:
    """(user id, device id) named by this browser's device cookie, or (None, '')."""
    raw = request.cookies.get(current_app.config["DEVICE_COOKIE_NAME"])
    if not raw:
        return None, ""
    try:
        data = _device_serializer().loads(raw, max_age=DEVICE_COOKIE_SECONDS)
    except BadSignature:
        return None, ""
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("d"), str):
        return None, ""
    return data["u"], data["d"]


def remember_device(response, user: User) -> None:
    """Mark this browser as one the user logged in with (a new device id each login)."""
    value = _device_serializer().dumps({"u": user.id, "d": secrets.token_urlsafe(16)})
    response.set_cookie(current_app.config["DEVICE_COOKIE_NAME"], value, max_age=DEVICE_COOKIE_SECONDS,
                        path="/", secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
                        samesite="Lax")


def new_registration_nonce() -> str:
    nonce = secrets.token_urlsafe(16)
    session[REGISTRATION_NONCE] = nonce
    return nonce
