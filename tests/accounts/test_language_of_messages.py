"""Accounts without a language chosen are written to in the language they use on the site: the
page's language is kept at login and at checkout, and a choice made is never overwritten."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.notifications.channels import Recipient
from marketplace.notifications.models import OutboxEmail
from marketplace.orders import tasks as order_tasks
from tests.factories import UserFactory
from tests.orders.helpers import World
from tests.orders.test_views import add, checkout


def _reloaded(user):
    db.session.expire_all()
    return db.session.get(type(user), user.id)


def test_logging_in_on_a_kazakh_page_makes_messages_kazakh(ctx, client, login):
    user = UserFactory(locale=None)
    client.set_cookie("locale", "kk")
    login(user.email)
    user = _reloaded(user)
    assert user.locale is None  # still "as my browser says" for pages
    assert user.last_locale == "kk" and Recipient.of(user).locale == "kk"


def test_a_language_chosen_is_kept_whatever_page_one_logs_in_on(ctx, client, login):
    user = UserFactory(locale="ru")
    client.set_cookie("locale", "ky")
    login(user.email)
    assert Recipient.of(_reloaded(user)).locale == "ru"


def test_the_order_email_of_a_checkout_on_a_kyrgyz_page_is_kyrgyz(ctx, client, login):
    world = World()
    login(world.customer.email)  # on an English page
    world.customer.locale = None
    db.session.commit()
    client.set_cookie("locale", "ky")
    add(client, world, world.potatoes, "1")
    assert checkout(client, world).status_code == 302
    assert _reloaded(world.customer).last_locale == "ky"
    order_tasks.confirm_missed_orders()
    db.session.commit()
    [email] = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == world.customer.email)).all()
    assert "Буйрутмаңыз ырасталды" in email.body_text  # "your order is confirmed", in Kyrgyz
