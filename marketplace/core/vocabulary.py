"""The product vocabulary: groups of words that mean the same food or craft in ru, kk, ky, en.

The groups live in `vocabulary.tsv` beside this module (its header says the format); rows
from elsewhere, such as a table an admin extends, are merged with `Vocabulary.extended`.
A word finds its group by its normalised form first, then by its stems, then by its Latin
sound key, so "картофеля", "potatoes", "картоп" and "kartofel" all reach the potato group.
A phrase of the vocabulary ("сары май", "sea buckthorn") is matched before its single words.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from marketplace.core.text import words
from marketplace.core.wordforms import Token, analyse, english_stem, key_stem_guesses, russian_stem, turkic_stems

VOCABULARY_PATH = Path(__file__).with_name("vocabulary.tsv")
LANGUAGES = ("ru", "kk", "ky", "en", "latin")
COLUMNS = ("group", "category", *LANGUAGES)
ALTERNATIVES_SEPARATOR = "|"
#: Longer runs of words are not looked for as phrases (the file's longest has four words).
MAX_PHRASE_WORDS = 4


class VocabularyError(ValueError):
    """A vocabulary row that cannot be read."""


@dataclass(frozen=True)
class Group:
    """Words that mean one food or craft; `words` holds (language, word as written) pairs."""

    id: str
    category: str
    words: tuple[tuple[str, str], ...]

    def phrases(self) -> list[tuple[str, ...]]:
        """Each word of the group as its normalised words ("Сары май" → ("сары", "май"))."""
        found = (tuple(words(word)) for _, word in self.words)
        return list(dict.fromkeys(phrase for phrase in found if phrase))


def parse_rows(lines: Iterable[str]) -> list[dict[str, str]]:
    """Rows of a vocabulary file as {column: text}: comments skipped, header checked."""
    rows, header = [], None
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            header = tuple(cell.strip() for cell in cells)
            if header != COLUMNS:
                raise VocabularyError(f"line {number}: the header must be {' '.join(COLUMNS)}")
            continue
        if len(cells) > len(COLUMNS):
            raise VocabularyError(f"line {number}: {len(cells)} columns, at most {len(COLUMNS)} expected")
        rows.append(dict(zip(COLUMNS, (cell.strip() for cell in cells), strict=False)))  # short rows: empty cells
    return rows


def groups_from_rows(rows: Iterable[Mapping[str, str]]) -> list[Group]:
    """Groups made of rows ({column: text}, as parse_rows gives or a table would); rows with
    the same group id are merged, the first row that names a category gives it."""
    merged: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for row in rows:
        group_id = (row.get("group") or "").strip()
        if not group_id:
            raise VocabularyError(f"a row without a group id: {dict(row)}")
        category, found = merged.get(group_id, ("", []))
        found.extend((language, word.strip()) for language in LANGUAGES
                     for word in (row.get(language) or "").split(ALTERNATIVES_SEPARATOR) if word.strip())
        merged[group_id] = (category or (row.get("category") or "").strip(), found)
    return [Group(id=group_id, category=category, words=tuple(dict.fromkeys(found)))
            for group_id, (category, found) in merged.items()]


def _snowball_stems(word: str, language: str) -> tuple[str, ...]:
    """Stems of a vocabulary word by the column it stands in (its language is known there).

    A single Kazakh or Kyrgyz word of the vocabulary is a dictionary form: it is not cut
    (қазы would become қаз, goose).
    """
    if language == "ru":
        return (russian_stem(word),)
    if language == "en":
        return (english_stem(word),)
    return ()


def _phrase_word_forms(word: str, language: str) -> tuple[str, ...]:
    # Words inside a Kazakh/Kyrgyz phrase do carry suffixes (грек жаңғағы, сиыр еті).
    stems = turkic_stems(word) if language in ("kk", "ky") else _snowball_stems(word, language)
    return tuple(dict.fromkeys(form for form in (word, *stems, analyse(word).key) if form))


def _token_forms(token: Token) -> tuple[str, ...]:
    return tuple(dict.fromkeys(form for form in (token.word, *token.stems, token.key) if form))


def _with_keys(found: Iterable[str]) -> tuple[str, ...]:
    """The words, each once, then their sound keys."""
    unique = list(dict.fromkeys(found))
    return tuple(dict.fromkeys(term for term in (*unique, *(analyse(word).key for word in unique)) if term))


class Vocabulary:
    """Groups, and the lookups from any form of a word or phrase to the groups it belongs to."""

    def __init__(self, groups: Iterable[Group]):
        self.groups: dict[str, Group] = {group.id: group for group in groups}
        self._exact: dict[str, set[str]] = {}  # a normalised single word
        self._bases: dict[str, set[str]] = {}  # a normalised single word or one of its stems
        self._keys: dict[str, set[str]] = {}  # the Latin sound key of a single word
        self._phrases: dict[tuple[str, ...], set[str]] = {}  # any mix of forms of a phrase's words
        self._phrase_prefixes: set[tuple[str, ...]] = set()
        self._terms: dict[str, tuple[str, ...]] = {}
        self._single_word_terms: dict[str, tuple[str, ...]] = {}
        self._single_words: dict[str, tuple[str, ...]] = {}
        self._phrase_word_terms: dict[str, tuple[str, ...]] = {}
        for group in self.groups.values():
            self._add(group)

    def _add(self, group: Group) -> None:
        for language, written in group.words:
            phrase = tuple(words(written))
            if len(phrase) > MAX_PHRASE_WORDS:
                raise VocabularyError(f"{group.id}: {written!r} has more than {MAX_PHRASE_WORDS} words")
            if len(phrase) == 1:
                self._add_word(phrase[0], language, group.id)
            elif phrase:
                self._add_phrase(phrase, language, group.id)
        self._terms[group.id] = _with_keys(word for phrase in group.phrases() for word in phrase)
        self._single_words[group.id] = tuple(phrase[0] for phrase in group.phrases() if len(phrase) == 1)
        self._single_word_terms[group.id] = _with_keys(self._single_words[group.id])
        self._phrase_word_terms[group.id] = _with_keys(
            word for phrase in group.phrases() if len(phrase) > 1 for word in phrase)

    def _add_word(self, word: str, language: str, group_id: str) -> None:
        self._exact.setdefault(word, set()).add(group_id)
        for base in (word, *_snowball_stems(word, language)):
            self._bases.setdefault(base, set()).add(group_id)
        key = analyse(word).key
        if key:
            self._keys.setdefault(key, set()).add(group_id)

    def _add_phrase(self, phrase: tuple[str, ...], language: str, group_id: str) -> None:
        for combination in itertools.product(*(_phrase_word_forms(word, language) for word in phrase)):
            self._phrases.setdefault(combination, set()).add(group_id)
            self._phrase_prefixes.update(combination[:n] for n in range(1, len(combination)))

    def knows(self, word: str) -> bool:
        """The normalised word is itself a word of some group (so it is a base form already)."""
        return word in self._exact

    def terms(self, group_id: str) -> tuple[str, ...]:
        """Every normalised word of the group, phrases split into words, then their sound keys:
        what indexing adds for it."""
        return self._terms[group_id]

    def single_word_terms(self, group_id: str) -> tuple[str, ...]:
        """The group's one-word entries and their sound keys: what a query word may match for it.

        Not the words of its phrases: "қара өрік" (plum) must not match apricots (өрік) by
        its second word.
        """
        return self._single_word_terms[group_id]

    def single_words(self, group_id: str) -> tuple[str, ...]:
        """The group's one-word entries, normalised (no keys): what suggestions may offer."""
        return self._single_words[group_id]

    def phrase_word_terms(self, group_id: str) -> tuple[str, ...]:
        """The words of the group's phrases ("таба нан" → таба, нан) and their keys: a product
        of the group holds them, so "нан" (bread) finds flatbread."""
        return self._phrase_word_terms[group_id]

    def groups_of_word(self, token: Token) -> frozenset[str]:
        """Groups of one word: by its exact form, else its stems, else its sound key."""
        lookups = (
            ((token.word,), self._exact),
            ((token.word, *token.stems), self._bases),
            ((token.key,), self._keys),
            (key_stem_guesses(token.key), self._keys),
        )
        for forms, index in lookups:
            found = frozenset().union(*(index.get(form, ()) for form in forms))
            if found:
                return found
        return frozenset()

    def _phrase_at(self, tokens: list[Token], start: int) -> tuple[int, frozenset[str]]:
        """The longest vocabulary phrase starting at `start`: (its length in words, its groups),
        or (0, empty) when none does."""
        best: tuple[int, frozenset[str]] = (0, frozenset())
        partial: list[tuple[str, ...]] = [()]  # the forms so far that begin some phrase
        for length, token in enumerate(tokens[start:start + MAX_PHRASE_WORDS], start=1):
            extended = [prefix + (form,) for prefix in partial for form in _token_forms(token)]
            complete = [self._phrases[candidate] for candidate in extended if candidate in self._phrases]
            if complete:
                best = (length, frozenset().union(*complete))
            partial = [candidate for candidate in extended if candidate in self._phrase_prefixes]
            if not partial:
                break
        return best

    def match(self, tokens: list[Token]) -> list[frozenset[str]]:
        """For each token, the groups it belongs to; a phrase claims its words, longest first,
        so "қара өрік" (plum) is not read as қара + өрік (apricot)."""
        found: list[frozenset[str]] = []
        while len(found) < len(tokens):
            length, groups = self._phrase_at(tokens, len(found))
            if length:
                found.extend([groups] * length)
            else:
                found.append(self.groups_of_word(tokens[len(found)]))
        return found

    def synonyms(self, term: str) -> set[str]:
        """Every word of the groups the term's words belong to, normalised, a phrase as one
        string ("мёду" → {"мед", "бал", "honey", ...}); empty when it belongs to none."""
        tokens = [analyse(word) for word in words(term)]
        group_ids = frozenset().union(*self.match(tokens))
        return {" ".join(phrase) for group_id in group_ids for phrase in self.groups[group_id].phrases()}

    def extended(self, rows: Iterable[Mapping[str, str]]) -> Vocabulary:
        """A new vocabulary with rows added: a known group id gains words, a new one is a group."""
        own_rows = [{"group": group.id, "category": group.category, language: word}
                    for group in self.groups.values() for language, word in group.words]
        return Vocabulary(groups_from_rows([*own_rows, *rows]))


def load_vocabulary(path: Path = VOCABULARY_PATH) -> Vocabulary:
    try:
        with path.open(encoding="utf-8") as lines:
            return Vocabulary(groups_from_rows(parse_rows(lines)))
    except UnicodeDecodeError as error:
        # Said like the file's other faults: the app does not start, and the deployer is told where.
        raise VocabularyError(f"{path}: not UTF-8 at byte {error.start}") from None


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The vocabulary of the versioned file, read once per process."""
    return load_vocabulary()


def synonyms(term: str) -> set[str]:
    """`Vocabulary.synonyms` of the versioned vocabulary."""
    return default_vocabulary().synonyms(term)
