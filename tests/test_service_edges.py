"""Health checks, request ids and log lines."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from marketplace.cli import create_app
from marketplace.core.events import security_event
from marketplace.web.logs import JsonFormatter, TextFormatter
from tests.factories import UserFactory
from tests.query_counter import count_queries
from tests.stripe_server import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_healthz_and_readyz_answer_when_all_is_well(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.headers["Cache-Control"] == "no-store"
    assert ready.json["checks"] == {"database": "ok", "redis": "not configured", "storage": "ok", "queue": "ok"}


def test_readyz_names_what_failed(database_url, tmp_path):
    gone = f"redis://127.0.0.1:{free_port()}/7"  # nothing listens there
    app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "MEDIA_ROOT": str(tmp_path),
                      "REDIS_URL": gone, "TASK_QUEUE_IMMEDIATE": False, "RATELIMIT_STORAGE_URI": "memory://"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["redis", "queue"]
    assert response.json["checks"]["database"] == "ok"
    assert app.test_client().get("/healthz").status_code == 200


def test_each_request_has_an_id_in_its_header_and_its_log_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="aimak.request"):
        response = client.get("/markets")
        passed = client.get("/markets", headers={"X-Request-ID": "from-nginx-0123456789"})
        forged = client.get("/markets", headers={"X-Request-ID": "bad id {json}"})
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32 and passed.headers["X-Request-ID"] == "from-nginx-0123456789"
    assert forged.headers["X-Request-ID"] != "bad id {json}"
    [line] = [r for r in caplog.records if r.name == "aimak.request" and getattr(r, "request_id", None) == request_id]
    assert (line.method, line.path, line.status, line.event) == ("GET", "/markets", 200, "request")
    assert line.duration_ms >= 0 and line.user_id is None



def test_a_signed_in_request_that_commits_is_logged_with_its_user_and_kept_private(ctx, client, login, caplog, app):
    # After the commit the user is expired: its id comes from the identity, not a second load.
    user = UserFactory(locale="ru")
    login(user.email)
    statements = []
    with caplog.at_level(logging.INFO, logger="aimak.request"), count_queries(app) as statements:
        response = client.post("/language", data={"locale": "kk", "next": "/markets"})
    assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
    [line] = [r for r in caplog.records if r.name == "aimak.request" and r.path == "/language"]
    assert line.user_id == user.id
    assert sum(1 for s in statements if "FROM user_role" in s) == 1, "\n".join(statements)

def test_a_token_in_a_url_stays_out_of_the_request_log(client, caplog):
    # Attack on #18: an unsubscribe link's signed token reached every request log line.
    with caplog.at_level(logging.INFO, logger="aimak.request"):
        client.get("/unsubscribe/secret-token-value.abc123")
    [line] = [r for r in caplog.records if r.name == "aimak.request"]
    assert "secret-token-value" not in line.getMessage() and "secret-token-value" not in line.path
    assert line.path == "/unsubscribe/<token>"


def test_a_500_page_shows_the_request_id(database_url, tmp_path):
    app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "MEDIA_ROOT": str(tmp_path),
                      "PROPAGATE_EXCEPTIONS": False})

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] in response.text


def _record(caplog) -> logging.LogRecord:
    with caplog.at_level(logging.INFO, logger="aimak.security"):
        security_event("login_failed", outcome="refused", user_id=7, email_hash="ab12")
    return caplog.records[-1]


def test_an_event_is_one_json_line_with_its_fields(caplog):
    line = json.loads(JsonFormatter().format(_record(caplog)))
    assert line["message"] == "login_failed" and line["level"] == "INFO" and line["logger"] == "aimak.security"
    assert line["event"] == "login_failed" and line["outcome"] == "refused" and line["user_id"] == 7
    assert line["email_hash"] == "ab12" and "time" in line


def test_an_event_in_text_carries_its_fields(caplog):
    text = TextFormatter().format(_record(caplog))
    assert "login_failed" in text and "outcome=refused" in text and "user_id=7" in text


def test_sentry_starts_only_with_a_dsn(database_url, tmp_path):
    """In a process of its own: sentry-sdk, once started, stays for the whole process."""
    code = ("from marketplace import create_app; import sentry_sdk; "
            "print(sentry_sdk.get_client().is_active()); "
            f"create_app({{'BASE_CONFIG': 'testing', 'SQLALCHEMY_DATABASE_URI': {database_url!r}, "
            f"'MEDIA_ROOT': {str(tmp_path)!r}, 'SENTRY_DSN': 'https://public@127.0.0.1:9/1'}}); "
            "print(sentry_sdk.get_client().is_active())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stdout.split() == ["False", "True"], result.stderr[-2000:]
