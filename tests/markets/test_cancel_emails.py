"""The email a producer gets when a market day is cancelled (tryout of issue 17, outbox of the
demo): its subject names the day the way its body does, in the producer's language, not as
an ISO date ("2026-12-05")."""
from __future__ import annotations

import pytest
from flask_babel import force_locale

from marketplace.core.extensions import db
from marketplace.core.locale import format_day
from marketplace.markets import services
from tests.factories import MarketDayFactory, UserFactory, VendorFactory, add_organizer


@pytest.mark.parametrize("locale", ["ru", "kk", "ky", "en"])
def test_the_producers_subject_gives_the_day_in_their_language(app, ctx, outbox, locale):
    organizer = UserFactory(roles=["organizer"], locale="en")
    day = MarketDayFactory()
    add_organizer(day.market, organizer)
    vendor = VendorFactory(market=day.market)
    vendor.producer.user.locale = locale
    db.session.commit()

    services.cancel_market_day(organizer, day, "Storm warning")
    db.session.commit()

    (email,) = outbox(vendor.producer.user.email)
    assert day.date.isoformat() not in email.subject
    with app.test_request_context(), force_locale(locale):
        assert format_day(day.date) in email.subject
