"""Flask commands: `flask seed-demo`, `flask create-user`, `flask send-outbox` ..."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from marketplace.core.extensions import db

#: Other features add their command groups here (module path, attribute).
FEATURE_COMMANDS = [
    "marketplace.notifications.cli",
    "marketplace.markets.cli",
    "marketplace.orders.cli",
    "marketplace.trust.cli",
    "marketplace.payments.cli",
    "marketplace.pickup.cli",
]


def register(app: Flask) -> None:
    import importlib

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(analyze_database_command)
    for module_name in FEATURE_COMMANDS:
        for command in importlib.import_module(module_name).commands:
            app.cli.add_command(command)


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Seed even when the database already has users.")
@click.option("--weeks", default=4, show_default=True, help="Weeks of market days to create.")
@with_appcontext
def seed_demo_command(force: bool, weeks: int) -> None:
    """Fill an empty database with demo markets, producers and products."""
    from marketplace.demo import DEMO_PASSWORD, database_is_empty, seed_demo

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


def analyze(engine) -> None:
    """ANALYZE, committed.

    SQLite never gathers statistics by itself, and without them it plans the product
    list from the product table instead of walking producers in trust order: 150 ms
    instead of 15 at 50,000 products. PostgreSQL's autovacuum does it too; running it
    after a bulk load does not wait for that.
    """
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", "roles", multiple=True, type=click.Choice(["customer", "producer", "organizer", "admin"]))
@click.password_option()
@with_appcontext
def create_user_command(email: str, name: str, roles: tuple[str, ...], password: str) -> None:
    """Create an account (or add roles to an existing one)."""
    from marketplace.accounts.models import Role
    from marketplace.accounts.services import WeakPassword, create_user_cli

    try:
        user = create_user_cli(email, password, name or email.split("@")[0], [Role(r) for r in roles])
    except WeakPassword as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"User {user.email} has roles: {', '.join(sorted(r.value for r in user.roles))}")
