"""Search: the product vocabulary with the admin's words, the word list behind suggestions
and typo corrections, what a query's words may match, and reindexing when the vocabulary
changes. The products' search columns are producers' (they listen to `reindex_requested`);
the product list that uses all this is the catalog's."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from marketplace.search import cli, tasks, views, vocabulary
from marketplace.tasks import add_tasks
from marketplace.web.templating import NavEntry, add_nav_entries


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    for command in cli.commands:
        app.cli.add_command(command)
    add_tasks(app, tasks.reindex_search, tasks.reindex_search_if_changed)
    add_nav_entries(app, NavEntry(75, "admin", "search.vocabulary", _l("Search vocabulary")))
    # The file takes a moment to read; read it now rather than in the first search.
    vocabulary.warm()
