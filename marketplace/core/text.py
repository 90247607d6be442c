"""Text: URL slugs that keep Cyrillic names readable, and the normalisation search uses on both databases."""
import re
import unicodedata

from sqlalchemy import String, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from marketplace.core.extensions import db

_SPACES = re.compile(r"\s+")
#: A word is a run of letters and digits; an apostrophe inside it is kept for now (kartofel',
#: o'rik, john's) and dropped below, so a typed soft sign does not split a word in two.
_WORD = re.compile(r"[^\W_]+(?:['’ʼ`][^\W_]+)*")
_APOSTROPHES = re.compile(r"['’ʼ`]")

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    "ә": "a", "ғ": "g", "қ": "q", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}


def transliterate(text: str) -> str:
    """Cyrillic letters (Russian, Kazakh, Kyrgyz) in Latin ones, lower-cased; the rest as it is."""
    return "".join(_TRANSLIT.get(ch, ch) for ch in (text or "").lower())


def slugify(text: str) -> str:
    lowered = transliterate(text)
    slug = re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")
    return slug[:100] or "item"


def unique_slug(model, text: str, exclude_id: int | None = None) -> str:
    """slugify(text), with -2, -3 ... appended if another row already has it."""
    base = slugify(text)
    candidate, n = base, 1
    while True:
        query = select(model.id).where(model.slug == candidate)
        if exclude_id is not None:
            query = query.where(model.id != exclude_id)
        if db.session.scalar(query) is None:
            return candidate
        n += 1
        candidate = f"{base}-{n}"


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


def words(text: str | None) -> list[str]:
    """The normalised words of a text, split at spaces, hyphens and punctuation.

    Numbers on their own ("0,5", "1×1,5") are left out: they are not what people search by.
    A mark left apart after NFC (the stress in "ма́сло", pasted from a dictionary) is dropped,
    not taken for a break between two words.
    """
    folded = "".join(char for char in normalize_text(text) if not unicodedata.combining(char))
    found = (_APOSTROPHES.sub("", match) for match in _WORD.findall(folded))
    return [word for word in found if not word.isdigit()]


#: The name of normalize_text as a SQL function on SQLite (registered on every connection by
#: core.dialects), whose own lower() folds ASCII letters only.
SQLITE_FOLD_FUNCTION = "aimak_fold"


class folded(FunctionElement):  # noqa: N801 - used like a SQL function: folded(User.name)
    """normalize_text in SQL, for LIKE on columns stored as typed (a user's name): case-folded,
    ё → е. PostgreSQL's lower() folds Cyrillic and the Kazakh and Kyrgyz letters (UTF-8
    databases); SQLite calls normalize_text itself."""

    type = String()
    inherit_cache = True


@compiles(folded)
def _folded_sqlite(element, compiler, **kw):
    return f"{SQLITE_FOLD_FUNCTION}({compiler.process(element.clauses, **kw)})"


@compiles(folded, "postgresql")
def _folded_postgresql(element, compiler, **kw):
    return f"replace(lower({compiler.process(element.clauses, **kw)}), 'ё', 'е')"
