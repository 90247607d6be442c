"""`flask cancel-market-day` and `flask extend-schedules`."""
import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.markets.models import MarketDay, MarketSchedule
from marketplace.markets.services import (
    cancel_market_day,
    extend_schedule,
    finish_cancellation,
)


@click.command("cancel-market-day")
@click.argument("market_day_id", type=click.IntRange(min=1, max=2_147_483_647))
@click.option("--reason", default="", help="Told to producers and customers (needed the first time).")
@with_appcontext
def cancel_market_day_command(market_day_id: int, reason: str) -> None:
    """Cancel a market day, or run its cancellation again: every order ends cancelled, every
    card hold is released and every capture refunded; what failed before is tried again.
    Prints the report; exits with an error while something is still to do."""
    # Run as one request would: emails are rendered inside it and delivered only after
    # the commit, so the whole cancellation stays one transaction.
    with current_app.test_request_context("/", base_url=current_app.config["SITE_URL"]):
        market_day = db.session.get(MarketDay, market_day_id)
        if market_day is None:
            raise click.ClickException(f"No market day {market_day_id}.")
        try:
            cancel_market_day(None, market_day, reason)
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from exc
        db.session.commit()
        # The card money: one order per commit, each Stripe call under its own key.
        reports = finish_cancellation(None, market_day, wait=True)
        if not reports:
            click.echo(f"Market day {market_day.id} ({market_day.date}) of {market_day.market.name} is cancelled.")
        for report in reports:
            click.echo("\n".join(report.lines()))
        if not all(report.complete for report in reports):
            raise click.ClickException("Some card payments are not settled yet: run the command again later.")


@click.command("extend-schedules")
@with_appcontext
def extend_schedules_command() -> None:
    """Add market days so every active schedule reaches its weeks-ahead horizon (run daily)."""
    total = 0
    for schedule in db.session.scalars(select(MarketSchedule).where(MarketSchedule.active.is_(True))):
        total += len(extend_schedule(None, schedule).created)
    db.session.commit()
    click.echo(f"{total} market day(s) added.")


commands = [cancel_market_day_command, extend_schedules_command]
