"""Text normalisation for search that behaves the same on SQLite and PostgreSQL."""
import re
import unicodedata

_SPACES = re.compile(r"\s+")

#: Indexes made by the migrations on PostgreSQL only, so not in the models: a trigram GIN
#: index lets `search_text LIKE '%word%'` use an index there (SQLite has no such index).
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_product_search_text_trgm"})


def include_in_schema_comparison(name, type_, _parent_names) -> bool:
    """Alembic's `include_name`: leave out what only one database has on purpose."""
    return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES)


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
