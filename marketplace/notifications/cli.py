import click
from flask.cli import with_appcontext

from marketplace.notifications.services import deliver


@click.command("send-outbox")
@with_appcontext
def send_outbox_command() -> None:
    """Send (or retry) every email in the outbox that has not gone out."""
    sent = deliver(limit=10_000)
    click.echo(f"{sent} email(s) sent.")


commands = [send_outbox_command]
