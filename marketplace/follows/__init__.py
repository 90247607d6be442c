"""Follows: the markets and producers a customer follows, and their favourite products.

A small package of its own, above producers and below orders, so that whatever tells
followers something (issue #24: "ordering is open", "order by", "new this week") can ask
`queries.followers_of_market` / `followers_of_producer` from any layer above.
"""
from __future__ import annotations

from flask import Flask

from marketplace.follows import queries, views
from marketplace.web.templating import add_template_globals


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    # The account page (accounts, below) lists what the customer follows.
    add_template_globals(app, followed_by=queries.followed_by)
