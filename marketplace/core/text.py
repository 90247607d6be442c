"""Search normalisation: one definition for what is stored and what is asked."""
import re
import unicodedata

_SPACES = re.compile(r"\s+")
#: A word is a run of letters and digits; an apostrophe inside it is kept for now (kartofel',
#: o'rik, john's) and dropped below, so a typed soft sign does not split a word in two.
_WORD = re.compile(r"[^\W_]+(?:['’ʼ`][^\W_]+)*")
_APOSTROPHES = re.compile(r"['’ʼ`]")


def normalize_text(text: str | None) -> str:
    """Case-folded, 'ё'→'е', accents of Latin letters kept apart, spaces collapsed.

    Python folds Cyrillic (including Kazakh and Kyrgyz letters ә ғ қ ң ө ұ ү һ і)
    where SQLite's lower() does not, so both the stored column and the query go
    through this function. (The same as `marketplace.search.normalize_text`, which
    this module is to replace.)
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFC", text).casefold().replace("ё", "е")
    return _SPACES.sub(" ", folded).strip()


def words(text: str | None) -> list[str]:
    """The normalised words of a text, split at spaces, hyphens and punctuation.

    Numbers on their own ("0,5", "1×1,5") are left out: they are not what people search by.
    """
    found = (_APOSTROPHES.sub("", match) for match in _WORD.findall(normalize_text(text)))
    return [word for word in found if not word.isdigit()]
