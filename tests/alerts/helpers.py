"""A market in Almaty with a Saturday whose ordering opens on Monday 09:00 and closes on Friday 20:00."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from marketplace.core.extensions import db
from marketplace.follows import services as follows
from tests.factories import (
    MarketDayFactory,
    MarketFactory,
    OfferFactory,
    ProducerFactory,
    ProductFactory,
    UserFactory,
    VendorFactory,
)

ZONE = ZoneInfo("Asia/Almaty")
SATURDAY = date(2031, 6, 14)
MONDAY, THURSDAY, FRIDAY = date(2031, 6, 9), date(2031, 6, 12), date(2031, 6, 13)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local time at the market, in UTC."""
    return datetime.combine(day, time(hour, minute), ZONE).astimezone(UTC)


class Market:
    def __init__(self, *, cutoff=None, ordering_opens=None):
        self.market = MarketFactory(name="Green Bazaar", timezone="Asia/Almaty")
        self.day = MarketDayFactory(market=self.market, date=SATURDAY, opens_at=at(SATURDAY, 8),
                                    closes_at=at(SATURDAY, 13), ordering_opens_at=ordering_opens or at(MONDAY, 9),
                                    cutoff_at=cutoff or at(FRIDAY, 20))
        self.farm = ProducerFactory(name="Gulnara Sadykova")
        VendorFactory(market=self.market, producer=self.farm)
        self.potatoes = ProductFactory(producer=self.farm, name="Potatoes", price_minor=20000, sold_by_weight=True)
        OfferFactory(product=self.potatoes, market_day=self.day, quantity_milli=50_000)
        db.session.commit()

    def follower(self, **fields):
        user = UserFactory(**fields)
        follows.follow(user, market=self.market)
        db.session.commit()
        return user
