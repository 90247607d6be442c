"""Groups commands: the visit reminders by hand (the scheduler runs them daily)."""
import click
from flask.cli import with_appcontext

from marketplace.core.extensions import db
from marketplace.groups.services import send_visit_reminders


@click.command("send-visit-reminders")
@with_appcontext
def send_visit_reminders_command() -> None:
    """Email coordinators and producers once when a member's farm visit falls due within 30 days."""
    count = send_visit_reminders()
    db.session.commit()
    click.echo(f"{count} visit reminder(s) queued.")


commands = [send_visit_reminders_command]
