"""What a market day's cancellation report says about orders a stopped run never reached
(tryout of issue 17, screenshot tryout/d3-en-report.png): when the run stopped because Stripe
could not be reached, nothing is "on its way" any more; the organizer is told that these
orders wait for the next run (hourly, or the button)."""
from __future__ import annotations


import pytest

from marketplace.core.extensions import db
from marketplace.markets import services as markets
from marketplace.markets.models import MarketDay
from tests.payments.helpers import authorised_order

CANCEL = r"/v1/payment_intents/[^/]+/cancel"


def test_orders_a_stopped_run_did_not_reach_are_not_said_to_be_on_their_way(
        day, stripe_proxy, stripe_on, client, login):
    for _ in range(3):
        authorised_order(stripe_on, market_day=day)
    stripe_proxy.drop("POST", CANCEL, times=None)  # Stripe stops answering
    markets.cancel_market_day(day.organizer, day, "Blizzard")
    db.session.commit()
    (report,) = markets.finish_cancellation(day.organizer, db.session.get(MarketDay, day.id), wait=True)
    db.session.commit()
    assert len(report.failed) == 2 and len(report.not_tried) == 1  # the run stopped after two

    login(day.organizer.email)
    page = client.get(f"/organize/days/{day.id}").text

    assert "the job is on its way" not in page, "no job is coming: the run stopped, Stripe out of reach"
    assert "the last run stopped before it" in page
