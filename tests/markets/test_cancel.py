"""Cancelling a market day: once, and finishing the job when run again."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from marketplace.core.errors import InvalidState, NotAllowed
from marketplace.core.extensions import db
from marketplace.markets import services
from marketplace.markets.models import MarketDay, MarketDayStatus, VendorStatus
from marketplace.markets.signals import market_day_cancelled
from tests.factories import MarketDayFactory, UserFactory, VendorFactory, add_organizer


class Receiver:
    """Counts the signal and does idempotent work, as the orders receiver must."""

    def __init__(self):
        self.calls = []
        self.done = set()

    def __call__(self, sender, actor=None, **_):
        assert sender.status == MarketDayStatus.CANCELLED
        self.calls.append((sender.id, actor.id if actor else None))
        self.done.add(sender.id)


@pytest.fixture
def receiver():
    receiver = Receiver()
    market_day_cancelled.connect(receiver)
    yield receiver
    market_day_cancelled.disconnect(receiver)


@pytest.fixture
def day_with_vendors(ctx):
    organizer = UserFactory(roles=["organizer"])
    day = MarketDayFactory()
    add_organizer(day.market, organizer)
    approved = [VendorFactory(market=day.market) for _ in range(2)]
    VendorFactory(market=day.market, status=VendorStatus.APPLIED)
    VendorFactory(market=day.market, status=VendorStatus.SUSPENDED)
    VendorFactory(status=VendorStatus.APPROVED)  # another market's vendor
    return day, organizer, approved


def test_cancel_twice_emails_each_vendor_once_and_signals_each_time(day_with_vendors, receiver, outbox):
    day, organizer, approved = day_with_vendors
    services.cancel_market_day(organizer, day, "Storm warning")
    db.session.commit()
    services.cancel_market_day(organizer, db.session.get(MarketDay, day.id), "")
    db.session.commit()

    db.session.refresh(day)
    assert day.status == MarketDayStatus.CANCELLED and day.cancel_reason == "Storm warning"
    emails = outbox()
    assert sorted(e.to for e in emails) == sorted(v.producer.user.email for v in approved)
    assert all("Storm warning" in e.body_text for e in emails)
    assert receiver.calls == [(day.id, organizer.id), (day.id, organizer.id)]
    assert receiver.done == {day.id}


def test_rerun_after_a_crash_half_way_finishes_the_job(day_with_vendors, receiver, outbox):
    day, organizer, approved = day_with_vendors
    # An earlier run got the status committed and then died before anything else.
    db.session.execute(update(MarketDay).where(MarketDay.id == day.id)
                       .values(status=MarketDayStatus.CANCELLED, cancel_reason="Flood"))
    db.session.commit()
    db.session.refresh(day)
    services.cancel_market_day(None, day, "")
    db.session.commit()
    assert len(outbox()) == len(approved)
    assert receiver.calls == [(day.id, None)]


def test_a_failing_receiver_leaves_the_day_as_it_was(app, day_with_vendors, outbox):
    """One transaction: nothing is kept when a receiver fails (inside a request, as the page runs it)."""
    day, organizer, _ = day_with_vendors

    def broken(sender, **_):
        raise RuntimeError("payments down")

    market_day_cancelled.connect(broken)
    try:
        with app.test_request_context("/"):
            with pytest.raises(RuntimeError):
                services.cancel_market_day(organizer, day, "Storm")
            db.session.rollback()  # what the error handler does before the request ends
    finally:
        market_day_cancelled.disconnect(broken)
    assert db.session.get(MarketDay, day.id).status == MarketDayStatus.SCHEDULED
    assert outbox() == []


def test_cancel_needs_a_reason_and_a_day_not_over(day_with_vendors, outbox):
    day, organizer, _ = day_with_vendors
    with pytest.raises(services.MarketError):
        services.cancel_market_day(organizer, day, "  ")
    with pytest.raises(InvalidState):
        services.cancel_market_day(organizer, day, "Too late", now=day.closes_at + timedelta(minutes=1))
    db.session.rollback()
    assert db.session.get(MarketDay, day.id).status == MarketDayStatus.SCHEDULED
    assert outbox() == []


def test_a_closed_day_cannot_be_cancelled(day_with_vendors, receiver):
    day, organizer, _ = day_with_vendors
    day.status = MarketDayStatus.CLOSED
    db.session.commit()
    with pytest.raises(InvalidState):
        services.cancel_market_day(organizer, day, "Why not")
    assert receiver.calls == []


def test_only_the_markets_organizers_may_cancel(day_with_vendors, receiver):
    day, _, _ = day_with_vendors
    for outsider in (UserFactory(roles=["organizer"]), UserFactory(roles=["producer"]), UserFactory()):
        with pytest.raises(NotAllowed):
            services.cancel_market_day(outsider, day, "Mine now")
    admin = UserFactory(roles=["admin"])
    services.cancel_market_day(admin, day, "Admin decision")
    db.session.commit()
    assert receiver.calls == [(day.id, admin.id)]


def test_cli_cancels_and_can_be_run_again(app, day_with_vendors, receiver, outbox):
    day, _, approved = day_with_vendors
    runner = app.test_cli_runner()
    first = runner.invoke(args=["cancel-market-day", str(day.id), "--reason", "Holiday"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["cancel-market-day", str(day.id), "--reason", "Holiday"])
    assert second.exit_code == 0, second.output
    assert len(outbox()) == len(approved)
    assert len(receiver.calls) == 2
    missing = runner.invoke(args=["cancel-market-day", "999999", "--reason", "x"])
    assert missing.exit_code != 0 and "No market day" in missing.output


def test_cancel_through_the_page_twice(client, login, day_with_vendors, receiver, outbox):
    day, organizer, approved = day_with_vendors
    login(organizer.email)
    for _ in range(2):
        response = client.post(f"/organize/days/{day.id}/cancel", data={"reason": "Heavy snow"})
        assert response.status_code == 302
    assert len(outbox()) == len(approved)
    page = client.get(f"/organize/days/{day.id}").get_data(as_text=True)
    assert "Heavy snow" in page
    with client.application.app_context():
        assert db.session.scalar(select(MarketDay.status).where(MarketDay.id == day.id)) == MarketDayStatus.CANCELLED


def test_the_cancel_page_warns_that_handed_over_orders_stay(client, login, day_with_vendors):
    day, organizer, _ = day_with_vendors
    login(organizer.email)
    page = client.get(f"/organize/days/{day.id}/cancel").get_data(as_text=True)
    assert "refunded in full" in page
    assert "Orders already handed over to their customers are not cancelled" in page


def test_cancel_without_reason_through_the_page_changes_nothing(client, login, day_with_vendors, outbox):
    day, organizer, _ = day_with_vendors
    login(organizer.email)
    response = client.post(f"/organize/days/{day.id}/cancel", data={"reason": ""}, follow_redirects=True)
    assert "Tell people why" in response.get_data(as_text=True)
    assert outbox() == []


def test_two_organizers_cancelling_at_once_do_everything_once(app, day_with_vendors, outbox):
    """Both requests finish; the day's order is cancelled and its stock given back once."""
    from marketplace.orders.models import Order, OrderLine, OrderStatus
    from marketplace.producers.models import Offer
    from tests.factories import OfferFactory
    from tests.markets.conftest import place_order

    day, organizer, approved = day_with_vendors
    second = UserFactory(roles=["organizer"])
    add_organizer(day.market, second)
    offer = OfferFactory(market_day=day, product__producer=approved[0].producer, quantity_milli=10_000)
    order = place_order(day)
    db.session.add(OrderLine(order_id=order.id, producer_id=approved[0].producer_id, product_id=offer.product_id,
                             offer_id=offer.id, product_name="Potatoes", unit="kg", quantity_milli=2000,
                             unit_price_minor=500, line_total_minor=1000))
    db.session.execute(update(Offer).where(Offer.id == offer.id).values(reserved_milli=2000))
    db.session.commit()
    ids = dict(day=day.id, users=[organizer.id, second.id], order=order.id, offer=offer.id,
               customer=order.customer.email)
    errors, barrier = [], threading.Barrier(2)

    def cancel(user_id):
        from marketplace.accounts.models import User

        with app.app_context(), app.test_request_context("/"):
            user, market_day = db.session.get(User, user_id), db.session.get(MarketDay, ids["day"])
            market_day.market  # noqa: B018 - loaded before the race, like a view would
            db.session.commit()  # do not hold SQLite's write lock while waiting for the other
            barrier.wait()
            try:
                services.cancel_market_day(user, market_day, "Hail")
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - any failure is the test's finding
                db.session.rollback()
                errors.append(repr(exc))

    threads = [threading.Thread(target=cancel, args=(uid,)) for uid in ids["users"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.rollback()  # a fresh read: on SQLite an open read transaction keeps its old snapshot
    assert db.session.get(Order, ids["order"]).status == OrderStatus.CANCELLED
    assert db.session.get(Offer, ids["offer"]).reserved_milli == 0
    assert db.session.get(MarketDay, ids["day"]).slots[0].reserved == 0
    assert sorted(e.to for e in outbox() if e.template == "market_day_cancelled_producer") == sorted(
        v.producer.user.email for v in approved)
    assert [e.template for e in outbox(ids["customer"])].count("order_cancelled") == 1
