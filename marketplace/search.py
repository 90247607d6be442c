"""Text normalisation for search that behaves the same on SQLite and PostgreSQL."""
import re
import unicodedata

_SPACES = re.compile(r"\s+")

#: Trigram indexes made by the migrations, one per database, so not in the models; each
#: lets `search_text LIKE '%word%'` use an index. PostgreSQL: a GIN index (pg_trgm).
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_product_search_text_trgm"})
#: SQLite: an FTS5 table with the trigram tokenizer (and the shadow tables FTS5 makes).
SQLITE_SEARCH_TABLE = "product_search"
#: Words the FTS5 index can answer: three characters at least (a trigram), and none of
#: LIKE's own characters, which it cannot escape.
_INDEXABLE_WORD = re.compile(r"^[^%_\\]{3,}$")


def include_in_schema_comparison(name, type_, _parent_names) -> bool:
    """Alembic's `include_name`: leave out what only one database has on purpose."""
    if type_ == "index":
        return name not in POSTGRESQL_ONLY_INDEXES
    if type_ == "table":
        return not (name or "").startswith(SQLITE_SEARCH_TABLE)
    return True


def sqlite_index_can_answer(word: str) -> bool:
    return bool(_INDEXABLE_WORD.match(word))


def normalize_text(text: str | None) -> str:
    """Case-folded, 'ё'→'е', accents of Latin letters kept apart, spaces collapsed.

    Python folds Cyrillic (including Kazakh and Kyrgyz letters ә ғ қ ң ө ұ ү һ і)
    where SQLite's lower() does not, so both the stored column and the query go
    through this function.
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFC", text).casefold().replace("ё", "е")
    return _SPACES.sub(" ", folded).strip()


def like_pattern(text: str) -> str:
    """A LIKE pattern that searches `%` and `_` literally (use with escape='\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
