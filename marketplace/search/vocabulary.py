"""The vocabulary search uses: the versioned file merged with the admin's rows.

Each process keeps the merged vocabulary and checks, at most every CHECK_SECONDS, whether
the admin's rows changed (one small query); a change made in this process is seen at once.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.core.search_terms import INDEX_FORMAT
from marketplace.core.vocabulary import VOCABULARY_PATH, Vocabulary, default_vocabulary
from marketplace.search.models import VocabularyEntry

#: How old the admin's rows seen by a process may be (other processes see a change this late).
CHECK_SECONDS = 30.0


@dataclass
class _Cached:
    version: tuple | None = None
    vocabulary: Vocabulary | None = None
    checked_at: float = 0.0


_cached = _Cached()
_lock = threading.Lock()


def _version() -> tuple:
    # Rows are only added and deleted, never edited: their count and newest id tell a change.
    return tuple(db.session.execute(select(func.count(VocabularyEntry.id), func.max(VocabularyEntry.id))).one())


def entry_rows() -> list[dict[str, str]]:
    """The admin's rows as the vocabulary reads them ({group, category, <language>: word})."""
    return [{"group": entry.group_id, "category": entry.category, entry.language: entry.written}
            for entry in db.session.scalars(select(VocabularyEntry).order_by(VocabularyEntry.id))]


def current_vocabulary() -> Vocabulary:
    """The file's groups with the admin's words added (at most CHECK_SECONDS old)."""
    now = time.monotonic()
    if _cached.vocabulary is not None and now - _cached.checked_at < CHECK_SECONDS:
        return _cached.vocabulary
    version = _version()
    with _lock:
        if _cached.vocabulary is None or version != _cached.version:
            rows = entry_rows()
            _cached.vocabulary = default_vocabulary().extended(rows) if rows else default_vocabulary()
            _cached.version = version
        _cached.checked_at = now
        return _cached.vocabulary


def forget() -> None:
    """Read the admin's rows again on next use (called when this process changed them)."""
    with _lock:
        _cached.vocabulary, _cached.version, _cached.checked_at = None, None, 0.0


def file_fingerprint() -> str:
    """What every product's search column depends on: the form of the column
    (core.search_terms.INDEX_FORMAT) and the vocabulary file's bytes."""
    digest = hashlib.sha256(f"format {INDEX_FORMAT}\n".encode())
    digest.update(VOCABULARY_PATH.read_bytes())
    return digest.hexdigest()


def rows_fingerprint() -> str:
    """What the products' search columns depend on, two: the admin's rows."""
    digest = hashlib.sha256()
    for row in entry_rows():
        digest.update(repr(sorted(row.items())).encode())
    return digest.hexdigest()


def warm() -> None:
    """Read the file now, so the first search of a new process does not wait for it."""
    default_vocabulary()
