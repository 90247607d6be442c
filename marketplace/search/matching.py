"""SQL for "the search column holds one of these terms", the same meaning on both databases.

A column (core.search_terms) is space-separated terms, a space at each end, the name's terms
before NAME_END and the description's before DESCRIPTION_END. A word of a search matches a
product when the column holds one of its terms whole, or a term that begins with one of its
prefixes. Where it is held matters to the ranking: in the name, in the name or description,
anywhere.

- SQLite: an FTS5 table of the column's three parts, tokenised at spaces with `~` and `_`
  kept in tokens (group terms), with prefix indexes (migration 0013; triggers keep it in
  step with product.search_text). A search is one MATCH per part asked for: every word an
  OR of its terms (`"мед" OR "~honey" OR "эспарц"*`), the words joined by AND.
- PostgreSQL: the column's terms as an array (`string_to_array`), its overlap with a word's
  terms answered by a GIN index on that expression (migration 0013); a prefix by LIKE on the
  trigram GIN index of the column (0002). The name's and the description's parts are cut
  out of the column for the ranking of the rows found.
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Text, and_, cast, column, false, func, literal_column, or_, select, table
from sqlalchemy.dialects.postgresql import ARRAY, array

from marketplace.core.dialects import SQLITE_TERMS_TABLE
from marketplace.core.extensions import db
from marketplace.core.search_terms import DESCRIPTION_END, NAME_END

_sqlite_terms = table(SQLITE_TERMS_TABLE, column("rowid"), column(SQLITE_TERMS_TABLE))


@dataclass(frozen=True)
class Alternatives:
    """What one word of a search may match: whole terms, or terms beginning with a prefix."""

    terms: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms or self.prefixes)


class Part(enum.Enum):
    """Where in the column a word is looked for."""

    ANYWHERE = "anywhere"
    NAME = "name"
    NAME_OR_DESCRIPTION = "name or description"


#: The FTS5 columns of each part (SQLite).
_SQLITE_COLUMNS = {Part.ANYWHERE: "", Part.NAME: "{name}: ", Part.NAME_OR_DESCRIPTION: "{name description}: "}
#: The term that ends each part (PostgreSQL: the column is cut before it).
_END = {Part.NAME: NAME_END, Part.NAME_OR_DESCRIPTION: DESCRIPTION_END}


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _quoted(term: str) -> str:
    # An FTS5 string; terms are letters, digits, ~ and _ (core.search_terms), never a quote.
    return '"' + term.replace('"', '""') + '"'


def _sqlite_match(words: Sequence[Alternatives], part: Part) -> str:
    alternatives = (" OR ".join([*(_quoted(t) for t in word.terms), *(_quoted(p) + "*" for p in word.prefixes)])
                    for word in words)
    return _SQLITE_COLUMNS[part] + "(" + ") AND (".join(alternatives) + ")"


def _terms_array(text):
    # Written as the expression index is (migration 0013), with the separator as a literal.
    return func.string_to_array(text, literal_column("' '"))


def _postgresql_part(text_column, part: Part):
    if part is Part.ANYWHERE:
        return text_column
    return func.split_part(text_column, literal_column(f"' {_END[part]} '"), 1)


def _like_start(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"% {escaped}%"


def _postgresql_word(text, word: Alternatives):
    conditions = []
    if word.terms:
        conditions.append(_terms_array(text).op("&&")(cast(array(word.terms), ARRAY(Text))))
    conditions.extend(text.like(_like_start(prefix), escape="\\") for prefix in word.prefixes)
    return or_(*conditions)


def holds(id_column, text_column, words: Sequence[Alternatives], part: Part = Part.ANYWHERE):
    """Condition: the product's column holds, in `part`, a match for every word."""
    words = [word for word in words if word]
    if not words:
        return false()
    if _dialect() == "sqlite":
        return id_column.in_(select(_sqlite_terms.c.rowid)
                             .where(_sqlite_terms.c[SQLITE_TERMS_TABLE].op("MATCH")(_sqlite_match(words, part))))
    text = _postgresql_part(text_column, part)
    return and_(*(_postgresql_word(text, word) for word in words))
