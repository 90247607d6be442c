"""`/healthz` (the process answers) and `/readyz` (what it needs is reachable), for load
balancers, systemd and the deployment guide's checks.

`/readyz` asks the database, Redis (when REDIS_URL is set), the file storage and the task
queue, and answers 503 naming what failed. Neither counts against rate limits, is cached, or
is redirected to HTTPS (a balancer asks the app's own port over plain HTTP); their request
lines are logged at DEBUG only.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

from marketplace.core.extensions import db, limiter
from marketplace.core.redisconn import redis_reachable
from marketplace.storage import storage
from marketplace.tasks import queue_of
from marketplace.web.headers import https_exempt

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


def _database() -> None:
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


def _redis() -> None:
    if not redis_reachable(current_app):
        raise ConnectionError("no answer to PING")


#: name -> check (raises when failing); Redis only when configured.
CHECKS = {
    "database": _database,
    "redis": _redis,
    "storage": lambda: storage().check(),
    "queue": lambda: queue_of(current_app).check(),
}


def _answer(body: dict, status: int):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
def healthz():
    return _answer({"status": "ok"}, 200)


@bp.route("/readyz")
def readyz():
    checks, failed = {}, []
    for name, check in CHECKS.items():
        if name == "redis" and not current_app.config.get("REDIS_URL"):
            checks[name] = "not configured"
            continue
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - each failure is reported by name, not raised
            log.warning("Readiness: %s failed: %s", name, exc)
            checks[name] = f"failed: {type(exc).__name__}"
            failed.append(name)
        else:
            checks[name] = "ok"
    return _answer({"status": "failing" if failed else "ok", "failed": failed, "checks": checks},
                   503 if failed else 200)


def init_app(app: Flask) -> None:
    for view in (healthz, readyz):
        https_exempt(view)  # a balancer probes the app's port over plain HTTP
    limiter.exempt(bp)
    app.register_blueprint(bp)
