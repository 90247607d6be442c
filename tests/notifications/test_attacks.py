"""What someone who did not build it tried against messages and Telegram: forged and replayed
unsubscribe links, another user's link token, a used token, a flooded bot, hostile names."""
from __future__ import annotations

from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.notifications import telegram
from marketplace.notifications.channels import preferences_of, unsubscribe_token
from marketplace.notifications.kinds import EMAIL, ORDER_UPDATES, ORDERING_OPEN, PRODUCER_ORDERS
from marketplace.notifications.models import OutboxEmail, OutboxTelegram, TelegramLink
from tests.factories import MarketDayFactory, MarketFactory, UserFactory
from tests.standins.telegram_server import TelegramUser

MALLORY = TelegramUser(id=6660001, first_name="Mallory", language_code="ru")
AIGERIM = TelegramUser(id=5550001, first_name="Aigerim", language_code="kk")


def poll(app):
    return app.test_cli_runner().invoke(args=["telegram-poll", "--once"]).output


def test_unsubscribe_tokens_that_were_not_signed_for_this_are_404_never_500(ctx, client):
    victim = UserFactory()
    real = unsubscribe_token(victim.id, ORDERING_OPEN, EMAIL)
    payload, signature = real.split(".")
    for token in (real[:-1], payload, f"{payload}.{signature[::-1]}", "x" * 5000, "..", "%00", "é" * 10,
                  unsubscribe_token(victim.id, ORDERING_OPEN, EMAIL).replace(payload[:4], "AAAA")):
        assert client.get(f"/unsubscribe/{token}").status_code == 404
        assert client.post(f"/unsubscribe/{token}").status_code == 404
    # A token signed with another key (another site, an old SECRET_KEY) is refused too.
    from itsdangerous import URLSafeSerializer

    other = URLSafeSerializer("another-secret", salt="aimak-unsubscribe").dumps([victim.id, ORDERING_OPEN, EMAIL])
    assert client.post(f"/unsubscribe/{other}").status_code == 404
    assert preferences_of(victim.id)[(ORDERING_OPEN, EMAIL)] is True


def test_a_replayed_unsubscribe_changes_only_what_it_names(ctx, client):
    user = UserFactory()
    token = unsubscribe_token(user.id, ORDERING_OPEN, EMAIL)
    for _ in range(3):
        assert client.post(f"/unsubscribe/{token}").status_code == 200
    chosen = preferences_of(user.id)
    assert chosen[(ORDERING_OPEN, EMAIL)] is False
    assert all(on for key, on in chosen.items() if key != (ORDERING_OPEN, EMAIL))


def test_someone_elses_link_token_links_their_chat_but_the_owner_is_emailed(ctx, app, client, login, telegram_on):
    """A deep link is a bearer token (as Telegram designs them): whoever presses Start with it links
    their chat. It lives 30 minutes, works once, and the owner hears of every link by email."""
    owner = UserFactory(locale="ru")
    token = telegram.new_link_token(owner.id)
    db.session.commit()
    telegram_on.user_says(MALLORY, f"/start {token}")
    poll(app)
    assert db.session.scalar(select(TelegramLink.chat_id).where(TelegramLink.user_id == owner.id)) == MALLORY.id
    [warning] = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == owner.email,
                                                             OutboxEmail.template == "telegram_linked")).all()
    assert "/account#messages" in warning.body_text
    # The owner unlinks from the site; the chat is told and gets nothing more.
    login(owner.email)
    client.post("/account/telegram/unlink")
    assert db.session.scalars(select(TelegramLink)).all() == []


def test_a_used_token_links_nothing_more(ctx, app, telegram_on):
    owner = UserFactory()
    token = telegram.new_link_token(owner.id)
    db.session.commit()
    telegram_on.user_says(AIGERIM, f"/start {token}")
    telegram_on.user_says(AIGERIM, f"/start {token}")  # Telegram sends it again: the same answer
    telegram_on.user_says(MALLORY, f"/start {token}")  # someone who saw the link later: refused
    poll(app)
    assert {(link.user_id, link.chat_id) for link in db.session.scalars(select(TelegramLink))} == {
        (owner.id, AIGERIM.id)}
    assert [m.text.startswith("Дайын") for m in telegram_on.sent_to(AIGERIM.id)] == [True, True]
    assert "истёк" in telegram_on.sent_to(MALLORY.id)[0].text
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail).where(
        OutboxEmail.template == "telegram_linked")) == 1


def test_a_flood_of_made_up_tokens_gets_a_few_answers_not_a_flood(ctx, app, telegram_on):
    for n in range(30):
        telegram_on.user_says(MALLORY, f"/start guess{n:04d}")
    poll(app)
    assert len(telegram_on.sent_to(MALLORY.id)) == telegram.REPLIES_PER_MINUTE
    assert db.session.scalars(select(TelegramLink)).all() == []


def test_hostile_names_are_escaped_into_valid_telegram_html(ctx, app, telegram_on):
    """The stand-in refuses HTML Telegram would refuse: a name with tags and ampersands must pass."""
    from marketplace.notifications.channels import Recipient, notify
    from marketplace.notifications.telegram_bot import deliver_telegram

    user = UserFactory(name="<b>Bolot</b> & <i>Co")
    db.session.add(TelegramLink(user_id=user.id, chat_id=AIGERIM.id))
    market = MarketFactory(name='Bazaar <script>alert(1)</script> & "Sons" <a href=x>')
    day = MarketDayFactory(market=market)
    db.session.commit()
    notify(Recipient.of(user), ORDERING_OPEN, "ordering_open", "Ordering", occasion="x",
           page=("catalog.market", {"slug": market.slug}), user=user, market=market, market_day=day, producers=1)
    db.session.commit()
    deliver_telegram()
    [sent] = telegram_on.sent_to(AIGERIM.id)
    assert "&lt;script&gt;" in sent.text and "<script>" not in sent.text
    assert db.session.scalar(select(OutboxTelegram.failed_at)) is None


def test_the_switches_form_changes_only_the_kinds_of_the_persons_roles(ctx, client, login):
    customer = UserFactory()
    login(customer.email)
    client.post("/account/messages", data={f"{ORDER_UPDATES}-{EMAIL}": "on", f"{PRODUCER_ORDERS}-{EMAIL}": "on",
                                           "no_such_kind-email": "on", f"{ORDER_UPDATES}-sms": "on"})
    chosen = preferences_of(customer.id)
    assert chosen[(ORDER_UPDATES, EMAIL)] is True and chosen[(ORDERING_OPEN, EMAIL)] is False
    assert chosen[(PRODUCER_ORDERS, EMAIL)] is True  # untouched: not a customer's kind (the default stays)


def test_forms_without_the_csrf_token_are_refused(app, ctx, client, login, telegram_on):
    customer = UserFactory()
    login(customer.email)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/account/messages", data={}).status_code == 400
        assert client.post("/account/telegram/link").status_code == 400
        assert client.post("/account/telegram/unlink").status_code == 400
        assert client.get("/account/telegram/unlink").status_code == 405
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert preferences_of(customer.id)[(ORDERING_OPEN, EMAIL)] is True


def test_link_tokens_are_rate_limited_per_account(app, ctx, client, login, telegram_on):
    customer = UserFactory()
    login(customer.email)
    app.config["RATE_LIMITS_ON"] = True
    try:
        codes = [client.post("/account/telegram/link").status_code for _ in range(12)]
    finally:
        app.config["RATE_LIMITS_ON"] = False
    assert codes[:10] == [302] * 10 and codes[10:] == [429, 429]
