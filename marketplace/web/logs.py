"""Where the app's log lines go.

A minimal setup so that INFO lines — security events above all (DESIGN.md rule 10) — reach
the console under `make run` and gunicorn instead of being dropped by Python's default
WARNING level. The service work replaces the body of `configure_logging` with JSON lines
and request ids; callers keep calling this one function from create_app.
"""
from __future__ import annotations

import logging

from flask import Flask

#: Fields a security or business event carries (core/events.py) and a text line shows.
EVENT_FIELDS = ("event", "outcome", "user_id", "address")


class _EventFields(logging.Filter):
    """Appends an event's fields to its text line: `login_failed outcome=refused user_id=3 ...`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "event", None) is None:
            record.event_fields = ""
            return True
        standard = logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "event_fields"}
        extra = {key: value for key, value in record.__dict__.items()
                 if key not in standard and key != "event" and value is not None}
        record.event_fields = "".join(f" {key}={value}" for key, value in extra.items())
        return True


#: The app's loggers: events (core/events.py) and the code's own (`marketplace.*`, Flask's app.logger).
APP_LOGGERS = ("aimak", "marketplace")


def configure_logging(app: Flask) -> None:
    """INFO and above of the app's loggers to stderr, once per process."""
    level = app.config.get("LOG_LEVEL", "INFO")
    for name in APP_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if any(getattr(handler, "aimak_handler", False) for handler in logger.handlers):
            continue
        handler = logging.StreamHandler()
        handler.aimak_handler = True
        handler.addFilter(_EventFields())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s%(event_fields)s"))
        logger.addHandler(handler)
