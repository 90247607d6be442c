"""Followers of a market: "ordering is open" and "order by", once per market day and kind,
by their channels, in their language, never at night; and the jobs run once across hosts."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from marketplace.alerts import services
from marketplace.core.extensions import db
from marketplace.follows import services as follows
from marketplace.notifications.channels import set_preference
from marketplace.notifications.kinds import EMAIL, ORDERING_OPEN
from marketplace.notifications.models import Notice, OutboxEmail, TelegramLink
from marketplace.notifications.telegram_bot import deliver_telegram
from marketplace.orders import services as orders
from marketplace.orders.models import PaymentMethod
from marketplace.tasks import queue_of, run_scheduled
from tests.alerts.helpers import FRIDAY, MONDAY, SATURDAY, THURSDAY, Market, at
from tests.factories import UserFactory


def emails(to: str, template: str | None = None) -> list[OutboxEmail]:
    query = select(OutboxEmail).where(OutboxEmail.to == to).order_by(OutboxEmail.id)
    if template:
        query = query.where(OutboxEmail.template == template)
    return list(db.session.scalars(query))


def test_followers_are_told_once_that_ordering_is_open(ctx):
    w = Market()
    aigerim, bolot = w.follower(locale="ru"), w.follower(locale="ky")
    stranger = UserFactory()
    assert services.tell_ordering_open(now=at(MONDAY, 8, 55)) == 0  # not open yet
    assert services.tell_ordering_open(now=at(MONDAY, 9, 5)) == 2
    assert services.tell_ordering_open(now=at(MONDAY, 9, 10)) == 0  # the next run: nobody twice
    db.session.commit()
    [email] = emails(aigerim.email)
    assert "Green Bazaar" in email.subject and email.template == "ordering_open"
    assert "/markets/" in email.body_text and "/unsubscribe/" in email.body_text
    assert emails(bolot.email)[0].body_text != email.body_text  # Kyrgyz, not Russian
    assert emails(stranger.email) == []


def test_ordering_open_is_not_told_to_a_follower_who_already_ordered_for_that_day(ctx):
    """A customer orders, then follows the market: "ordering is open, order now" for the very day
    they ordered for would be noise (the window opened less than OPENING_TOLD_FOR ago)."""
    w = Market()
    ordered, other = w.follower(), w.follower()
    orders.place_order(ordered, w.day.id, {w.potatoes.id: 1000}, slot_id=w.day.slots[0].id,
                       payment_method=PaymentMethod.CASH, phone="+7 701 000 00 00", idempotency_key=uuid.uuid4().hex,
                       now=at(MONDAY, 9, 1))
    db.session.commit()
    assert services.tell_ordering_open(now=at(MONDAY, 9, 5)) == 1
    db.session.commit()
    assert emails(ordered.email, "ordering_open") == [] and len(emails(other.email, "ordering_open")) == 1


def test_a_window_opening_at_night_is_told_in_the_morning(ctx):
    w = Market(ordering_opens=at(MONDAY, 0, 0))
    w.follower()
    assert services.tell_ordering_open(now=at(MONDAY, 0, 5)) == 0
    assert services.tell_ordering_open(now=at(MONDAY, 7, 55)) == 0
    assert services.tell_ordering_open(now=at(MONDAY, 8, 0)) == 1


def test_order_by_goes_to_followers_who_have_not_ordered_for_that_day(ctx):
    w = Market()
    ordered, forgot = w.follower(), w.follower()
    orders.place_order(ordered, w.day.id, {w.potatoes.id: 1000}, slot_id=w.day.slots[0].id,
                       payment_method=PaymentMethod.CASH, phone="+7 701 000 00 00", idempotency_key=uuid.uuid4().hex,
                       now=at(THURSDAY, 12))
    db.session.commit()
    assert services.tell_order_by(now=at(FRIDAY, 13, 55)) == 0  # six hours before the cutoff is 14:00
    assert services.tell_order_by(now=at(FRIDAY, 14, 0)) == 1
    assert services.tell_order_by(now=at(FRIDAY, 14, 15)) == 0
    db.session.commit()
    assert [e.template for e in emails(forgot.email)] == ["order_by"]
    assert "order_by" not in [e.template for e in emails(ordered.email)]
    assert services.tell_order_by(now=at(FRIDAY, 20, 0)) == 0  # closed


def test_an_order_by_due_at_night_moves_to_the_evening_before(ctx):
    w = Market(cutoff=at(SATURDAY, 6, 0))  # six hours before is midnight
    w.follower()
    assert services.order_by_due_at(w.day) == at(FRIDAY, 21, 0)
    assert services.tell_order_by(now=at(FRIDAY, 20, 55)) == 0
    assert services.tell_order_by(now=at(FRIDAY, 21, 0)) == 1


def test_at_most_one_message_per_market_day_and_kind_whatever_the_follows(ctx):
    """A flood of follow, unfollow, follow again changes nothing: one message per day and kind."""
    w = Market()
    user = w.follower()
    services.tell_ordering_open(now=at(MONDAY, 10))
    for _ in range(20):
        follows.unfollow(user, market=w.market)
        follows.follow(user, market=w.market)
    db.session.commit()
    services.tell_ordering_open(now=at(MONDAY, 11))
    services.tell_order_by(now=at(FRIDAY, 15))
    services.tell_order_by(now=at(FRIDAY, 16))
    db.session.commit()
    assert sorted(e.template for e in emails(user.email)) == ["order_by", "ordering_open"]
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 2


def test_a_follower_who_switched_a_kind_off_gets_nothing_of_it(ctx):
    w = Market()
    user = w.follower()
    set_preference(user.id, ORDERING_OPEN, EMAIL, False)
    db.session.commit()
    services.tell_ordering_open(now=at(MONDAY, 10))
    services.tell_order_by(now=at(FRIDAY, 15))
    db.session.commit()
    assert [e.template for e in emails(user.email)] == ["order_by"]


def test_followers_with_telegram_get_it_there_too(ctx, telegram_on):
    w = Market()
    user = w.follower(locale="ky")
    db.session.add(TelegramLink(user_id=user.id, chat_id=5550002))
    db.session.commit()
    services.tell_ordering_open(now=at(MONDAY, 10))
    db.session.commit()
    deliver_telegram()
    [message] = telegram_on.sent_to(5550002)
    assert "Green Bazaar" in message.text and "/unsubscribe/" in message.text
    assert message.reply_markup["inline_keyboard"][0][0]["url"].endswith(f"/markets/{w.market.slug}")


def test_the_scheduled_job_runs_once_per_slot_across_hosts(app, ctx, monkeypatch):
    w = Market()
    w.follower()
    job = queue_of(app).tasks["tell-ordering-open"]
    now = at(MONDAY, 10)
    monkeypatch.setattr(services, "utcnow", lambda: now)  # the job's clock, moved to Monday
    assert run_scheduled(job, now=now) is True
    assert run_scheduled(job, now=now + timedelta(seconds=30)) is False  # the other host, same slot
    assert run_scheduled(job, now=now + timedelta(minutes=5)) is True  # the next slot: nobody told twice
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 1


def test_a_cancelled_day_is_not_announced(ctx):
    from marketplace.markets.models import MarketDayStatus

    w = Market()
    w.follower()
    w.day.status = MarketDayStatus.CANCELLED
    db.session.commit()
    assert services.tell_ordering_open(now=at(MONDAY, 10)) == 0
    assert services.tell_order_by(now=at(FRIDAY, 15)) == 0


def test_the_saturday_is_named_in_the_subject(ctx):
    w = Market()
    user = w.follower(locale="en")
    services.tell_ordering_open(now=at(MONDAY, 10))
    db.session.commit()
    assert SATURDAY.strftime("%-d") in emails(user.email)[0].subject
