"""Base forms of search words: Snowball stems for Russian and English, suffix stripping for
Kazakh and Kyrgyz, so "картофеля", "яблоки", "potatoes", "алмалар" and "балды" meet their
dictionary forms.

Every function takes one word already normalised by `core.text` (lower case, ё → е);
`analyse` gathers a word's forms, with its Latin sound key, in one cached `Token`.
"""
import enum
import threading
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

from marketplace.core.translit import sound_key

_KAZAKH_ONLY = frozenset("әғқұһі")
_KAZAKH_OR_KYRGYZ = frozenset("ңөү")
_CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя") | _KAZAKH_ONLY | _KAZAKH_OR_KYRGYZ

#: Stems never get shorter than this: a two-letter stem matches too many other words.
MIN_STEM_LENGTH = 3


class Script(enum.Enum):
    """What the letters of a word say about its language."""

    KAZAKH = "kk"  #: has ә ғ қ ұ һ or і, which only Kazakh writes
    KAZAKH_OR_KYRGYZ = "kk/ky"  #: has ң ө or ү, shared by both
    CYRILLIC = "cyrillic"  #: Russian, or Kazakh/Kyrgyz without its own letters (алма, бал)
    LATIN = "latin"  #: English, or any of the others typed in Latin letters
    OTHER = "other"  #: digits only, or a script we do not stem


def script_of(word: str) -> Script:
    letters = set(word)
    if letters & _KAZAKH_ONLY:
        return Script.KAZAKH
    if letters & _KAZAKH_OR_KYRGYZ:
        return Script.KAZAKH_OR_KYRGYZ
    if letters & _CYRILLIC:
        return Script.CYRILLIC
    if any("a" <= ch <= "z" or ("\u00c0" <= ch <= "\u024f") for ch in word):
        return Script.LATIN
    return Script.OTHER


# A Snowball stemmer keeps state while it works, so each thread gets its own.
_stemmers = threading.local()


def _stemmer(language: str) -> Stemmer.Stemmer:
    stemmer = getattr(_stemmers, language, None)
    if stemmer is None:
        stemmer = Stemmer.Stemmer(language)
        setattr(_stemmers, language, stemmer)
    return stemmer


def russian_stem(word: str) -> str:
    return _stemmer("russian").stemWord(word)


def english_stem(word: str) -> str:
    return _stemmer("english").stemWord(word)


# Kazakh and Kyrgyz: a noun is stem + plural + possessive + case, each suffix's first
# consonant chosen by the sound before it and its vowel by the stem's vowels (harmony).
# Stripping from the end, one layer at a time, accepts a suffix only where the language
# itself would have put it: "доллар" is not "дол" + plural, because after л the plural
# is -дар, never -лар.

_VOWELS = frozenset("аәеёиоөуұүыіэюя")
_BACK_VOWELS = frozenset("аоуұыёюя")
_ROUNDED_BACK = frozenset("оуұ")
_ROUNDED_FRONT = frozenset("өү")
_VOICELESS = frozenset("кқпстфхһцчшщ")
_VOICED = frozenset("бвгғджзйлмнңру")
#: After a vowel, or these, the plural begins with л (алмалар, таулар, помидорлар).
_AFTER_L = _VOWELS | frozenset("рйу")
#: Kazakh writes т after б в г д as after a voiceless consonant (кітаптар).
_AFTER_T = _VOICELESS | frozenset("бвгд")
_NASALS = frozenset("мнң")
_POSSESSIVE_VOWELS = frozenset("ыіиуү")


class _After(enum.Enum):
    """Which sound may stand before a suffix."""

    VOWEL = "vowel"
    CONSONANT = "consonant"
    L_CONTEXT = "vowel, р, й, у"
    VOICED_CONSONANT = "voiced consonant"
    VOWEL_OR_VOICED = "vowel or voiced consonant"
    VOWEL_OR_NASAL = "vowel or м, н, ң"
    T_CONTEXT = "voiceless consonant, or б в г д"
    POSSESSIVE = "a possessive ending (pronominal н)"
    ANY = "anything"


def _allowed(before: str, context: _After) -> bool:
    is_vowel = before in _VOWELS
    if context is _After.VOWEL:
        return is_vowel
    if context is _After.CONSONANT:
        return not is_vowel
    if context is _After.L_CONTEXT:
        return before in _AFTER_L
    if context is _After.VOICED_CONSONANT:
        return before in _VOICED
    if context is _After.VOWEL_OR_VOICED:
        return is_vowel or before in _VOICED
    if context is _After.VOWEL_OR_NASAL:
        return is_vowel or before in _NASALS
    if context is _After.T_CONTEXT:
        return before in _AFTER_T
    if context is _After.POSSESSIVE:
        return before in _POSSESSIVE_VOWELS
    return True


