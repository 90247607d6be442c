"""Shared fixtures: a real database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set).

Patterns:
- Service tests take `ctx` (an app context) and call services with plain arguments.
- View tests take `client` (and `login`); set up and check data inside
  `with app.app_context():` blocks, or with `ctx` — the client runs every request in
  its own app context either way, like a real server.
- Every table is emptied after each test.
"""
from __future__ import annotations

import contextvars
import os
import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from marketplace.cli import create_app
from marketplace.core.dialects import write_intent
from marketplace.core.extensions import db as _db

PASSWORD = "correct horse battery"


def _create_postgres_database(base_url: str) -> tuple[str, callable]:
    """A fresh database per test session, so parallel runs never share tables."""
    url = make_url(base_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"{url.database}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
        return
    url, drop = _create_postgres_database(base)
    yield url
    drop()


def fast_commits(database_url: str) -> dict:
    """Tests commit after every factory call; a throwaway database needs no fsync per commit."""
    if database_url.startswith("postgresql"):
        return {"connect_args": {"options": "-c synchronous_commit=off"}}
    return {}


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, as a server would: no app context,
    session or `g` leaks in from the test.

    When the test itself holds an app context (`ctx`), its session is committed before
    and after each request: the request sees what the test wrote, and the test then
    reads what the request wrote (objects are expired, SQLite snapshots released).
    """

    def open(self, *args, **kwargs):
        _end_test_transaction()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        _end_test_transaction()
        return response


def _end_test_transaction() -> None:
    from flask import has_app_context

    if has_app_context():
        _db.session.commit()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                      "MEDIA_ROOT": str(media), "SQLALCHEMY_ENGINE_OPTIONS": fast_commits(database_url)})
    app.test_client_class = IsolatedClient
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(app):
    yield
    with app.app_context():
        _db.session.rollback()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def ctx(app):
    """An app context for calling services directly. Reads begin deferred on SQLite so
    the test never holds the write lock while a request or thread wants it."""
    token = write_intent.set(False)
    with app.app_context():
        yield app
        _db.session.rollback()
    write_intent.reset(token)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(client):
    """login(email, password=PASSWORD) logs the test client in through the real form."""

    def _login(email: str, password: str = PASSWORD, follow_redirects: bool = False):
        response = client.post("/login", data={"email": email, "password": password},
                               follow_redirects=follow_redirects)
        assert response.status_code in (200, 302), response.status_code
        return response

    return _login


@pytest.fixture
def outbox(app):
    """outbox() -> list of OutboxEmail rows, oldest first."""
    from sqlalchemy import select

    from marketplace.notifications.models import OutboxEmail

    def _read(to: str | None = None):
        with app.app_context():
            query = select(OutboxEmail).order_by(OutboxEmail.id)
            if to:
                query = query.where(OutboxEmail.to == to)
            rows = list(_db.session.scalars(query))
            _db.session.expunge_all()
            return rows

    return _read


@pytest.fixture
def fresh_app(tmp_path):
    """An app on an empty database of its own (PostgreSQL when the suite runs there): for
    migration tests, which upgrade and downgrade it step by step."""
    base = os.environ.get("TEST_DATABASE_URL")
    drop = None
    if base:
        url, drop = _create_postgres_database(base)
    else:
        url = f"sqlite:///{tmp_path / 'migration.sqlite'}"
    app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": url, "MEDIA_ROOT": str(tmp_path)})
    yield app
    with app.app_context():
        _db.engine.dispose()
    if drop:
        drop()
