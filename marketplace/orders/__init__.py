"""Orders: the basket, checkout reserving stock and slot, every order transition, reminders, pick lists."""
from __future__ import annotations

import logging

from flask import Flask, g, has_app_context
from flask_login import user_logged_in
from flask_babel import lazy_gettext as _l
from sqlalchemy import event

from marketplace.core.extensions import db

from marketplace.markets.signals import market_day_cancelled
from marketplace.orders import basket, cli, queries, services, tasks, views
from marketplace.tasks import add_tasks
from marketplace.web.security import keep_at_login
from marketplace.web.templating import (
    NavEntry,
    TabEntry,
    add_nav_entries,
    add_tabs,
    add_template_globals,
)


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    for command in cli.commands:
        app.cli.add_command(command)
    add_tasks(app, tasks.confirm_orders, tasks.confirm_missed_orders, tasks.expire_reservations, tasks.send_reminders,
              tasks.forget_old_baskets)
    _confirm_after_commit(app)
    market_day_cancelled.connect(services.cancel_orders_of_cancelled_day, weak=False)
    keep_at_login(app, basket.KEY)  # a basket filled before logging in is still there after,
    user_logged_in.connect(basket.renew_key_at_login, app, weak=False)  # under a key of its own
    add_nav_entries(app, NavEntry(10, None, "orders.my_orders", _l("My orders")),
                    NavEntry(30, "producer", "orders.producer_days", _l("Orders to prepare")))
    add_tabs(app, "shop", TabEntry(20, "orders.producer_days", _l("Orders"), also=("orders.pick_list",)))
    # Pages of lower features (the organizer's market, the producer's dashboard) show these counts.
    add_template_globals(app, order_counts_of_days=queries.order_counts_of_days,
                         open_order_count_of_producer=queries.open_order_count_of_producer,
                         producer_sales=queries.producer_sales,
                         producer_day_order_counts=queries.producer_day_order_counts,
                         weights_to_enter=queries.weights_to_enter,
                         # The admin's overview (accounts, below): orders and sales per week.
                         orders_per_week=queries.orders_per_week)


log = logging.getLogger(__name__)


def _confirm_after_commit(app: Flask) -> None:
    """The cash orders a request or command committed are confirmed by the worker once it ends
    (confirm-orders); if the queue is away, confirm-missed-orders finds them within a minute."""

    @event.listens_for(db.session, "after_commit")
    def _committed(session):
        if session.in_nested_transaction():
            return
        ids = session.info.pop(services.TO_CONFIRM, None)
        if ids and has_app_context():
            g.setdefault(services.TO_CONFIRM, []).extend(ids)

    @event.listens_for(db.session, "after_rollback")
    def _rolled_back(session):
        session.info.pop(services.TO_CONFIRM, None)

    @app.teardown_appcontext
    def _queue_confirmations(_exc):
        queue_committed_confirmations()


def queue_committed_confirmations() -> None:
    """Hand the cash orders committed so far to the worker (confirm-orders): what a request or
    command does once it ends, and a test or script does right after its commit."""
    ids = g.pop(services.TO_CONFIRM, None)
    if not ids:
        return
    db.session.rollback()  # the work is committed; a task run here (immediate mode) starts afresh
    try:
        tasks.confirm_orders.delay(ids)
    except Exception:  # queuing must never break a response
        log.exception("Queuing the confirmation of orders %s failed", ids)