def _variants(frames: str, vowels: str) -> list[str]:
    """'л{}р' with 'аеоө' → ['лар', 'лер', 'лор', 'лөр']; a suffix without a vowel stays as is."""
    return [frames.format(vowel) for vowel in vowels] if vowels else [frames]


_LOW = "аеоө"  # а/е in Kazakh; Kyrgyz adds о/ө after rounded vowels
_HIGH = "ыіиуү"  # ы/і in Kazakh; ы/и/у/ү in Kyrgyz


def _suffixes(spec: list[tuple[str, str, _After]]) -> list[tuple[str, _After]]:
    table = [(suffix, context) for frames, vowels, context in spec for suffix in _variants(frames, vowels)]
    # Longest first: of two readings of one word, the shorter stem comes out first.
    return sorted(table, key=lambda entry: -len(entry[0]))


_CASE = _suffixes([
    # genitive
    ("н{}ң", _HIGH, _After.VOWEL_OR_NASAL), ("д{}ң", _HIGH, _After.VOICED_CONSONANT),
    ("т{}ң", _HIGH, _After.T_CONTEXT),
    ("н{}н", _HIGH, _After.VOWEL), ("д{}н", _HIGH, _After.VOICED_CONSONANT), ("т{}н", _HIGH, _After.T_CONTEXT),
    # accusative
    ("н{}", _HIGH, _After.VOWEL), ("д{}", _HIGH, _After.VOICED_CONSONANT), ("т{}", _HIGH, _After.T_CONTEXT),
    ("н", "", _After.POSSESSIVE),
    # dative
    ("ғ{}", _LOW, _After.VOWEL_OR_VOICED), ("г{}", _LOW, _After.VOWEL_OR_VOICED),
    ("қ{}", _LOW, _After.T_CONTEXT), ("к{}", _LOW, _After.T_CONTEXT), ("н{}", _LOW, _After.POSSESSIVE),
    # locative
    ("д{}", _LOW, _After.VOWEL_OR_VOICED), ("т{}", _LOW, _After.T_CONTEXT), ("нд{}", _LOW, _After.POSSESSIVE),
    # ablative
    ("д{}н", _LOW, _After.VOWEL_OR_VOICED), ("т{}н", _LOW, _After.T_CONTEXT),
    ("н{}н", _LOW, _After.VOWEL_OR_NASAL),
    # instrumental (Kyrgyz -менен does not follow the vowel harmony, so it is listed as is)
    ("мен", "", _After.L_CONTEXT), ("бен", "", _After.VOICED_CONSONANT), ("пен", "", _After.T_CONTEXT),
    ("менен", "", _After.ANY), ("бенен", "", _After.VOICED_CONSONANT), ("пенен", "", _After.T_CONTEXT),
])
_POSSESSIVE = _suffixes([
    ("с{}", _HIGH, _After.VOWEL), ("{}", _HIGH, _After.CONSONANT),
])
_PLURAL = _suffixes([
    ("л{}р", _LOW, _After.L_CONTEXT), ("д{}р", _LOW, _After.VOICED_CONSONANT), ("т{}р", _LOW, _After.T_CONTEXT),
])
_HARMONY_FREE = frozenset({"мен", "бен", "пен", "менен", "бенен", "пенен", "н"})
_DEVOICED = {"ғ": "қ", "г": "к", "б": "п"}


def _last_vowel(stem: str) -> str | None:
    return next((ch for ch in reversed(stem) if ch in _VOWELS), None)


def _in_harmony(stem: str, suffix: str) -> bool:
    """The suffix's vowel agrees with the stem's last vowel: front/back, and Kyrgyz rounding."""
    if suffix in _HARMONY_FREE:
        return True
    suffix_vowel = _last_vowel(suffix)
    stem_vowel = _last_vowel(stem)
    if suffix_vowel is None or stem_vowel is None:
        return suffix_vowel is None
    if suffix_vowel in "оу":
        return stem_vowel in _ROUNDED_BACK
    if suffix_vowel in _ROUNDED_FRONT:
        return stem_vowel in _ROUNDED_FRONT
    return (suffix_vowel in _BACK_VOWELS) == (stem_vowel in _BACK_VOWELS)


def _ends_in_double_consonant(stem: str) -> bool:
    """сүтт, етт: a stem cut in the middle of a suffix's consonant (сүт + ті, not сүтт + і)."""
    return stem[-1] == stem[-2] and stem[-1] not in _VOWELS


