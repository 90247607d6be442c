"""`flask expire-reservations` and `flask send-reminders` (run from cron, any number at once)."""
import click
from flask.cli import with_appcontext

from marketplace.core.extensions import db
from marketplace.notifications.services import deliver
from marketplace.orders.services import expire_due_holds, send_reminders


@click.command("expire-reservations")
@with_appcontext
def expire_reservations_command() -> None:
    """Release the stock and slot of card orders whose payment hold has passed."""
    count = expire_due_holds()
    db.session.commit()
    click.echo(f"{count} reservation(s) expired.")


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """Email customers whose pickup is tomorrow (each order once)."""
    count = send_reminders()
    db.session.commit()

    deliver()
    click.echo(f"{count} reminder(s) queued.")


commands = [expire_reservations_command, send_reminders_command]
