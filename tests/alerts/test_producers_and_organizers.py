"""Followers of a producer ("new this week"), producers (each new order, the evening-before
summary), organizers (a certificate waits, a vendor applies) and customers (a refund)."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import func, select

from marketplace.alerts import services
from marketplace.alerts.models import ProducerNews
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.follows import services as follows
from marketplace.markets.models import VendorStatus
from marketplace.notifications.models import Notice, OutboxEmail
from marketplace.orders import queue_committed_confirmations
from marketplace.orders import services as orders
from marketplace.orders.models import PaymentMethod
from marketplace.payments.models import Payment, PaymentRefund
from marketplace.producers import services as producers
from marketplace.trust.models import Certification, CertificationScheme
from tests.alerts.helpers import FRIDAY, MONDAY, SATURDAY, THURSDAY, Market, at
from tests.factories import (
    ProducerFactory,
    ProductFactory,
    UserFactory,
    VendorFactory,
    add_organizer,
)


def emails(to: str, template: str) -> list[OutboxEmail]:
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == to, OutboxEmail.template == template)
                                   .order_by(OutboxEmail.id)))


def place(w: Market, customer, grams: int, now=None):
    order = orders.place_order(customer, w.day.id, {w.potatoes.id: grams}, slot_id=w.day.slots[0].id,
                               payment_method=PaymentMethod.CASH, phone="+7 701 000 00 00",
                               idempotency_key=uuid.uuid4().hex, now=now or at(THURSDAY, 12))
    db.session.commit()
    queue_committed_confirmations()  # the confirmation, as at a request's end (run at once under testing)
    return order


def test_followers_of_producers_hear_once_what_they_bring_for_the_day(ctx):
    w = Market()
    honey_farm = ProducerFactory(name="Asel Bekova Honey")
    VendorFactory(market=w.market, producer=honey_farm)
    honey = ProductFactory(producer=honey_farm, name="Honey")
    fan = UserFactory()
    follows.follow(fan, producer=w.farm)
    follows.follow(fan, producer=honey_farm)
    follows.follow(fan, market=w.market)
    db.session.commit()
    now = at(MONDAY, 10)
    # Both producers fill their grids (the potatoes' stock goes up, honey is new).
    producers.save_availability(w.farm, w.farm.user, {(w.day.id, w.potatoes.id): ("80", "")}, now=now)
    producers.save_availability(honey_farm, honey_farm.user, {(w.day.id, honey.id): ("10", "")}, now=now)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ProducerNews)) == 2
    assert services.tell_producer_news(now=utcnow() + timedelta(minutes=2)) == 0  # still typing, maybe
    assert services.tell_producer_news(now=now) == 1  # one message for both producers
    db.session.commit()
    [email] = emails(fan.email, "new_this_week")
    assert "Gulnara Sadykova" in email.body_text and "Potatoes" in email.body_text
    assert "Asel Bekova Honey" in email.body_text and "Honey" in email.body_text
    # More stock later the same week: no second "new this week" for that day.
    producers.save_availability(w.farm, w.farm.user, {(w.day.id, w.potatoes.id): ("90", "")}, now=now)
    db.session.commit()
    services.tell_producer_news(now=now + timedelta(hours=1))
    db.session.commit()
    assert len(emails(fan.email, "new_this_week")) == 1


def test_news_of_a_day_goes_only_to_followers_who_shop_at_its_market(ctx):
    """Issue #24: followers of a producer hear of stock for a day of a market they follow; one who
    ordered there before (their "my market") too; one who shops at another market does not."""
    w = Market()
    elsewhere = Market()
    follower_of_market, regular, other_market_only, producer_only = (UserFactory() for _ in range(4))
    for fan in (follower_of_market, regular, other_market_only, producer_only):
        follows.follow(fan, producer=w.farm)
    follows.follow(follower_of_market, market=w.market)
    follows.follow(other_market_only, market=elsewhere.market)
    db.session.commit()
    place(w, regular, 1000, now=at(MONDAY, 9, 30))
    producers.save_availability(w.farm, w.farm.user, {(w.day.id, w.potatoes.id): ("80", "")}, now=at(MONDAY, 10))
    db.session.commit()
    assert services.tell_producer_news(now=at(MONDAY, 11)) == 2
    db.session.commit()
    told = {fan.email for fan in (follower_of_market, regular, other_market_only, producer_only)
            if emails(fan.email, "new_this_week")}
    assert told == {follower_of_market.email, regular.email}


def test_lowering_stock_is_no_news(ctx):
    w = Market()
    follows.follow(UserFactory(), producer=w.farm)
    producers.save_availability(w.farm, w.farm.user, {(w.day.id, w.potatoes.id): ("10", "")}, now=at(MONDAY, 10))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ProducerNews)) == 0


def test_news_waits_for_the_ordering_window_and_is_dropped_after_the_cutoff(ctx):
    w = Market(ordering_opens=at(THURSDAY, 9))
    fan = UserFactory()
    follows.follow(fan, producer=w.farm)
    follows.follow(fan, market=w.market)
    producers.save_availability(w.farm, w.farm.user, {(w.day.id, w.potatoes.id): ("80", "")}, now=at(MONDAY, 10))
    db.session.commit()
    assert services.tell_producer_news(now=at(MONDAY, 12)) == 0
    assert services.tell_producer_news(now=at(THURSDAY, 10)) == 1
    late = Market()
    follows.follow(fan, producer=late.farm)
    producers.save_availability(late.farm, late.farm.user, {(late.day.id, late.potatoes.id): ("80", "")},
                                now=at(MONDAY, 10))
    db.session.commit()
    assert services.tell_producer_news(now=at(SATURDAY, 9)) == 0
    assert db.session.scalar(select(func.count()).select_from(ProducerNews).where(ProducerNews.told_at.is_(None))) == 0


def test_producers_hear_of_each_new_order_once(ctx):
    w = Market()
    order = place(w, UserFactory(), 2500)
    services.tell_producers_of_orders(now=at(THURSDAY, 12, 1))
    services.tell_producers_of_orders(now=at(THURSDAY, 12, 2))
    db.session.commit()
    [email] = emails(w.farm.user.email, "producer_new_order")
    assert order.pickup_code in email.subject and "Potatoes: 2.5\xa0kg" in email.body_text
    assert "/shop/orders/days/" in email.body_text


def test_the_evening_before_each_producer_gets_a_summary(ctx):
    w = Market()
    for grams in (2500, 1000, 500):
        place(w, UserFactory(), grams)
    assert services.send_producer_summaries(now=at(FRIDAY, 17, 55)) == 0
    assert services.send_producer_summaries(now=at(FRIDAY, 20, 0)) == 1  # at the cutoff, 20:00
    assert services.send_producer_summaries(now=at(FRIDAY, 20, 15)) == 0
    db.session.commit()
    [email] = emails(w.farm.user.email, "producer_summary")
    assert "3 orders" in email.body_text and "4\xa0kg Potatoes" in email.body_text


def test_an_early_cutoff_sends_the_summary_at_six_in_the_evening(ctx):
    w = Market(cutoff=at(THURSDAY, 12))
    place(w, UserFactory(), 1000, now=at(THURSDAY, 11))
    assert services.summary_due_at(w.day) == at(FRIDAY, 18)


def test_organizers_hear_of_a_waiting_certificate_and_of_an_application(ctx):
    w = Market()
    organizer = UserFactory()
    add_organizer(w.market, organizer)
    certificate = Certification(producer_id=w.farm.id, scheme=CertificationScheme.ORGANIC_THIRD_PARTY,
                                issuer="Organic Kazakhstan", valid_from=date(2030, 1, 1), valid_until=date(2032, 1, 1))
    newcomer = ProducerFactory(name="Nurlan Dairy")
    VendorFactory(market=w.market, producer=newcomer, status=VendorStatus.APPLIED, message="Fresh kurt and ayran")
    db.session.add(certificate)
    db.session.commit()
    assert services.tell_organizers() == 2
    assert services.tell_organizers() == 0
    db.session.commit()
    assert len(emails(organizer.email, "organizer_certificate")) == 1
    [application] = emails(organizer.email, "organizer_vendor_applied")
    assert "Nurlan Dairy" in application.subject and "Fresh kurt" in application.body_text
    assert emails(w.farm.user.email, "organizer_certificate") == []


def test_a_refund_is_told_to_the_customer_once(ctx):
    w = Market()
    customer = UserFactory()
    order = place(w, customer, 1000)
    payment = Payment(order_id=order.id, currency="KZT", amount_authorized_minor=20000,
                      amount_captured_minor=20000, provider_intent_id="pi_1")
    db.session.add(payment)
    db.session.flush()
    db.session.add(PaymentRefund(payment_id=payment.id, amount_minor=5000, provider_refund_id="re_1"))
    db.session.add(PaymentRefund(payment_id=payment.id, amount_minor=1000))  # not confirmed by Stripe yet
    db.session.commit()
    assert services.tell_refunds() == 1
    assert services.tell_refunds() == 0
    db.session.commit()
    [email] = emails(customer.email, "order_refunded")
    assert "50" in email.body_text and order.pickup_code in email.body_text
    assert db.session.scalar(select(func.count()).select_from(Notice).where(Notice.kind == "order_updates")) == 2


def test_standing_stock_is_news_for_the_coming_days_of_the_producers_markets(ctx):
    from marketplace.producers.models import StockMode, Unit
    from marketplace.producers.services import ProductData
    from tests.factories import CategoryFactory, MarketDayFactory

    day = MarketDayFactory()  # three days ahead, its ordering open
    crafts = ProducerFactory(name="Felt Workshop")
    VendorFactory(market=day.market, producer=crafts)
    elsewhere = MarketDayFactory()  # a market the producer does not sell at
    db.session.commit()
    producers.create_product(crafts, crafts.user, ProductData(
        name="Slippers", category_id=CategoryFactory().id, unit=Unit.PIECE, price_minor=500000,
        sold_by_weight=False, stock_mode=StockMode.INVENTORY, inventory_milli=5000))
    db.session.commit()
    assert db.session.scalars(select(ProducerNews.market_day_id)).all() == [day.id]
    assert elsewhere.id != day.id
