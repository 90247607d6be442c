"""Reminders that would come too late are not sent: "order by" and "ordering is open" held in an
outbox (a Telegram 429 pause, a mail outage) past the day's cutoff expire, and those of a follower
who ordered for the day meanwhile are withdrawn."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.alerts import services
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.notifications.models import OutboxEmail, OutboxTelegram, TelegramLink
from marketplace.notifications.services import deliver
from marketplace.notifications.telegram_bot import deliver_telegram
from marketplace.orders import queue_committed_confirmations
from marketplace.orders import services as orders
from marketplace.orders.models import PaymentMethod
from tests.alerts.helpers import FRIDAY, MONDAY, Market, at
from tests.factories import UserFactory


def _outbox(model, template: str) -> list:
    db.session.expire_all()
    return list(db.session.scalars(select(model).where(model.template == template).order_by(model.id)))


def test_an_order_by_still_waiting_after_the_cutoff_expires_unsent(ctx, telegram_on):
    """The reminder was written an hour before the cutoff; the outbox gets to it only after it."""
    cutoff = utcnow() - timedelta(minutes=1)
    w = Market(ordering_opens=cutoff - timedelta(days=3), cutoff=cutoff)
    user = w.follower()
    db.session.add(TelegramLink(user_id=user.id, chat_id=5550031))
    db.session.commit()
    assert services.tell_order_by(now=cutoff - timedelta(hours=1)) == 1
    db.session.commit()

    assert deliver() == 0 and deliver_telegram() == 0
    assert telegram_on.sent_to(5550031) == []
    [email], [message] = _outbox(OutboxEmail, "order_by"), _outbox(OutboxTelegram, "order_by")
    assert email.status == message.status == "expired" and email.sent_at is None and message.sent_at is None
    assert email.send_before == message.send_before == cutoff


def test_a_reminder_before_its_cutoff_still_goes(ctx, telegram_on):
    w = Market()
    user = w.follower()
    db.session.add(TelegramLink(user_id=user.id, chat_id=5550032))
    db.session.commit()
    services.tell_ordering_open(now=at(MONDAY, 10))
    db.session.commit()
    assert deliver() == 1 and deliver_telegram() == 1
    assert _outbox(OutboxEmail, "ordering_open")[0].send_before == w.day.cutoff_at


def test_a_follower_who_orders_while_the_reminders_wait_gets_neither(ctx, telegram_on):
    w = Market()
    ordered, other = w.follower(), w.follower()
    db.session.add(TelegramLink(user_id=ordered.id, chat_id=5550033))
    db.session.commit()
    services.tell_ordering_open(now=at(MONDAY, 10))
    services.tell_order_by(now=at(FRIDAY, 15))
    db.session.commit()
    orders.place_order(ordered, w.day.id, {w.potatoes.id: 1000}, slot_id=w.day.slots[0].id,
                       payment_method=PaymentMethod.CASH, phone="+7 701 000 00 00", idempotency_key=uuid.uuid4().hex,
                       now=at(FRIDAY, 15, 30))
    db.session.commit()
    queue_committed_confirmations()  # as the request's end does: the worker tells the customer

    deliver()
    deliver_telegram()
    for template in ("ordering_open", "order_by"):
        mine = [row for row in _outbox(OutboxEmail, template) if row.to == ordered.email]
        theirs = [row for row in _outbox(OutboxEmail, template) if row.to == other.email]
        assert [row.status for row in mine] == ["expired"]
        assert [row.status for row in theirs] == ["sent"]  # only the one who ordered
        assert [row.status for row in _outbox(OutboxTelegram, template)] == ["expired"]
    # Only the order's confirmation reached the chat.
    assert [m.text.splitlines()[0] for m in telegram_on.sent_to(5550033)] == [
        _outbox(OutboxTelegram, "order_confirmed")[0].text.splitlines()[0]]


@pytest.mark.parametrize(("locale", "word"), [("en", "too late, not sent"), ("ru", "опоздало, не отправлено"),
                                              ("kk", "кешікті, жіберілмеді"), ("ky", "кечикти, жөнөтүлгөн жок")])
def test_the_admin_sees_an_expired_reminder_as_too_late(ctx, client, login, locale, word):
    cutoff = utcnow() - timedelta(minutes=1)
    w = Market(ordering_opens=cutoff - timedelta(days=3), cutoff=cutoff)
    w.follower()
    services.tell_order_by(now=cutoff - timedelta(hours=1))
    db.session.commit()
    deliver()
    login(UserFactory(roles=["admin"]).email)
    client.set_cookie("locale", locale)
    page = client.get("/admin/emails?status=expired").text
    assert word in page and "Green Bazaar" in page
    assert "Green Bazaar" not in client.get("/admin/emails?status=waiting").text
