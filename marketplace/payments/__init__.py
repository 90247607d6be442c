"""Payments: the card authorised at checkout, captured at pickup, released or refunded; Stripe webhooks, settlement."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.orders.signals import (
    order_cancelled,
    order_no_show,
    order_placed,
    payment_methods_requested,
)
from marketplace.payments import cli, services, tasks, views
from marketplace.tasks import add_tasks
from marketplace.web.templating import TabEntry, add_tabs


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    for command in cli.commands:
        app.cli.add_command(command)
    add_tasks(app, tasks.reconcile_payments)
    # Settlement pages inside the producer's shop and the organizer's market tabs.
    add_tabs(app, "shop", TabEntry(50, "payments.producer_settlement", _l("My sales")))
    add_tabs(app, "market", TabEntry(30, "payments.market_settlement", _l("Settlement"), args=("market_id",)))
    # Payments follow the order through its signals, because orders may not import payments.
    # The pickup point stands above payments and calls capture and refund itself.
    order_placed.connect(services.open_payment_of_card_order, weak=False)
    order_cancelled.connect(services.release_authorisation, weak=False)
    order_no_show.connect(services.release_authorisation, weak=False)
    payment_methods_requested.connect(services.offer_card, weak=False)
