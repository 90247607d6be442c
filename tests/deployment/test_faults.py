"""What the service does when its parts fail: Redis stopped, a mail server slower than our timeout.

Redis here is a server of the test's own on a free port (never the shared one), stopped
half way through.
"""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis
from sqlalchemy import select

from marketplace.cli import create_app
from marketplace.core.extensions import db
from marketplace.notifications.models import OutboxEmail
from marketplace.notifications.services import deliver, message_id, queue_email
from marketplace.tasks import queue_of
from tests.factories import TEST_PASSWORD, UserFactory
from tests.smtp_server import SmtpSink
from tests.stripe_server import free_port


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_timeout=1)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)

    class Server:
        url = f"redis://127.0.0.1:{port}/0"

        @staticmethod
        def stop():
            process.terminate()
            process.wait(10)

    yield Server
    if process.poll() is None:
        Server.stop()


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_with_redis_stopped_pages_logins_and_emails_still_work(database_url, tmp_path, own_redis):
    app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "MEDIA_ROOT": str(tmp_path),
                      "REDIS_URL": own_redis.url, "RATELIMIT_STORAGE_URI": own_redis.url, "RATE_LIMITS_ON": True,
                      "TASK_QUEUE_IMMEDIATE": False, "PAGE_CACHE_SECONDS": 60, "REDIS_TIMEOUT_SECONDS": 0.3})
    client = app.test_client()
    with app.app_context():
        email = UserFactory(email="shopper@example.test").email
        db.session.commit()
    try:
        assert client.get("/products").status_code == 200
        assert client.get("/readyz").status_code == 200
        own_redis.stop()

        for path in ("/products", "/products", "/markets"):
            response, seconds = _timed(lambda: client.get(path))
            assert response.status_code == 200 and seconds < 3, (path, seconds)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and set(ready.json["failed"]) == {"redis", "queue"}

        response, seconds = _timed(lambda: client.post("/login", data={"email": email, "password": "wrong"}))
        assert response.status_code in (200, 429) and seconds < 5, (response.status_code, seconds)
        response = client.post("/login", data={"email": email, "password": TEST_PASSWORD})
        assert response.status_code == 302
        client.post("/logout")
        response = client.post("/password/forgot", data={"email": email})
        assert response.status_code in (200, 302), response.status_code

        # The email could not be queued, but it is in the outbox: the worker's send-outbox sends it.
        with app.app_context():
            waiting = db.session.scalars(select(OutboxEmail).where(OutboxEmail.sent_at.is_(None))).all()
            assert waiting
            assert deliver() == len(waiting)
            with pytest.raises(redis.RedisError):
                queue_of(app).check()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_mail_server_answering_after_our_timeout_gets_the_same_message_id_again(app, ctx):
    """The server accepts the message after we gave up waiting: our retry carries the same
    Message-ID, so the second copy is recognisable (and mail servers drop it as a duplicate)."""
    with SmtpSink(delay=2.5) as smtp:
        saved = {key: app.config.get(key) for key in (*smtp.config(), "MAIL_TIMEOUT_SECONDS")}
        app.config.update(smtp.config(), MAIL_TIMEOUT_SECONDS=1)
        try:
            user = UserFactory()
            email = queue_email(user.email, "verify_email", "Slow", user=user, token="t")
            db.session.commit()
            assert deliver() == 0  # timed out: to be retried after its back-off
            row = db.session.get(OutboxEmail, email.id)
            assert row.status == "retrying" and "timed out" in row.last_error
            time.sleep(2)  # meanwhile the server accepted it
            row.next_attempt_at = None
            db.session.commit()
            app.config["MAIL_TIMEOUT_SECONDS"] = 10
            assert deliver() == 1
            assert smtp.message_ids() == [message_id(row)] * 2
        finally:
            app.config.update(saved)
