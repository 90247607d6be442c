import click
from flask.cli import with_appcontext

from marketplace.payments.services import reconcile


@click.command("reconcile-payments")
@with_appcontext
def reconcile_payments_command() -> None:
    """Ask Stripe about every open payment and repair what lost webhooks left behind."""
    counts = reconcile()
    click.echo("Checked {checked}, changed {changed}, holds released {released}, "
               "Stripe unreachable for {unreachable}.".format(**counts))


commands = [reconcile_payments_command]
