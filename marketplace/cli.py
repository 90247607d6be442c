"""The app the `flask` commands and the worker run on (`FLASK_APP=marketplace.cli:create_app`):
the web's app plus what only they need — migrations (`flask db`), `flask seed-demo`,
`flask analyze-database` and the Telegram bot's side (sending, polling, the webhook's setting).

Each feature adds its own light commands in its `register(app)`. What is here stays out of the
web workers (gunicorn serves `marketplace:create_app`): Alembic and Mako, the demo, and
python-telegram-bot are ~16 MB a worker (docs/performance.md, worker memory).
"""
from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import with_appcontext
from flask_migrate import Migrate
from sqlalchemy import text

import marketplace
from marketplace.core.extensions import db
from marketplace.demo import DEMO_PASSWORD, database_is_empty, seed_demo
from marketplace.notifications import cli as notifications_cli
from marketplace.tasks import add_tasks, daily, periodic

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "migrations")
migrate = Migrate()


def create_app(config: type | dict | str | None = None) -> Flask:
    """The web's app with the commands and the worker's parts (tests use this one too)."""
    app = marketplace.create_app(config)
    register(app)
    return app


def register(app: Flask) -> None:
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True, compare_type=True)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(analyze_database_command)
    add_tasks(app, analyze_database)
    notifications_cli.register(app)


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Seed even when the database already has users.")
@click.option("--weeks", default=4, show_default=True, help="Weeks of market days to create.")
@with_appcontext
def seed_demo_command(force: bool, weeks: int) -> None:
    """Fill an empty database with demo markets, producers and products."""
    if not force and not database_is_empty():
        click.echo("The database already has data; demo not seeded (use --force to add it anyway).")
        return
    accounts = seed_demo(weeks=weeks)
    db.session.commit()
    analyze(db.engine)
    click.echo("Demo data created. Accounts (password: %s):" % DEMO_PASSWORD)
    for role, email in accounts.items():
        click.echo(f"  {role:13} {email}")


@click.command("analyze-database")
@with_appcontext
def analyze_database_command() -> None:
    """Refresh the query planner's statistics (nightly, and after loading data)."""
    analyze(db.engine)
    click.echo("Planner statistics refreshed.")


@periodic(daily(hour=1))
def analyze_database() -> None:
    """Nightly: the planner's statistics (a quiet hour in Central Asia)."""
    analyze(db.engine)


def analyze(engine) -> None:
    """ANALYZE, committed.

    SQLite never gathers statistics by itself, and without them it plans the product
    list from the product table instead of walking producers in trust order: 150 ms
    instead of 15 at 50,000 products. PostgreSQL's autovacuum does it too; running it
    after a bulk load does not wait for that.
    """
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
