"""The task queue and scheduler: schedules, the once-per-slot claim, commands, the admin's view."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from marketplace.core.extensions import db
from marketplace.tasks import ScheduledRun, claim_slot, daily, every, queue_of, run_scheduled

NOON = datetime(2026, 11, 30, 12, 34, 56, tzinfo=timezone.utc)


def test_a_schedule_names_the_slot_a_run_belongs_to():
    assert every(minutes=1).slot(NOON) == NOON.replace(second=0)
    assert every(minutes=15).slot(NOON) == NOON.replace(minute=30, second=0)
    assert every(hours=1).slot(NOON) == NOON.replace(minute=0, second=0)
    assert daily(hour=4).slot(NOON) == NOON.replace(hour=4, minute=0, second=0)
    assert daily(hour=13).slot(NOON) == NOON.replace(hour=13, minute=0, second=0) - timedelta(days=1)
    assert str(daily(hour=4).crontab) and every(hours=1).describe() == "every 1 h"
    with pytest.raises(ValueError):
        every(minutes=7)


def test_every_scheduled_job_of_the_readme_is_a_periodic_task(app):
    scheduled = {name for name, task in queue_of(app).tasks.items() if task.schedule}
    assert scheduled >= {"expire-reservations", "send-outbox", "reconcile-payments", "send-reminders",
                         "send-certificate-reminders", "extend-schedules", "analyze-database", "forget-old-baskets"}


def test_a_slot_is_claimed_once_and_a_running_job_is_not_overtaken(ctx):
    assert claim_slot("job", NOON, 600, now=NOON)
    assert not claim_slot("job", NOON, 600, now=NOON)  # the same slot, on another host
    later = NOON + timedelta(minutes=1)
    assert not claim_slot("job", later, 600, now=later)  # the first run still holds its lease
    after_lease = NOON + timedelta(minutes=11)
    assert claim_slot("job", after_lease, 600, now=after_lease)  # it died: the lease ran out


def test_a_job_fired_on_two_hosts_at_once_runs_once(app):
    calls = []
    task = queue_of(app).tasks["analyze-database"]
    original = task.func
    task.func = lambda: calls.append(1) or "done"
    barrier = threading.Barrier(2)

    def host():
        with app.app_context():
            barrier.wait()
            run_scheduled(task, now=NOON)

    try:
        threads = [threading.Thread(target=host) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        task.func = original
    assert calls == [1]
    with app.app_context():
        run = db.session.get(ScheduledRun, "analyze-database")
        assert run.outcome == "done" and run.slot_at == NOON.replace(hour=1, minute=0, second=0) and run.lease_until is None


def test_a_failing_job_is_recorded_and_raised(app):
    task = queue_of(app).tasks["extend-schedules"]
    original = task.func

    def broken():
        raise RuntimeError("boom")

    task.func = broken
    try:
        with app.app_context(), pytest.raises(RuntimeError):
            run_scheduled(task, now=NOON)
    finally:
        task.func = original
    with app.app_context():
        run = db.session.get(ScheduledRun, "extend-schedules")
        assert run.outcome == "failed" and "boom" in run.detail


def test_run_scheduled_by_hand_runs_once_per_slot(app):
    runner = app.test_cli_runner()
    assert "expire-reservations: ran" in runner.invoke(args=["run-scheduled", "expire-reservations"]).output
    assert "already run" in runner.invoke(args=["run-scheduled", "expire-reservations"]).output
    assert "No scheduled job" in runner.invoke(args=["run-scheduled", "nope"]).output
    # The plain command still runs the job whenever it is asked.
    assert "reservation(s) expired" in runner.invoke(args=["expire-reservations"]).output


def test_a_queued_task_waits_for_the_worker_without_immediate_mode(database_url, tmp_path):
    from marketplace.cli import create_app

    app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "MEDIA_ROOT": str(tmp_path),
                      "TASK_QUEUE_IMMEDIATE": False, "TASK_QUEUE_FILE": str(tmp_path / "tasks.sqlite")})
    queue = queue_of(app)
    with app.app_context():
        assert queue.tasks["deliver-emails"].delay([]) is True
        db.engine.dispose()
    worker = queue.worker_huey()
    assert worker.pending_count() == 1
    assert worker.execute(worker.dequeue()) == 0  # ran in the worker: no email to send
    assert worker.pending_count() == 0
