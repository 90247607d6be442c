"""Payments: the card authorised at checkout, captured at pickup, released or refunded; Stripe webhooks, settlement."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.markets.signals import market_day_cancel_committed
from marketplace.orders.signals import (
    order_cancelled,
    order_no_show,
    order_placed,
    payment_methods_requested,
)
from marketplace.payments import (
    cancellation,
    cli,
    gateway,
    queries,
    services,
    tasks,
    views,
)
from marketplace.tasks import add_tasks
from marketplace.web.templating import TabEntry, add_tabs, add_template_globals


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    for command in cli.commands:
        app.cli.add_command(command)
    add_tasks(app, tasks.reconcile_payments, tasks.settle_cancelled_day_task)
    # Settlement pages inside the producer's shop and the organizer's market tabs.
    add_tabs(app, "shop", TabEntry(50, "payments.producer_settlement", _l("My sales")))
    add_tabs(app, "market", TabEntry(30, "payments.market_settlement", _l("Settlement"), args=("market_id",)))
    # Payments follow the order through its signals, because orders may not import payments.
    # The pickup point stands above payments and calls capture and refund itself.
    order_placed.connect(services.open_payment_of_card_order, weak=False)
    order_cancelled.connect(services.release_authorisation, weak=False)
    order_no_show.connect(services.release_authorisation, weak=False)
    payment_methods_requested.connect(services.offer_card, weak=False)
    # The customer's order pages (orders, below) say what happened to the money in words.
    add_template_globals(app, payment_facts_of_orders=queries.payment_facts_of_orders)
    # A cancelled market day's card money is settled after the cancelling commit, as a job.
    market_day_cancel_committed.connect(tasks.finish_cancelled_day, weak=False)
    # The organizer's market day page (markets, below) shows what the cancellation did.
    add_template_globals(app, day_cancellation_panel=cancellation.day_cancellation_panel)
    # Whatever page meets a Stripe error it did not handle answers 503 in the site's design.
    app.register_error_handler(gateway.GatewayError, views.gateway_error)
