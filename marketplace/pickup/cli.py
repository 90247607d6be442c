"""`flask close-market-day <id>`: after the day, every order left becomes a no-show and the day is closed."""
import click
from flask.cli import with_appcontext

from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.markets.models import MarketDay
from marketplace.notifications.services import deliver
from marketplace.pickup.services import close_market_day


@click.command("close-market-day")
@click.argument("market_day_id", type=click.IntRange(min=1, max=2_147_483_647))
@with_appcontext
def close_market_day_command(market_day_id: int) -> None:
    """Mark every order not picked up as no-show (customers emailed once) and close the day; safe to run twice."""
    market_day = db.session.get(MarketDay, market_day_id)
    if market_day is None:
        raise click.ClickException(f"No market day {market_day_id}.")
    try:
        result = close_market_day(market_day)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    deliver()
    click.echo(f"{result.no_shows} order(s) marked no-show, {result.expired} unpaid hold(s) expired; "
               + ("market day closed." if result.closed_now else "the market day was already closed."))


commands = [close_market_day_command]
