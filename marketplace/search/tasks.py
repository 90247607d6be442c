"""Indexing the products again when the vocabulary changes.

The admin's page queues `reindex-search` for the words it added or removed; the scheduler
checks every hour whether the vocabulary file or the admin's rows changed since the last
full reindex (a deploy with a new vocabulary.tsv, a task lost with the queue) and then
indexes every product.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, select

from marketplace.core.extensions import db
from marketplace.search import services
from marketplace.search.models import SearchWord
from marketplace.search.signals import reindex_requested
from marketplace.tasks import every, periodic, task

_DELETE_BATCH = 500


def reindex(words: list[str] | None = None, groups: list[str] | None = None) -> str:
    """Index again the products that hold these words (None: every product), committing
    batch by batch, and record the vocabulary they are indexed with."""
    replies = reindex_requested.send(current_app._get_current_object(), words=words, groups=groups or [],
                                     after_batch=db.session.commit)
    seen: set[str] = set().union(*(reply or set() for _, reply in replies))
    if words is None:
        stale = [word_id for word_id, word in db.session.execute(select(SearchWord.id, SearchWord.word))
                 if word not in seen]
        for start in range(0, len(stale), _DELETE_BATCH):
            db.session.execute(delete(SearchWord).where(SearchWord.id.in_(stale[start:start + _DELETE_BATCH])))
    services.mark_indexed(every_product=words is None)
    db.session.commit()
    return f"indexed {'every product' if words is None else 'the products of ' + ', '.join(words)}"


@task("reindex-search", retries=2, retry_delay=60)
def reindex_search(words: list[str] | None = None, groups: list[str] | None = None) -> str:
    return reindex(words, groups)


@periodic(every(hours=1))
def reindex_search_if_changed() -> str:
    if services.index_is_current():
        return "the index is current"
    return reindex()
