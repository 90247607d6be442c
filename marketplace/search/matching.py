"""SQL for "the search column holds this term", the same meaning on both databases.

A column (core.search_terms) is space-separated terms with a space at each end, so a term
is held when " term " occurs in it, and a word is begun when " word" does. PostgreSQL
answers the LIKE from its trigram GIN index on the column (migration 0002); SQLite answers
an FTS5 phrase query from its trigram table over the column (migration 0003), one query for
all the words of a search.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, column, func, literal, or_, select, table

from marketplace.core.dialects import SQLITE_SEARCH_TABLE
from marketplace.core.extensions import db
from marketplace.core.search_terms import NAME_END

_sqlite_search = table(SQLITE_SEARCH_TABLE, column("rowid"), column(SQLITE_SEARCH_TABLE))


def whole(term: str) -> str:
    return f" {term} "


def start(prefix: str) -> str:
    return f" {prefix}"


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _phrase(text: str) -> str:
    # FTS5: a string in double quotes is a phrase; the trigram tokenizer makes it a substring.
    return '"' + text.replace('"', '""') + '"'


def holds(id_column, text_column, words: Sequence[Iterable[str]]):
    """Condition: for every word, the column holds at least one of its needles (whole() or
    start() strings); an empty list of words holds nothing back."""
    words = [list(dict.fromkeys(needles)) for needles in words]
    words = [needles for needles in words if needles]
    if not words:
        return literal(True)
    if _dialect() == "sqlite":
        match = " AND ".join("(" + " OR ".join(_phrase(n) for n in needles) + ")" for needles in words)
        return id_column.in_(select(_sqlite_search.c.rowid)
                             .where(_sqlite_search.c[SQLITE_SEARCH_TABLE].op("MATCH")(match)))
    return and_(*(or_(*(text_column.like(_like(n), escape="\\") for n in needles)) for needles in words))


def position(haystack, needle: str):
    """1-based position of a literal substring, 0 when absent (instr / strpos)."""
    if _dialect() == "postgresql":
        return func.strpos(haystack, needle)
    return func.instr(haystack, needle)


def found_anywhere(text_column, needles: Iterable[str]):
    """Condition: the column holds one of the needles (for ranking the rows already found)."""
    return or_(*(position(text_column, needle) > 0 for needle in needles))


def found_in_name(text_column, needles: Iterable[str]):
    """Condition: one of the needles is among the name's terms (before NAME_END)."""
    name_end = position(text_column, whole(NAME_END))
    return or_(*(position(text_column, needle).between(1, name_end - 1) for needle in needles))
