"""Email: the outbox written in the same transaction as the change it reports, delivered after the commit."""
from __future__ import annotations

from flask import Flask

from marketplace.notifications import cli, services


def register(app: Flask) -> None:
    services.register_delivery(app)
    for command in cli.commands:
        app.cli.add_command(command)
