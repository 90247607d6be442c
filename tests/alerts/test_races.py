"""The followers' jobs attacked with real races (tests/concurrency.run_together, five rounds):
"ordering is open" run twice at once tells each follower once; "order by" racing a follower's
checkout; Telegram and email both counted."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.alerts import services
from marketplace.core.extensions import db
from marketplace.notifications.kinds import ORDER_BY, ORDERING_OPEN
from marketplace.notifications.models import Notice, OutboxEmail, OutboxTelegram, TelegramLink
from marketplace.orders import services as orders
from marketplace.orders.models import PaymentMethod
from tests.alerts.helpers import FRIDAY, MONDAY, Market, at
from tests.concurrency import run_together

ROUNDS = 5


def _count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def test_ordering_is_open_run_twice_at_once_tells_each_follower_once(app, ctx, telegram_on):
    for round_ in range(ROUNDS):
        w = Market()
        followers = [w.follower(locale="ru") for _ in range(6)]
        db.session.add(TelegramLink(user_id=followers[0].id, chat_id=7_000_000 + round_))
        db.session.commit()
        now = at(MONDAY, 9, 5)
        results = run_together(app, [lambda: services.tell_ordering_open(now=now) for _ in range(3)])
        assert all(isinstance(r, int) for r in results), results
        assert sum(results) == len(followers), results
        for user in followers:
            assert _count(Notice, Notice.user_id == user.id, Notice.kind == ORDERING_OPEN) == 1
            assert _count(OutboxEmail, OutboxEmail.to == user.email, OutboxEmail.template == "ordering_open") == 1
        assert _count(OutboxTelegram, OutboxTelegram.user_id == followers[0].id,
                      OutboxTelegram.template == "ordering_open") == 1


def test_order_by_racing_a_followers_checkout_never_reminds_after_the_order(app, ctx):
    """The follower orders while the "order by" job runs: either the job ran first (a reminder,
    then the order) or the order came first (no reminder). Never a reminder written after the
    order committed, telling them to order what they have ordered."""
    for _round in range(ROUNDS):
        w = Market()
        follower = w.follower()
        follower_id, day_id, product_id, slot_id = follower.id, w.day.id, w.potatoes.id, w.day.slots[0].id

        def checkout():
            order = orders.place_order(db.session.get(User, follower_id), day_id, {product_id: 1000}, slot_id=slot_id,
                                       payment_method=PaymentMethod.CASH, phone="+7 701 000 00 00",
                                       idempotency_key=uuid.uuid4().hex, now=at(FRIDAY, 14, 1))
            return order.id

        results = run_together(app, [checkout, lambda: services.tell_order_by(now=at(FRIDAY, 14, 1))])
        assert isinstance(results[0], int) and isinstance(results[1], int), results
        assert _count(Notice, Notice.user_id == follower_id, Notice.kind == ORDER_BY) <= 1
