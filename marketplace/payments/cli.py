import click
from flask.cli import with_appcontext


@click.command("reconcile-payments")
@with_appcontext
def reconcile_payments_command() -> None:
    """Ask Stripe about every open payment and repair what lost webhooks left behind."""
    from marketplace.payments.services import reconcile

    counts = reconcile()
    click.echo("Checked {checked}, changed {changed}, holds released {released}, "
               "Stripe unreachable for {unreachable}.".format(**counts))


commands = [reconcile_payments_command]
