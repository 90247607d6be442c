"""product.orderable_until (migration 0015): kept by the database whoever writes offers and
market days, never below the cutoff of a day the product is offered on, so "can be ordered
now" compares it first and still answers exactly as the offers say."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.markets.models import MarketDay
from marketplace.markets.services import cancel_market_day, update_market_day
from marketplace.producers import services as producers
from marketplace.producers.models import Offer, Product
from tests.catalog.test_filters import day_at, names
from tests.concurrency import run_together
from tests.factories import MarketDayFactory, OfferFactory


def orderable_until(product) -> datetime | None:
    db.session.expire_all()
    return db.session.scalar(select(Product.orderable_until).where(Product.id == product.id))


def local(instant: datetime, market) -> datetime:
    return instant.astimezone(ZoneInfo(market.timezone)).replace(tzinfo=None)


def test_an_offer_saved_by_the_producer_sets_it_to_the_days_cutoff_and_a_later_day_raises_it(listed, market, ctx):
    product = listed("Картофель")
    assert orderable_until(product) is None  # never offered
    soon, later = day_at(market, 3), day_at(market, 10)
    producer = product.producer
    producers.save_availability(producer, producer.user, {(later.id, product.id): ("5", "")})
    db.session.commit()
    assert orderable_until(product) == later.cutoff_at
    producers.save_availability(producer, producer.user, {(soon.id, product.id): ("5", "")})
    db.session.commit()
    assert orderable_until(product) == later.cutoff_at  # an earlier day does not lower it


def test_a_cutoff_moved_later_raises_it_and_the_product_can_be_ordered_until_then(client, listed, market, ctx):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    # Ordering for this day closed an hour ago; the organizer reopens it until tomorrow.
    day = MarketDayFactory(market=market, cutoff_at=now - timedelta(hours=1), ordering_opens_at=now - timedelta(days=5))
    product = listed("Мёд")
    OfferFactory(product=product, market_day=day)
    assert orderable_until(product) == day.cutoff_at
    assert names(client, available="1") == []
    new_cutoff = now + timedelta(days=1)
    update_market_day(None, day, opens_local=local(day.opens_at, market).time(),
                      closes_local=local(day.closes_at, market).time(),
                      ordering_opens_local=local(day.ordering_opens_at, market), cutoff_local=local(new_cutoff, market))
    db.session.commit()
    assert orderable_until(product) == new_cutoff
    assert names(client, available="1") == ["Мёд"]


def test_a_cancelled_day_leaves_it_high_and_the_offers_still_decide(client, listed, market, ctx):
    day = day_at(market, 3)
    product = listed("Курут")
    OfferFactory(product=product, market_day=day)
    assert names(client, available="1") == ["Курут"]
    cancel_market_day(None, db.session.get(MarketDay, day.id), "Flooded")
    db.session.commit()
    assert orderable_until(product) == day.cutoff_at  # not lowered: the check below still runs
    assert names(client, available="1") == []


def test_a_reservation_does_not_write_the_product_row(listed, market, ctx):
    product = listed("Айран")
    offer = OfferFactory(product=product, market_day=day_at(market, 3))
    before = orderable_until(product)
    db.session.execute(Offer.__table__.update().where(Offer.id == offer.id).values(reserved_milli=1000))
    db.session.commit()
    assert orderable_until(product) == before


def test_two_producers_windows_adding_days_at_once_keep_the_latest_cutoff(app, listed, market, ctx):
    """Two transactions add offers of one product for two days at the same instant (two
    windows of the availability grid): whichever commits last, the later cutoff stays."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes one writer at a time: the two cannot race")
    product = listed("Шубат")
    days = [day_at(market, 3), day_at(market, 17)]
    product_id, day_ids = product.id, [d.id for d in days]
    db.session.commit()

    def add_offer(day_id):
        # The trigger's UPDATE of the product row makes the second wait for the first's commit,
        # then compare with the value the first left.
        return lambda: db.session.add(Offer(product_id=product_id, market_day_id=day_id, quantity_milli=1000))

    assert run_together(app, [add_offer(day_id) for day_id in day_ids]) == [None, None]
    committed = db.session.scalars(select(Offer.market_day_id).where(Offer.product_id == product_id)).all()
    assert sorted(committed) == sorted(day_ids)
    assert orderable_until(product) == days[1].cutoff_at
