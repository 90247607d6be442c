"""`flask reconcile-payments` and `flask check-card-holds` (run by the scheduler, or by hand)."""
import click
from flask.cli import with_appcontext

from marketplace.core.locale import format_local_datetime
from marketplace.core.money import money
from marketplace.payments.services import check_card_holds, reconcile


@click.command("reconcile-payments")
@with_appcontext
def reconcile_payments_command() -> None:
    """Ask Stripe about every open payment and repair what lost webhooks and failed calls left behind."""
    counts = reconcile()
    click.echo("Checked {checked}, changed {changed}, holds released {released}, refunded {refunded}, "
               "Stripe unreachable for {unreachable}, waiting webhook events applied {events}.".format(**counts))


@click.command("check-card-holds")
@with_appcontext
def check_card_holds_command() -> None:
    """List card holds that lapse before their market day; a hold already gone makes its order a cash order."""
    at_risk = check_card_holds()
    for item in at_risk:
        tz = item.market_day.market.timezone
        click.echo(f"{item.market_day.market.name} {item.market_day.date} · order {item.order.pickup_code} "
                   f"(#{item.order.id}) · {money(item.payment.amount_authorized_minor, item.payment.currency)} "
                   f"held until {format_local_datetime(item.payment.capture_before, tz)}, "
                   f"the day closes {format_local_datetime(item.market_day.closes_at, tz)}")
    click.echo(f"{len(at_risk)} card hold(s) lapse before their market day.")


commands = [reconcile_payments_command, check_card_holds_command]
