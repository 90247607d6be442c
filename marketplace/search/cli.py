"""Commands for search: `flask reindex-search`."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from marketplace.search import services, tasks


@click.command("reindex-search")
@click.option("--if-changed", is_flag=True,
              help="Only when the vocabulary changed since the last reindex (for a deploy script).")
@with_appcontext
def reindex_search_command(if_changed: bool) -> None:
    """Index every product again with the current vocabulary (file and admin's words)."""
    if if_changed and services.index_is_current():
        click.echo("The search index is current.")
        return
    click.echo(tasks.reindex())


commands = [reindex_search_command]
