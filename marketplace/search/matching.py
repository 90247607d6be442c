"""SQL for "the search column holds one of these terms", the same meaning on both databases.

A column (core.search_terms) is space-separated terms, a space at each end, the name's terms
before NAME_END and the description's before DESCRIPTION_END. A word of a search matches a
product when the column holds one of its terms, whole (a word still being typed has become
the words it begins in search.queries). Where it is held matters to the ranking: in the
name, in the name or description, anywhere.

- SQLite: an FTS5 table of the column's three parts, tokenised at spaces with `~` and `_`
  kept in tokens (group terms) (migration 0013; triggers keep it in step with
  product.search_text). A search is one MATCH per part asked for: every word an OR of its
  terms (`"мед" OR "med" OR "~honey"`), the words joined by AND.
- PostgreSQL: the column's terms as an array (`aimak_search_terms`, string_to_array in a
  function the planner is told is costly), its overlap with a word's terms answered by a
  GIN index on that expression (migrations 0013, 0014). The rows found are
  ranked by where " term " stands in the column (strpos before NAME_END or DESCRIPTION_END):
  no array is built per row for that.
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Text, and_, cast, column, false, func, or_, select, table
from sqlalchemy.dialects.postgresql import ARRAY, array

from marketplace.core.dialects import POSTGRESQL_TERMS_FUNCTION, SQLITE_TERMS_TABLE
from marketplace.core.extensions import db
from marketplace.core.search_terms import DESCRIPTION_END, NAME_END

_sqlite_terms = table(SQLITE_TERMS_TABLE, column("rowid"), column(SQLITE_TERMS_TABLE))


@dataclass(frozen=True)
class Alternatives:
    """What one word of a search may match: any of these terms, whole."""

    terms: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms)


class Part(enum.Enum):
    """Where in the column a word is looked for."""

    ANYWHERE = "anywhere"
    NAME = "name"
    NAME_OR_DESCRIPTION = "name or description"


#: The FTS5 columns of each part (SQLite).
_SQLITE_COLUMNS = {Part.ANYWHERE: "", Part.NAME: "{name}: ", Part.NAME_OR_DESCRIPTION: "{name description}: "}
#: The term that ends each part (PostgreSQL: a term of the part stands before it).
_END = {Part.NAME: NAME_END, Part.NAME_OR_DESCRIPTION: DESCRIPTION_END}


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _quoted(term: str) -> str:
    # An FTS5 string; terms are letters, digits, ~ and _ (core.search_terms), never a quote.
    return '"' + term.replace('"', '""') + '"'


def _sqlite_match(words: Sequence[Alternatives], part: Part) -> str:
    alternatives = (" OR ".join(_quoted(term) for term in word.terms) for word in words)
    return _SQLITE_COLUMNS[part] + "(" + ") AND (".join(alternatives) + ")"


def _terms_array(text):
    # As the expression index is written (migration 0014): the column split at spaces, by a
    # function the planner is told is costly, so it reads the index instead of every column.
    return getattr(func, POSTGRESQL_TERMS_FUNCTION)(text)


def _postgresql_word(text, word: Alternatives):
    return _terms_array(text).op("&&")(cast(array(word.terms), ARRAY(Text)))


def holds(products, words: Sequence[Alternatives]):
    """Condition on the table `products` (its `id` and `search_text`), answered from the
    index: the product's column holds a match for every word."""
    words = [word for word in words if word]
    if not words:
        return false()
    if _dialect() == "sqlite":
        return _sqlite_holds(products, words, Part.ANYWHERE)
    return and_(*(_postgresql_word(products.c.search_text, word) for word in words))


def found(products, word: Alternatives, part: Part = Part.ANYWHERE):
    """Condition for ranking the rows a search found: the column holds one of the word's
    terms in `part` (SQLite: a set made once per statement from the index; PostgreSQL: where
    the term stands in the row's column)."""
    if not word:
        return false()
    if _dialect() == "sqlite":
        return _sqlite_holds(products, [word], part)
    positions = [func.strpos(products.c.search_text, f" {term} ") for term in word.terms]
    if part is Part.ANYWHERE:
        return or_(*(position > 0 for position in positions))
    end = func.strpos(products.c.search_text, f" {_END[part]} ")
    return or_(*(position.between(1, end) for position in positions))


def _sqlite_holds(products, words: Sequence[Alternatives], part: Part):
    return products.c.id.in_(select(_sqlite_terms.c.rowid)
                             .where(_sqlite_terms.c[SQLITE_TERMS_TABLE].op("MATCH")(_sqlite_match(words, part))))
