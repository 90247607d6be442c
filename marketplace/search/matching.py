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
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Text, and_, cast, column, false, func, literal, or_, select, table
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


def held_each(products, shared: Sequence[Alternatives], each: Sequence[Alternatives], *conditions):
    """SELECT of the indexes n (from 0) of the words in `each` such that a row of `products`
    meeting `conditions` holds every `shared` word and each[n]: whether each of several
    searches finds something. One small statement whatever the number of searches: the
    searches are one parameter (SQLite: a JSON array of MATCH texts read by json_each;
    PostgreSQL: an array of space-separated terms, unnested), and each is an EXISTS that reads
    the index first and stops at its first row (SQLite: the terms table joined to the
    products by rowid; an IN over the index would list every row holding the words)."""
    shared = [word for word in shared if word]
    if _dialect() == "sqlite":
        texts = [_sqlite_match([*shared, word], Part.ANYWHERE) if word else "" for word in each]
        asked = func.json_each(json.dumps(texts, ensure_ascii=False)).table_valued("key", "value").alias("asked")
        index = _sqlite_terms.join(products, products.c.id == _sqlite_terms.c.rowid)
        held = (select(products.c.id).select_from(index)
                .where(_sqlite_terms.c[SQLITE_TERMS_TABLE].op("MATCH")(asked.c.value), *conditions))
        return select(asked.c.key).where(asked.c.value != "", held.exists())
    asked = (func.unnest(literal([" ".join(word.terms) for word in each], ARRAY(Text)))
             .table_valued("terms", with_ordinality="n").render_derived(name="asked"))
    own = _terms_array(products.c.search_text).op("&&")(func.string_to_array(asked.c.terms, " "))
    held = select(products.c.id).where(*(_postgresql_word(products.c.search_text, word) for word in shared),
                                       own, *conditions)
    return select(asked.c.n - 1).where(asked.c.terms != "", held.exists())


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
