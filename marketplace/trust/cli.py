"""Trust commands: certificate reminders and expiry, recomputing stored trust scores."""
import click
from flask.cli import with_appcontext

from marketplace.core.extensions import db
from marketplace.trust.services import (
    mark_expired,
    recompute_all,
    recompute_group_members,
    send_expiry_reminders,
)


@click.command("send-certificate-reminders")
@with_appcontext
def send_certificate_reminders_command() -> None:
    """Email producers whose verified certificates expire within 30 days (once each), and
    mark certificates past their end date as expired; rescore the members of groups."""
    sent = send_expiry_reminders()
    expired = mark_expired()
    members = recompute_group_members()
    db.session.commit()
    click.echo(f"{sent} reminder(s) queued, {expired} certificate(s) marked expired, "
               f"{members} group member(s) rescored.")


@click.command("recompute-trust")
@with_appcontext
def recompute_trust_command() -> None:
    """Recompute every producer's stored rating and trust score."""
    count = recompute_all()
    db.session.commit()
    click.echo(f"Trust recomputed for {count} producer(s).")


commands = [send_certificate_reminders_command, recompute_trust_command]
