"""Which language the bot speaks to someone whose account says "As my browser says" (no
language saved): the one they are reading the site in when they act there."""
from __future__ import annotations

from marketplace.core.extensions import db
from marketplace.notifications.models import TelegramLink
from tests.factories import UserFactory
from tests.standins.telegram_server import TelegramUser

BOLOT = TelegramUser(id=5550012, first_name="Bolot", language_code="en")


def test_unlinking_on_the_site_tells_the_chat_in_the_language_of_the_page(ctx, client, login, telegram_on):
    user = UserFactory(locale=None)
    db.session.add(TelegramLink(user_id=user.id, chat_id=BOLOT.id))
    db.session.commit()
    login(user.email)
    client.set_cookie("locale", "ky")
    client.post("/account/telegram/unlink")
    said = telegram_on.sent_to(BOLOT.id)[-1].text
    assert "unlinked" not in said and "ажыратылды" in said.lower(), said
