"""Telegram refuses a message longer than 4,096 characters for good (400 "message is too long"):
a follower of many producers, or a producer with a long summary, must still get theirs."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.alerts import services
from marketplace.core.extensions import db
from marketplace.follows import services as follows
from marketplace.notifications.models import OutboxTelegram, TelegramLink
from marketplace.notifications.telegram_bot import deliver_telegram
from marketplace.producers import services as producers
from tests.alerts.helpers import MONDAY, Market, at
from tests.factories import ProducerFactory, ProductFactory, UserFactory, VendorFactory

CHAT = 8_800_001


def test_new_this_week_from_many_producers_with_long_names_reaches_telegram(ctx, telegram_on):
    w = Market()
    fan = UserFactory(locale="ru")
    db.session.add(TelegramLink(user_id=fan.id, chat_id=CHAT))
    follows.follow(fan, market=w.market)
    now = at(MONDAY, 10)
    for n in range(15):
        farm = ProducerFactory(name=f"Крестьянское хозяйство «Ак-Суу» {n} " + "Ж" * 60)
        VendorFactory(market=w.market, producer=farm)
        follows.follow(fan, producer=farm)
        grid = {}
        for k in range(6):
            product = ProductFactory(producer=farm, name=f"{k} Мёд горный <б> & «разнотравье» " + "ё" * 80)
            grid[(w.day.id, product.id)] = ("10", "")
        db.session.commit()
        producers.save_availability(farm, farm.user, grid, now=now)
    db.session.commit()
    assert services.tell_producer_news(now=now) == 1
    db.session.commit()
    deliver_telegram()
    message = db.session.scalar(select(OutboxTelegram).where(OutboxTelegram.chat_id == CHAT))
    assert message.failed_at is None and message.sent_at is not None, message.last_error
    [sent] = telegram_on.sent_to(CHAT)
    assert "/unsubscribe/" in sent.text  # the way out is never what gets cut
