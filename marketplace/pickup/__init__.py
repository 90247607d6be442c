"""The pickup point on market day: find an order, hand it over, no-shows, labels; above orders and payments."""
from __future__ import annotations

from flask import Flask

from marketplace.pickup import cli, views


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    for command in cli.commands:
        app.cli.add_command(command)
