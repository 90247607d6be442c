"""Order updates by channel: the customer hears of each transition by email and, once Telegram is
linked, in Telegram too, in their language, with a button to the order."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.notifications.channels import set_preference
from marketplace.notifications.kinds import EMAIL, ORDER_UPDATES
from marketplace.notifications.models import OutboxEmail, TelegramLink
from marketplace.notifications.telegram_bot import deliver_telegram
from marketplace.orders import services as orders
from tests.orders.helpers import World, place

CHAT = 5550009


def templates_to(email: str) -> list[str]:
    return list(db.session.scalars(select(OutboxEmail.template).where(OutboxEmail.to == email)
                                   .order_by(OutboxEmail.id)))


def test_confirmed_ready_and_cancelled_reach_email_and_telegram(ctx, telegram_on):
    w = World()
    w.customer.locale = "ru"
    db.session.add(TelegramLink(user_id=w.customer.id, chat_id=CHAT))
    db.session.commit()
    order = place(w, {w.potatoes: 1000})
    orders.mark_packed(order, w.farm, w.farm.user)
    db.session.commit()
    deliver_telegram()
    assert templates_to(w.customer.email) == ["order_confirmed", "order_ready"]
    confirmed, ready = telegram_on.sent_to(CHAT)
    assert order.pickup_code in confirmed.text and "<code>" in confirmed.text
    assert "собран и готов" in ready.text
    assert ready.reply_markup["inline_keyboard"][0][0] == {"text": "Посмотреть заказ",
                                                           "url": f"http://localhost/orders/{order.id}"}
    # The customer keeps emails but wants no order updates in Telegram.
    set_preference(w.customer.id, ORDER_UPDATES, "telegram", False)
    other = place(w, {w.potatoes: 1000})
    orders.cancel_by_customer(other, w.customer)
    db.session.commit()
    deliver_telegram()
    assert templates_to(w.customer.email)[-2:] == ["order_confirmed", "order_cancelled"]
    assert len(telegram_on.sent_to(CHAT)) == 2


def test_switching_order_emails_off_is_honoured_and_every_email_says_how(ctx):
    w = World()
    order = place(w, {w.potatoes: 1000})
    [email] = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == w.customer.email)).all()
    assert "/unsubscribe/" in email.body_text and email.list_unsubscribe
    set_preference(w.customer.id, ORDER_UPDATES, EMAIL, False)
    db.session.commit()
    orders.cancel_by_customer(order, w.customer)
    db.session.commit()
    assert templates_to(w.customer.email) == ["order_confirmed"]


def test_producers_and_organizers_see_their_own_kinds_on_the_account_page(ctx, client, login):
    w = World()
    login(w.farm.user.email)
    page = client.get("/account").text
    assert "A new order for your products" in page and "The evening before: what to bring" in page
    assert "A certificate or a vendor application waits for you" not in page
