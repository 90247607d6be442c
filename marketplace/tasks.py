"""The task queue and the scheduler: Huey, embedded on one machine, distributed on several.

Without REDIS_URL the queue is a SQLite file in the instance folder (TASK_QUEUE_FILE) and
`make run` starts one consumer beside the app; with REDIS_URL it lives in Redis and any
number of consumers (`flask worker`, on any host) take from it. The same code runs both.

**Declaring a task.** A feature declares its tasks in its own `tasks.py` and adds them in
its `register(app)`:

    from marketplace.tasks import add_tasks, daily, every, periodic, task

    @task("deliver-emails", retries=3, retry_delay=30)
    def deliver_emails(ids: list[int]) -> int:          # plain, JSON-able arguments
        ...

    @periodic(every(minutes=1))                         # named after the function: expire-reservations
    def expire_reservations() -> str:
        ...

    def register(app):
        add_tasks(app, deliver_emails, expire_reservations)

- `deliver_emails.delay(ids)` queues it (after the commit: a task reads what was committed);
  `deliver_emails(ids)` still runs it here and now, as a `flask` command does by hand.
- Every task runs in a fresh app context and commits its own work, as a command does.
- A periodic task runs once per scheduled time across all hosts, however many consumers
  fire it: each run first claims its slot in the `scheduled_run` table (one conditional
  UPDATE: the slot must be newer than the last one claimed, and no run's lease may be
  current, so a slow run is not overtaken by the next one). The consumer that loses the
  claim does nothing. The effects of every job are also safe to repeat (rule 9).
- TASK_QUEUE_IMMEDIATE runs a queued task at once in the caller (tests, a machine without a
  worker).
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import click
import redis
from flask import Flask, current_app
from flask.cli import with_appcontext
from huey import RedisExpireHuey, SqliteHuey, crontab
from sqlalchemy import String, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.core.dialects import write_intent
from marketplace.core.events import business_event
from marketplace.core.extensions import db

log = logging.getLogger(__name__)
EXTENSION_KEY = "aimak.tasks"


# --- Schedules -------------------------------------------------------------------

@dataclass(frozen=True)
class Schedule:
    """Every `period` seconds, from `offset` seconds after midnight UTC (a daily job's hour)."""

    period: int
    offset: int = 0

    def crontab(self):
        if self.period < 3600:
            return crontab(minute=f"*/{self.period // 60}")
        if self.period < 86400:
            return crontab(minute=str(self.offset // 60 % 60), hour=f"*/{self.period // 3600}")
        return crontab(minute=str(self.offset // 60 % 60), hour=str(self.offset // 3600))

    def slot(self, now: datetime) -> datetime:
        """The scheduled time this run belongs to: the latest one at or before `now`."""
        seconds = now.timestamp() - self.offset
        start = seconds - seconds % self.period + self.offset
        return datetime.fromtimestamp(start, timezone.utc)

    def describe(self) -> str:
        if self.period < 3600:
            return f"every {self.period // 60} min"
        if self.period < 86400:
            return f"every {self.period // 3600} h"
        return f"daily at {self.offset // 3600:02d}:{self.offset // 60 % 60:02d} UTC"


def every(*, minutes: int = 0, hours: int = 0) -> Schedule:
    period = minutes * 60 + hours * 3600
    if period <= 0 or (period < 3600 and 3600 % period) or (period >= 3600 and (period % 3600 or 86400 % period)):
        raise ValueError("every(): a divisor of an hour in minutes, or of a day in hours")
    return Schedule(period)


def daily(hour: int, minute: int = 0) -> Schedule:
    """Once a day at hour:minute UTC."""
    return Schedule(86400, hour * 3600 + minute * 60)


# --- Declaring tasks -------------------------------------------------------------

class Task:
    """A function the queue can run; calling it still runs it here and now."""

    def __init__(self, func, name: str, schedule: Schedule | None, retries: int, retry_delay: int,
                 lease_seconds: int):
        self.func = func
        self.name = name
        self.schedule = schedule
        self.retries = retries
        self.retry_delay = retry_delay
        #: How long a periodic run may take before another host may start the next one.
        self.lease_seconds = lease_seconds
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)

    def delay(self, *args, **kwargs) -> bool:
        """Queue it on the current app's queue; False when the queue cannot be reached (logged)."""
        return queue_of(current_app).enqueue(self, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<Task {self.name}>"


def task(name: str | None = None, *, retries: int = 0, retry_delay: int = 60):
    """Declare a queued task (`name` defaults to the function's name with dashes)."""

    def decorator(func) -> Task:
        return Task(func, name or func.__name__.replace("_", "-"), None, retries, retry_delay, 0)

    return decorator


def periodic(schedule: Schedule, name: str | None = None, *, lease_seconds: int = 15 * 60):
    """Declare a job the scheduler runs on `schedule`, once per scheduled time across all hosts."""

    def decorator(func) -> Task:
        return Task(func, name or func.__name__.replace("_", "-"), schedule, 0, 0, lease_seconds)

    return decorator


def add_tasks(app: Flask, *tasks: Task) -> None:
    """A feature's `register(app)` adds its tasks to the app's queue."""
    queue = queue_of(app)
    for one in tasks:
        queue.add(one)


def queue_of(app: Flask) -> Queue:
    return app.extensions[EXTENSION_KEY]


# --- The once-per-slot claim of periodic jobs ---------------------------------------

class ScheduledRun(db.Model):
    """The last run of each periodic job: its claim (slot and lease) and how it ended."""

    __tablename__ = "scheduled_run"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    #: The scheduled time last claimed; a run for this slot or an older one does nothing.
    slot_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: While a run holds the job, no other may start; a crashed run frees it when this passes.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: "running", "done" or "failed", with the job's report or the error.
    outcome: Mapped[str] = mapped_column(String(20), default="")
    detail: Mapped[str] = mapped_column(String(500), default="")


def claim_slot(name: str, slot_at: datetime, lease_seconds: int, now: datetime | None = None) -> bool:
    """Claim a periodic job's run for `slot_at`; True for exactly one caller across all hosts."""
    now = now or utcnow()
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(ScheduledRun).values(name=name, outcome="", detail="")
                       .on_conflict_do_nothing(index_elements=["name"]))
    # One conditional UPDATE decides: on PostgreSQL a racing UPDATE waits for this row and
    # then finds the slot taken; on SQLite writers take turns (BEGIN IMMEDIATE).
    result = db.session.execute(
        update(ScheduledRun)
        .where(ScheduledRun.name == name,
               or_(ScheduledRun.slot_at.is_(None), ScheduledRun.slot_at < slot_at),
               or_(ScheduledRun.lease_until.is_(None), ScheduledRun.lease_until < now))
        .values(slot_at=slot_at, started_at=now, finished_at=None,
                lease_until=now + timedelta(seconds=lease_seconds), outcome="running", detail=""))
    db.session.commit()
    return result.rowcount == 1


def _finish(name: str, outcome: str, detail: str) -> None:
    db.session.execute(update(ScheduledRun).where(ScheduledRun.name == name)
                       .values(finished_at=utcnow(), lease_until=None, outcome=outcome, detail=detail[:500]))
    db.session.commit()


def run_scheduled(task: Task, now: datetime | None = None) -> bool:
    """Run a periodic job for the slot `now` falls in, if no host has; True when this call ran it."""
    now = now or utcnow()
    slot_at = task.schedule.slot(now)
    if not claim_slot(task.name, slot_at, task.lease_seconds, now):
        log.debug("Scheduled job %s for %s already claimed", task.name, slot_at)
        return False
    started = time.monotonic()
    try:
        report = task.func()
    except Exception as exc:
        db.session.rollback()
        _finish(task.name, "failed", f"{type(exc).__name__}: {exc}")
        business_event("scheduled_job", job=task.name, slot=slot_at.isoformat(), outcome="failed",
                       error=f"{type(exc).__name__}: {exc}"[:300])
        raise
    db.session.commit()
    _finish(task.name, "done", "" if report is None else str(report))
    business_event("scheduled_job", job=task.name, slot=slot_at.isoformat(), outcome="done",
                   report=None if report is None else str(report),
                   duration_ms=round((time.monotonic() - started) * 1000))
    return True


def scheduled_runs() -> list[ScheduledRun]:
    """Every periodic job's last run, for the admin's page."""
    return list(db.session.scalars(select(ScheduledRun).order_by(ScheduledRun.name)))


# --- The queue of one app ------------------------------------------------------------

class Queue:
    """The app's Huey instance and the tasks bound to it."""

    def __init__(self, app: Flask):
        self.app = app
        self.tasks: dict[str, Task] = {}
        self.huey = self._build(for_worker=False)
        self._handles: dict[int, dict[str, object]] = {}

    def _build(self, for_worker: bool):
        config = self.app.config
        immediate = bool(config.get("TASK_QUEUE_IMMEDIATE")) and not for_worker
        url = config.get("REDIS_URL")
        if url and not immediate:
            # A request that queues must not hang on a slow Redis (the outbox is the fallback);
            # the worker blocks on reads a second at a time, so its socket waits longer.
            timeout = float(config.get("REDIS_TIMEOUT_SECONDS", 0.5))
            pool = redis.ConnectionPool.from_url(url, socket_connect_timeout=max(timeout, 1.0) if for_worker else timeout,
                                                 socket_timeout=10.0 if for_worker else timeout,
                                                 health_check_interval=30)
            huey = RedisExpireHuey("aimak", connection_pool=pool, results=False, utc=True,
                                   blocking=for_worker, read_timeout=1)
        else:
            huey = SqliteHuey("aimak", filename=config.get("TASK_QUEUE_FILE"), results=False, utc=True,
                              immediate=immediate, timeout=10)
        for one in self.tasks.values():
            self._bind(huey, one)
        return huey

    def add(self, task: Task) -> None:
        if task.name in self.tasks:
            raise ValueError(f"Two tasks are named {task.name!r}")
        self.tasks[task.name] = task
        self._bind(self.huey, task)

    def _bind(self, huey, task: Task) -> None:
        app = self.app
        if task.schedule is not None:
            def run_periodic():
                with app.app_context(), _writing():
                    run_scheduled(task)

            handle = huey.periodic_task(task.schedule.crontab(), name=task.name)(run_periodic)
        else:
            def run_queued(*args, **kwargs):
                # A task writes (claims, marks sent): on SQLite it takes the write lock up front,
                # even when it runs in the caller (immediate mode) at the end of a GET.
                with app.app_context(), _writing():
                    try:
                        return task.func(*args, **kwargs)
                    except Exception:
                        db.session.rollback()
                        log.exception("Task %s failed", task.name)
                        raise

            handle = huey.task(name=task.name, retries=task.retries, retry_delay=task.retry_delay)(run_queued)
        self._handles.setdefault(id(huey), {})[task.name] = handle

    def enqueue(self, task: Task, *args, **kwargs) -> bool:
        handle = self._handles[id(self.huey)][task.name]
        try:
            handle(*args, **kwargs)
        except (redis.RedisError, OSError) as exc:
            log.warning("Task %s not queued (the queue is unreachable): %s", task.name, exc)
            return False
        return True

    def worker_huey(self):
        """A Huey for a consumer (blocking reads, longer timeouts), with every task bound."""
        return self._build(for_worker=True)

    def check(self) -> None:
        """Raise when the queue's storage cannot be reached (for /readyz)."""
        self.huey.pending_count()


@contextmanager
def _writing():
    token = write_intent.set(True)
    try:
        yield
    finally:
        write_intent.reset(token)


# --- Wiring and commands ---------------------------------------------------------------

def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = Queue(app)
    app.cli.add_command(worker_command)
    app.cli.add_command(run_job_command)


@click.command("worker")
@click.option("--threads", default=2, show_default=True, help="Tasks run at once by this consumer.")
@click.option("--no-periodic", is_flag=True, help="Only take queued tasks; run no scheduled jobs.")
@with_appcontext
def worker_command(threads: int, no_periodic: bool) -> None:
    """Run a consumer: queued tasks and the scheduled jobs (start one or more per host)."""
    queue = queue_of(current_app)
    huey = queue.worker_huey()
    where = "Redis" if current_app.config.get("REDIS_URL") else current_app.config["TASK_QUEUE_FILE"]
    jobs = ", ".join(f"{t.name} ({t.schedule.describe()})" for t in queue.tasks.values() if t.schedule)
    # The links in the emails it writes: SITE_URL, or the port `make run`/honcho serve.
    click.echo(f"Worker on {where}; emails link to {current_app.config['SITE_URL']}; "
               f"scheduled jobs: {'none' if no_periodic else jobs}", err=True)
    # The consumer's start and stop, and every failure; each job's run is our own scheduled_job line.
    logging.getLogger("huey.consumer").setLevel(current_app.config.get("LOG_LEVEL", "INFO"))
    logging.getLogger("huey.consumer.Scheduler").setLevel(logging.WARNING)
    huey.create_consumer(workers=threads, worker_type="thread", periodic=not no_periodic,
                         initial_delay=0.1, backoff=1.15, max_delay=2.0).run()


@click.command("run-scheduled")
@click.argument("name")
@with_appcontext
def run_job_command(name: str) -> None:
    """Run a scheduled job for the current slot, as the scheduler would (once across hosts)."""
    task = queue_of(current_app).tasks.get(name)
    if task is None or task.schedule is None:
        names = sorted(n for n, t in queue_of(current_app).tasks.items() if t.schedule)
        raise click.ClickException(f"No scheduled job {name!r}; there are: {', '.join(names)}")
    ran = run_scheduled(task)
    click.echo(f"{name}: {'ran' if ran else 'already run for this slot'}.")
