"""Alerts: telling people where they are — followers of markets and producers ("ordering is open",
"order by", "new this week"), producers (each new order, the evening-before summary) and
organizers (a certificate waits, a vendor applies) — through notifications' channels.

It sits on top of every feature it reads (orders, payments, trust, follows); of those below it
listens to producers' `stock_added` and orders' `order_confirmed` (to withdraw a reminder) only,
and reads the rest from their tables on a schedule.
"""
from __future__ import annotations

from flask import Flask

from marketplace.alerts import services, tasks
from marketplace.notifications.telegram import set_account_lookup
from marketplace.orders.signals import order_confirmed
from marketplace.producers.signals import stock_added
from marketplace.tasks import add_tasks


def register(app: Flask) -> None:
    stock_added.connect(services.remember_stock_added, weak=False)
    order_confirmed.connect(services.withdraw_reminders_of_order, weak=False)
    add_tasks(app, tasks.tell_ordering_open, tasks.tell_order_by, tasks.tell_producer_news,
              tasks.tell_producers_of_orders, tasks.send_producer_summaries, tasks.tell_organizers, tasks.tell_refunds)
    # The bot answers a linked chat in the account's language, and the owner is emailed when a chat is
    # linked (notifications does not know accounts).
    set_account_lookup(app, services.recipient_of)
