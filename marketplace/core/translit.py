"""One Latin "sound skeleton" per word, where Latin, Kazakh, Kyrgyz and Russian spellings meet.

People write кымыз, қымыз, kymyz and qymyz for one drink, сүт, sut and süt for milk. The
key drops what tells those spellings apart and nothing else: q/k/қ/к become k, gh/ğ/ғ/г
become g, ng/ñ/ң/н become n, u/ü/ū/ү/ұ/у become u, o/ö/ө/о become o, ı/i/y/ы/і/и/й become
i, zh/j/ж become j, kh/h/х/һ become h, ya/ia/я become ia, a soft sign disappears and a
doubled letter counts once. It is lossy on purpose: it is a key to compare, never shown.
"""
import re
import unicodedata
from functools import lru_cache

from marketplace.core.text import normalize_text, words

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "j", "з": "z", "и": "i",
    "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh",
    "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "iu", "я": "ia",
    # Kazakh and Kyrgyz letters fall together with their nearest Russian sound.
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}
#: Latin letters of the Turkish-style and 2018-2021 Kazakh alphabets whose accent carries a
#: sound of its own; any other accent is simply dropped (é → e).
_LATIN = {
    "ş": "sh", "ç": "ch", "ğ": "g", "ñ": "n", "ı": "i", "š": "sh", "č": "ch", "ž": "j",
    "ý": "u", "ú": "u", "ǵ": "g", "ń": "n", "ä": "a", "ö": "o", "ü": "u", "ū": "u",
}
_APOSTROPHES = "'’ʼ`"

#: Applied in this order to the Latin spelling; each makes one pair of spellings meet.
_SPELLINGS = [
    (re.compile(r"shch"), "sh"),
    (re.compile(r"zh"), "j"),
    (re.compile(r"kh"), "h"),
    (re.compile(r"gh"), "g"),
    (re.compile(r"ng"), "n"),
    (re.compile(r"ph"), "f"),
    (re.compile(r"ck"), "k"),
    (re.compile(r"c(?!h)"), "k"),
    (re.compile(r"x"), "ks"),
    # "yo" after a consonant is a Russian ё (myod = мёд, and ё is already е); at the start
    # of a word it is й + о (yogurt = йогурт), which the generic y → i below handles.
    (re.compile(r"(?<=[bcdfgjklmnpqrstvwxz])yo"), "e"),
    (re.compile(r"ye"), "e"),
    (re.compile(r"ou"), "u"),
    (re.compile(r"q"), "k"),
    (re.compile(r"w"), "u"),
    (re.compile(r"y"), "i"),
    (re.compile(r"[^a-z]"), ""),
    (re.compile(r"(.)\1+"), r"\1"),
]


def _letter_table() -> dict[int, str]:
    table = {ord(letter): latin for letter, latin in {**_CYRILLIC, **_LATIN}.items()}
    table.update({ord(mark): "" for mark in _APOSTROPHES})
    return table


_LETTERS = _letter_table()


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def sound_key(word: str) -> str:
    """The Latin skeleton of one word ("" when fewer than two letters are left)."""
    latin = _without_accents(normalize_text(word).translate(_LETTERS))
    for pattern, replacement in _SPELLINGS:
        latin = pattern.sub(replacement, latin)
    return latin if len(latin) >= 2 else ""


def sound_keys(text: str | None) -> str:
    """The sound keys of a text's words, each once, space-separated with a space at each end
    (" gulmira asanova "): what a stored name is compared by, whatever alphabet or keyboard
    it was typed with (the admin's user search)."""
    keys = dict.fromkeys(key for key in (sound_key(word) for word in words(text)) if key)
    return f" {' '.join(keys)} " if keys else ""