def _fits(stem: str, suffix: str, context: _After) -> bool:
    """The language would write this suffix after this stem, and the stem is a likely word."""
    return (len(stem) >= MIN_STEM_LENGTH and any(ch in _VOWELS for ch in stem)
            and _allowed(stem[-1], context) and _in_harmony(stem, suffix) and not _ends_in_double_consonant(stem))


def _strips(word: str, table: list[tuple[str, _After]]) -> list[str]:
    """Every stem the table's suffixes leave where the language would have put them.

    More than one may: "абрикосы" is абрикос + -ы, and to the rules also абрико + -сы.
    """
    found = []
    for suffix, context in table:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and _fits(stem, suffix, context):
            found.append(stem)
            # Before a vowel a final к/қ/п is voiced (жаңғақ → жаңғағы); the dictionary form is unvoiced.
            if suffix[0] in _VOWELS and stem[-1] in _DEVOICED:
                found.append(stem[:-1] + _DEVOICED[stem[-1]])
    return found


@lru_cache(maxsize=65536)
def turkic_stems(word: str) -> tuple[str, ...]:
    """Kazakh/Kyrgyz stems of a noun: case, then possessive, then plural removed, where each
    is there; every stem at least MIN_STEM_LENGTH letters; () when no suffix comes off."""
    forms = [word]
    for table in (_CASE, _POSSESSIVE, _PLURAL):
        forms.extend(stem for form in list(forms) for stem in _strips(form, table))
    return tuple(dict.fromkeys(form for form in forms if form != word))


@dataclass(frozen=True)
class Token:
    """One normalised word and the forms it is matched by."""

    word: str
    #: Snowball's stem (Russian for Cyrillic, English for Latin), or "" where none applies
    snowball: str
    #: Kazakh/Kyrgyz stems (see turkic_stems)
    turkic: tuple[str, ...]
    #: the Latin sound key (core.translit), "" for a word too short to have one
    key: str

    @property
    def stems(self) -> tuple[str, ...]:
        """Every base form other than the word itself, shortest last."""
        found = (self.snowball, *self.turkic)
        return tuple(dict.fromkeys(stem for stem in found if stem and stem != self.word))


_TURKIC_SCRIPTS = frozenset({Script.CYRILLIC, Script.KAZAKH, Script.KAZAKH_OR_KYRGYZ})


@lru_cache(maxsize=65536)
def analyse(word: str) -> Token:
    """The forms of one normalised word, by its script.

    A plain Cyrillic word may be Russian or Kazakh/Kyrgyz (алмалар has no letter of its own),
    so it gets both; the Kazakh/Kyrgyz suffix rules leave Russian words mostly whole.
    """
    script = script_of(word)
    snowball = ""
    if script is Script.LATIN:
        snowball = english_stem(word)
    elif script is Script.CYRILLIC:
        snowball = russian_stem(word)
    turkic = turkic_stems(word) if script in _TURKIC_SCRIPTS else ()
    # Snowball may leave one letter of a very short word, which would match almost anything.
    if len(snowball) < MIN_STEM_LENGTH - 1:
        snowball = ""
    return Token(word=word, snowball=snowball, turkic=turkic, key=sound_key(word))


# The same layers on the Latin sound key (see core.translit), for Kazakh and Kyrgyz typed
# in Latin letters (almalar, baldy). These are only guesses to look up in the vocabulary,
# never stored: without the letters' voicing and harmony, they would strip too much.
_KEY_CASE = ("nin", "din", "tin", "nun", "dun", "tun", "dan", "den", "don", "tan", "ten", "ton", "nan", "nen",
             "non", "men", "ben", "pen", "ni", "di", "ti", "nu", "du", "tu", "ga", "ge", "go", "ka", "ke", "ko",
             "da", "de", "do", "ta", "te", "to")
_KEY_POSSESSIVE = ("si", "su", "i", "u")
_KEY_PLURAL = ("lar", "ler", "lor", "dar", "der", "dor", "tar", "ter", "tor")


def key_stem_guesses(key: str) -> tuple[str, ...]:
    """Shorter sound keys a Latin-typed Kazakh/Kyrgyz noun might come from."""
    guesses: list[str] = []
    current = {key}
    for layer in (_KEY_CASE, _KEY_POSSESSIVE, _KEY_PLURAL):
        stripped = {form[: -len(suffix)] for form in current for suffix in layer
                    if form.endswith(suffix) and len(form) - len(suffix) >= MIN_STEM_LENGTH}
        guesses.extend(sorted(stripped - set(guesses)))
        current |= stripped
    return tuple(guesses)
