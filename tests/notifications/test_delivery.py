"""Email delivery by the worker: claimed once, a fixed Message-ID, retried with back-off, given up visibly."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from marketplace.cli import create_app
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.notifications.models import OutboxEmail
from marketplace.notifications.services import MAX_ATTEMPTS, deliver, message_id, queue_email, retry_delay
from marketplace.tasks import queue_of
from tests.factories import UserFactory
from tests.smtp_server import SmtpSink
from tests.stripe_server import free_port


@pytest.fixture
def smtp(app):
    with SmtpSink() as sink:
        saved = {key: app.config.get(key) for key in sink.config()}
        app.config.update(sink.config())
        yield sink
        app.config.update(saved)


def _queue(n: int = 1) -> list[int]:
    user = UserFactory()
    emails = [queue_email(user.email, "verify_email", f"Hello {i}", user=user, token=f"t{i}") for i in range(n)]
    db.session.commit()
    return [email.id for email in emails]


def _row(email_id: int) -> OutboxEmail:
    db.session.expire_all()
    return db.session.get(OutboxEmail, email_id)


def test_an_email_goes_over_smtp_with_its_fixed_message_id(ctx, smtp):
    [email_id] = _queue()
    assert deliver() == 1
    [message] = smtp.messages
    assert message["Message-ID"] == message_id(_row(email_id))
    assert message["Subject"] == "Hello 0" and _row(email_id).status == "sent"


def test_a_refused_attempt_is_retried_after_its_back_off_with_the_same_message_id(ctx, smtp):
    smtp.refuse = 1
    [email_id] = _queue()
    assert deliver() == 0
    row = _row(email_id)
    assert row.status == "retrying" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at > utcnow() + retry_delay(1) - timedelta(seconds=5)
    assert deliver() == 0  # not due yet
    db.session.execute(update(OutboxEmail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert deliver() == 1
    assert smtp.message_ids() == [message_id(_row(email_id))]
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 8)] == [30, 120, 480, 6 * 3600]


def test_an_email_that_keeps_failing_is_given_up_and_shown_to_admins(app, ctx, client, login):
    closed = free_port()  # nothing listens there
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed, MAIL_USE_TLS=False)
    try:
        [email_id] = _queue()
        db.session.execute(update(OutboxEmail).values(attempts=MAX_ATTEMPTS - 1))
        db.session.commit()
        assert deliver() == 0
        assert _row(email_id).status == "failed"
        assert deliver() == 0  # never retried by itself
        admin = UserFactory(roles=["admin"])
        login(admin.email)
        page = client.get("/admin/emails?status=failed").text
        assert "Hello 0" in page and "ConnectionRefusedError" in page and "Send again" in page
        assert client.get(f"/admin/emails/{email_id}").status_code == 404  # no bodies with a mail server
        client.post(f"/admin/emails/{email_id}/retry")
        row = _row(email_id)
        assert row.failed_at is None and row.attempts == 0
    finally:
        app.config.update(MAIL_SERVER="", MAIL_PORT=587)


def test_others_do_not_see_the_emails_page(client, login, ctx):
    assert client.get("/admin/emails").status_code in (302, 404)
    login(UserFactory().email)
    assert client.get("/admin/emails").status_code == 404


def test_in_development_the_admin_reads_each_email_with_its_links(ctx, client, login):
    [email_id] = _queue()
    deliver()
    login(UserFactory(roles=["admin"]).email)
    assert "Hello 0" in client.get("/admin/emails").text
    body = client.get(f"/admin/emails/{email_id}").text
    assert 'href="http://localhost/verify#t0"' in body


def test_two_workers_never_send_one_email(app, ctx, smtp):
    smtp.delay = 0.02
    ids = _queue(12)

    def worker():
        with app.app_context():
            while deliver(limit=3):
                pass

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sent = smtp.message_ids()
    assert len(sent) == len(set(sent)) == 12
    db.session.commit()  # a fresh read, after the workers' commits
    assert db.session.scalar(select(OutboxEmail.sent_at).where(OutboxEmail.id == ids[-1])) is not None


def test_an_email_whose_lease_ran_out_in_a_slow_batch_is_sent_once(app, ctx, smtp):
    """Found by attacking #19: a worker claims a batch (up to 100 emails) for LEASE; behind a
    slow mail server (each message just under MAIL_TIMEOUT_SECONDS) the later ones outlive the
    lease while the first are sent, another worker claims and sends them, and the first worker
    sent them again when it got there."""
    smtp.delay = 0.5
    ids = _queue(3)

    def first_worker():
        with app.app_context():
            deliver(limit=3)

    worker = threading.Thread(target=first_worker)
    worker.start()
    deadline = time.monotonic() + 10
    while not smtp.messages and time.monotonic() < deadline:
        time.sleep(0.01)  # the first worker is sending its first email, the server is slow
    # Its lease on the other two runs out (as LEASE does behind a slow server), and a second
    # worker (the other host's) takes them.
    db.session.rollback()  # end this connection's read snapshot (SQLite would refuse to write from it)
    db.session.execute(update(OutboxEmail).where(OutboxEmail.id.in_(ids[1:]))
                       .values(claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    deliver()
    worker.join(30)
    sent = smtp.message_ids()
    assert len(sent) == len(set(sent)) == 3, sent


def test_a_claimed_email_waits_for_its_lease(ctx, smtp):
    [email_id] = _queue()
    db.session.execute(update(OutboxEmail).values(claimed_until=utcnow() + timedelta(minutes=5), attempts=1))
    db.session.commit()
    assert deliver() == 0  # another worker holds it
    db.session.execute(update(OutboxEmail).values(claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert deliver() == 1  # that worker died: the lease ran out
    assert _row(email_id).attempts == 2


def test_a_slow_mail_server_never_holds_the_request(database_url, tmp_path):
    with SmtpSink(delay=3) as smtp:
        app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                          "MEDIA_ROOT": str(tmp_path), "TASK_QUEUE_IMMEDIATE": False,
                          "TASK_QUEUE_FILE": str(tmp_path / "tasks.sqlite"), **smtp.config()})
        started = time.monotonic()
        with app.app_context():
            [email_id] = _queue()  # committed: queued for the worker when the context ends
        assert time.monotonic() - started < 1.5
        huey = queue_of(app).worker_huey()
        assert huey.pending_count() == 1
        huey.execute(huey.dequeue())  # what `flask worker` does
        assert len(smtp.messages) == 1
        with app.app_context():
            assert db.session.get(OutboxEmail, email_id).sent_at is not None
            db.engine.dispose()


def test_an_email_the_mail_library_cannot_build_is_given_up_and_the_batch_goes_on(ctx, smtp):
    """A row whose subject holds a line break (stored before subjects were made one line) raised
    out of the batch: every email claimed after it waited, batch after batch, and it was never given up."""
    user = UserFactory()
    db.session.add(OutboxEmail(to=user.email, subject="Rain\r\nBcc: victim@example.test", template="day_message",
                               body_text="x", body_html="<p>x</p>"))
    db.session.commit()
    [after] = _queue()
    assert deliver() == 1
    assert [message["To"] for message in smtp.messages] == [_row(after).to]
    poisoned = db.session.scalar(select(OutboxEmail).where(OutboxEmail.subject.like("Rain%")))
    assert poisoned.status == "failed" and "ValueError" in poisoned.last_error


def test_a_subject_is_stored_on_one_line(ctx):
    user = UserFactory()
    email = queue_email(user.email, "verify_email", "Market\r\nBcc: victim@example.test\n", user=user, token="t")
    assert email.subject == "Market Bcc: victim@example.test"


def test_a_batch_slower_than_its_lease_is_never_sent_twice(app, ctx, smtp):
    """A hanging mail server makes a worker's batch last longer than its lease (send-outbox takes
    500 at a time, each send may take MAIL_TIMEOUT_SECONDS): the emails it has not reached yet are
    claimed again by the next run. The slow worker must not send them too."""
    app.config["OUTBOX_LEASE_SECONDS"] = 2
    smtp.delay = 0.5
    ids = _queue(8)
    results = []

    def slow_worker():
        with app.app_context():
            results.append(deliver(limit=100))

    def next_run():
        time.sleep(2.3)  # the first worker's lease has run out, its batch is not done
        with app.app_context():
            while deliver(limit=100):
                pass

    try:
        threads = [threading.Thread(target=slow_worker), threading.Thread(target=next_run)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        with app.app_context():
            deliver(limit=100)  # whatever the slow worker let go
    finally:
        app.config.pop("OUTBOX_LEASE_SECONDS")
    sent = smtp.message_ids()
    assert sorted(sent) == sorted(set(sent)), f"{len(sent) - len(set(sent))} email(s) sent twice"
    assert len(set(sent)) == 8
    db.session.commit()
    assert all(_row(email_id).status == "sent" for email_id in ids)
