"""factory_boy factories over the real models; they commit, so requests and threads see the rows.

Use inside an app context (the `ctx` fixture or `with app.app_context():`).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import factory
from factory.alchemy import SQLAlchemyModelFactory

from marketplace.accounts.models import Role, User
from marketplace.core.extensions import db
from marketplace.markets.models import (
    Market,
    MarketDay,
    MarketOrganizer,
    PickupSlot,
    Vendor,
    VendorStatus,
)
from marketplace.producers.models import (
    Category,
    Offer,
    Producer,
    ProducerKind,
    Product,
    StockMode,
    Unit,
)

TEST_PASSWORD = "correct horse battery"
_FAST_HASH = None


def _password_hash() -> str:
    global _FAST_HASH
    if _FAST_HASH is None:
        from werkzeug.security import generate_password_hash

        _FAST_HASH = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:1000")
    return _FAST_HASH


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    name = factory.Sequence(lambda n: f"User {n}")
    password_hash = factory.LazyFunction(_password_hash)
    email_verified_at = factory.LazyFunction(lambda: datetime.now(timezone.utc))

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        self.add_role(Role.CUSTOMER)
        for role in extracted or []:
            self.add_role(role)
        if create:
            db.session.commit()


class CategoryFactory(Base):
    class Meta:
        model = Category

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")


class ProducerFactory(Base):
    class Meta:
        model = Producer

    user = factory.SubFactory(UserFactory, roles=[Role.PRODUCER])
    kind = ProducerKind.FARMER
    name = factory.Sequence(lambda n: f"Farm {n}")
    slug = factory.Sequence(lambda n: f"farm-{n}")
    district = "Talas"
    #: A story, so the producer may apply to markets (an empty profile may not).
    story = "We grow vegetables on the family plot."
    country = "KZ"
    currency = "KZT"


class ProductFactory(Base):
    class Meta:
        model = Product

    producer = factory.SubFactory(ProducerFactory)
    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    unit = Unit.KG
    price_minor = 50000
    currency = "KZT"
    sold_by_weight = False
    stock_mode = StockMode.PER_MARKET_DAY

    @factory.post_generation
    def search(self, create, extracted, **kwargs):
        from marketplace.producers.services import refresh_search_text

        refresh_search_text(self)
        if create:
            db.session.commit()


class MarketFactory(Base):
    class Meta:
        model = Market

    name = factory.Sequence(lambda n: f"Market {n}")
    slug = factory.Sequence(lambda n: f"market-{n}")
    address = "Main square 1"
    timezone = "Asia/Almaty"
    currency = "KZT"
    commission_bp = 500


def add_organizer(market: Market, user: User) -> None:
    db.session.add(MarketOrganizer(market_id=market.id, user_id=user.id))
    db.session.commit()


class MarketDayFactory(Base):
    """A market day a few days ahead whose ordering window is open now, with 2 slots."""

    class Meta:
        model = MarketDay

    market = factory.SubFactory(MarketFactory)
    date = factory.LazyFunction(lambda: (datetime.now(timezone.utc) + timedelta(days=3)).date())
    opens_at = factory.LazyAttribute(lambda o: datetime.combine(o.date, time(3, 0), tzinfo=timezone.utc))
    closes_at = factory.LazyAttribute(lambda o: o.opens_at + timedelta(hours=5))
    ordering_opens_at = factory.LazyAttribute(lambda o: o.opens_at - timedelta(days=6))
    cutoff_at = factory.LazyAttribute(lambda o: o.opens_at - timedelta(hours=12))

    @factory.post_generation
    def slots(self, create, extracted, **kwargs):
        capacity = kwargs.get("capacity", 20)
        count = 2 if extracted is None else extracted
        for i in range(count):
            start = self.opens_at + timedelta(minutes=30 * i)
            db.session.add(PickupSlot(market_day=self, starts_at=start, ends_at=start + timedelta(minutes=30),
                                      capacity=capacity))
        if create:
            db.session.commit()


class VendorFactory(Base):
    class Meta:
        model = Vendor

    market = factory.SubFactory(MarketFactory)
    producer = factory.SubFactory(ProducerFactory)
    status = VendorStatus.APPROVED


class OfferFactory(Base):
    class Meta:
        model = Offer

    product = factory.SubFactory(ProductFactory)
    market_day = factory.SubFactory(MarketDayFactory)
    quantity_milli = 10_000


def today() -> date:
    return datetime.now(timezone.utc).date()
