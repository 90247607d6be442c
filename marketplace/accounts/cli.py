"""Commands for accounts: `flask create-user`."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from marketplace.accounts.models import Role
from marketplace.accounts.services import WeakPassword, create_user_cli
from marketplace.core.extensions import db


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", "roles", multiple=True, type=click.Choice(["customer", "producer", "organizer", "admin"]))
@click.password_option()
@with_appcontext
def create_user_command(email: str, name: str, roles: tuple[str, ...], password: str) -> None:
    """Create an account (or add roles to an existing one)."""
    try:
        user = create_user_cli(email, password, name or email.split("@")[0], [Role(r) for r in roles])
    except WeakPassword as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"User {user.email} has roles: {', '.join(sorted(r.value for r in user.roles))}")


commands = [create_user_command]
