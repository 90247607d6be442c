"""Security and business events as log lines with fields (rendered as JSON by the app's log setup).

`security_event("login_failed", outcome="refused", user_id=None, email_hash=...)` — who, what,
from where, outcome; the request id is added by the web layer's log filter. Never pass a
password, a token or card data: only ids and outcomes.
"""
from __future__ import annotations

import logging

from flask import has_request_context, request

security_log = logging.getLogger("aimak.security")
event_log = logging.getLogger("aimak.events")


def _address() -> str | None:
    return request.remote_addr if has_request_context() else None


def security_event(event: str, *, outcome: str, user_id: int | None = None, **fields) -> None:
    """One line for a security event (login, throttling, access refused, role change ...)."""
    security_log.info(event, extra={"event": event, "outcome": outcome, "user_id": user_id,
                                    "address": _address(), **fields})


def business_event(event: str, **fields) -> None:
    """One line for something a person would want to find later (a job's report, a refund)."""
    event_log.info(event, extra={"event": event, **fields})
