"""Security and business events as log lines with fields (rendered as JSON by the app's log setup).

`security_event("login_failed", outcome="refused", user_id=None, email_hash=...)` — who, what,
from where, outcome; the request id is added by the web layer's log filter. Never pass a
password, a token or card data: only ids and outcomes.
"""
from __future__ import annotations

import logging

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import inspect

security_log = logging.getLogger("aimak.security")
event_log = logging.getLogger("aimak.events")

#: A field whose name holds one of these is never written, whatever a caller passes.
SECRET_WORDS = ("password", "token", "secret", "card", "cvc")


def _address() -> str | None:
    return request.remote_addr if has_request_context() else None


def signed_in_user_id() -> int | None:
    """The id of the user this request already loaded (Flask-Login keeps it in g), or None.

    Never a query: after the request's commit or rollback the user is expired, and reading its
    `id` or `is_authenticated` (which reads `active`) would load it and its roles again — two
    statements per checkout, only to write a log line or choose a header. The identity is kept.
    """
    user = g.get("_login_user") if has_app_context() else None
    if user is None or user.is_anonymous:
        return None
    identity = inspect(user).identity
    return identity[0] if identity else None


def _without_secrets(fields: dict) -> dict:
    return {key: "[withheld]" if any(word in key.lower() for word in SECRET_WORDS) else value
            for key, value in fields.items()}


def security_event(event: str, *, outcome: str, user_id: int | None = None, **fields) -> None:
    """One line for a security event (login, throttling, access refused, role change ...).

    `user_id` is who acted; left out, it is the signed-in user of the request, if any.
    """
    if user_id is None:
        user_id = signed_in_user_id()
    security_log.info(event, extra={"event": event, "outcome": outcome, "user_id": user_id,
                                    "address": _address(), **_without_secrets(fields)})


def business_event(event: str, **fields) -> None:
    """One line for something a person would want to find later (a job's report, a refund)."""
    event_log.info(event, extra={"event": event, **fields})
