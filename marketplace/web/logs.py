"""Where the app's log lines go, and what each request leaves in them.

- One line per request: request id, method, path (a `token` part of the URL left out), status,
  duration, user id (`request`).
- One line per event (core/events.py: security and business events), its fields included.
- LOG_FORMAT=json writes each line as one JSON object (production: a log shipper reads
  them); "text" writes `time LEVEL logger: message key=value ...` (development).
- The request id comes from the proxy's X-Request-ID (nginx: `$request_id`) or is made here;
  it is returned in the X-Request-ID header, added to every line logged during the request,
  and shown on the 500 page so a person can quote it.
- INFO is kept (LOG_LEVEL): security events must never be dropped (DESIGN.md rule 10).
- SENTRY_DSN turns on sentry-sdk (errors, with the request id as a tag; no personal data).
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import datetime, timezone

import sentry_sdk
from flask import Flask, current_app, g, has_request_context, request
from sentry_sdk.integrations.flask import FlaskIntegration

from marketplace.core.events import signed_in_user_id

#: The app's loggers: events (core/events.py) and the code's own (`marketplace.*`, Flask's app.logger).
APP_LOGGERS = ("aimak", "marketplace")
#: Chatty libraries kept at WARNING whatever LOG_LEVEL says (`flask worker` lets huey's INFO through).
QUIET_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "PIL", "huey")
#: Requests logged at DEBUG only: a load balancer asks every few seconds.
QUIET_PATHS = frozenset({"/healthz", "/readyz"})
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
request_log = logging.getLogger("aimak.request")


def _fields(record: logging.LogRecord) -> dict:
    """What the caller passed as `extra` (an event's fields), plus the request id."""
    return {key: value for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_") and value is not None}


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context():
            record.request_id = g.get("request_id")
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        line.update(_fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = _fields(record)
        fields.pop("event", None)
        extra = "".join(f" {key}={value}" for key, value in fields.items())
        if not extra:
            return text
        head, newline, rest = text.partition("\n")  # fields on the first line, before a traceback
        return head + extra + newline + rest


def configure_logging(app: Flask) -> None:
    """One handler on the root logger (stderr), in the app's format; request ids and lines."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "aimak_handler", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.aimak_handler = True
        handler.addFilter(_RequestId())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if app.config.get("LOG_FORMAT") == "json" else TextFormatter())
    level = app.config.get("LOG_LEVEL", "INFO")
    for name in ("", *APP_LOGGERS):
        logging.getLogger(name).setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if app.config.get("LOG_FORMAT") == "json":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # our request line replaces its own
    if app.config.get("SENTRY_DSN"):
        _start_sentry(app)
    app.before_request(_start_request)
    app.after_request(_end_request)


def _start_sentry(app: Flask) -> None:
    sentry_sdk.init(dsn=app.config["SENTRY_DSN"], integrations=[FlaskIntegration()], send_default_pii=False,
                    environment=os.environ.get("AIMAK_CONFIG", "development"), traces_sample_rate=0)
    app.extensions["sentry"] = sentry_sdk


#: URL parts (route arguments) never written to a log.
SECRET_URL_ARGS = frozenset({"token"})


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def _start_request() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    if "sentry" in current_app.extensions:
        current_app.extensions["sentry"].set_tag("request_id", g.request_id)


def _loggable_path() -> str:
    """The path with any URL part named `token` (an unsubscribe link's signed token) left out:
    logs are kept and read by more people than the one who holds the link."""
    secrets = [str(value) for name, value in (request.view_args or {}).items() if name in SECRET_URL_ARGS]
    path = request.path
    for secret in secrets:
        path = path.replace(secret, "<token>")
    return path


def _end_request(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    duration_ms = round((time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000, 1)
    path = _loggable_path()
    request_log.log(logging.DEBUG if request.path in QUIET_PATHS else logging.INFO,
                    "%s %s %s", request.method, path, response.status_code,
                    extra={"event": "request", "request_id": g.get("request_id"), "method": request.method, "path": path,
                           "status": response.status_code, "duration_ms": duration_ms,
                           "user_id": signed_in_user_id()})
    return response
