"""What a product is indexed by, and what a query may match: word forms, sound keys and the
product vocabulary put together.

A product's search column holds, for every word of its texts, the word, its stems and its
Latin sound key, and for every vocabulary group its words belong to, one group term
("~potato") and the words of the group's phrases ("таба нан": таба, нан; so "нан", bread,
finds a flatbread). The name's terms come first, then NAME_END, the description's terms,
DESCRIPTION_END and those of the producer's and category's names, so a match can be told
to be in the name, or in the description:

    " картофель картофел kartofel ~potato молодой молод molodoi | новый ... || гульнара ... ~vegetables "

A query word becomes the set of its own forms and its groups' terms; the product matches
the word when its column holds any one of them, as a whole term. So "картоп", "potatoes",
"kartofel" and "картофеля" all find "Картофель молодой" (through ~potato), and "kymyz"
finds "Кымыз". One group term instead of every word of the group keeps a query to a few
alternatives per word, and lets the vocabulary grow without touching the products already
in the group.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from marketplace.core.text import words
from marketplace.core.vocabulary import Vocabulary, default_vocabulary
from marketplace.core.wordforms import Token, analyse

#: The form of the search column this module writes; raise it with any change to what
#: index_text writes, so `flask reindex-search --if-changed` indexes every product again.
INDEX_FORMAT = 2  # 2: a combining mark no longer splits a word

#: Marks a group term; no word can hold it (words are letters and digits only).
GROUP_MARK = "~"
#: The term between the name's terms and the description's, and the one after the description's.
NAME_END = "|"
DESCRIPTION_END = "||"

#: How much a word of the product's texts says about the product, for the word list that
#: suggestions and typo corrections come from: a word of its name, a word of a vocabulary
#: group the product belongs to (its synonyms in every language), a word of another text.
WEIGHT_NAME = 3
WEIGHT_GROUP = 2
WEIGHT_OTHER = 1

#: Words that join other words and say nothing of a product; a query leaves them out when
#: it has other words ("чай из облепихи" must find "Облепиховый чай"). Kazakh мен/бен/пен
#: are also suffixes, but never a word of their own in a product's name.
STOPWORDS = frozenset({
    "и", "в", "во", "с", "со", "из", "на", "для", "от", "по", "без", "к", "у", "о", "об", "или", "а",
    "және", "мен", "бен", "пен", "үшін", "жана", "менен", "үчүн", "же",
    "the", "a", "an", "of", "and", "with", "for", "in", "from", "or", "to",
})


def group_term(group_id: str) -> str:
    return f"{GROUP_MARK}{group_id}"


def _own_terms(token: Token, vocabulary: Vocabulary) -> tuple[str, ...]:
    """The word, its stems and its key.

    A vocabulary word is a dictionary form already: cutting a Kazakh/Kyrgyz "suffix" off it
    would only make another word (қазы, horse sausage, would become қаз, goose).
    """
    stems = (token.snowball,) if vocabulary.knows(token.word) else token.stems
    return tuple(dict.fromkeys(term for term in (token.word, *stems, token.key) if term))


def word_forms(word: str) -> tuple[str, ...]:
    """Every term a product's column may hold for this normalised word: the word, all its
    stems and its key (the products a vocabulary change to the word may concern)."""
    token = analyse(word)
    return tuple(dict.fromkeys(term for term in (token.word, *token.stems, token.key) if term))


@dataclass(frozen=True)
class IndexedText:
    """What to store for one product: its search column, and its words for the word list."""

    #: space-separated terms, a space at each end, NAME_END between the name and the rest
    column: str
    #: every word of the texts and of the groups they belong to -> its weight (WEIGHT_*)
    words: dict[str, int]


class _Reading(enum.Enum):
    """How much of a text's meaning goes into the column."""

    #: its words' forms, the groups of its phrases and of each word, their phrases' words
    FULL = "full"
    #: its words' forms only: a producer named "… — кымыз" sells more than kymyz
    WORDS = "words"
    #: a category's name: its groups only when the vocabulary knows every word ("Сүт
    #: өнімдері" is dairy, not milk), else read in full
    GROUPS = "groups"


def _also_meant(token: Token, claimed: frozenset[str], vocabulary: Vocabulary) -> set[str]:
    """A phrase claims its words ("абрикосы сушёные" is dried apricots), yet the product is
    also what each word says when it is the same kind of thing (apricots: "өрүк" finds it),
    not when it is another ("bee bread" is no bread). A query's "қара өрік" (plum) is only
    plum: this is for products, never for queries."""
    kinds = {vocabulary.groups[group_id].category for group_id in claimed}
    return {group_id for group_id in vocabulary.groups_of_word(token) - claimed
            if vocabulary.groups[group_id].category in kinds}


def _text_terms(text: str | None, vocabulary: Vocabulary, weight: int, found_words: dict[str, int],
                reading: _Reading) -> tuple[list[str], list[str]]:
    """(the text's terms, the words of its groups' phrases: said by the group, not by the text)."""
    tokens = [analyse(word) for word in words(text)]
    groups = vocabulary.match(tokens) if reading is not _Reading.WORDS else []
    terms: list[str] = []
    phrase_words: list[str] = []
    if reading is not _Reading.GROUPS or not all(groups):
        reading = _Reading.FULL if reading is _Reading.GROUPS else reading
        for token in tokens:
            terms.extend(_own_terms(token, vocabulary))
            found_words[token.word] = max(weight, found_words.get(token.word, 0))
    if reading is _Reading.FULL:
        groups = [claimed | _also_meant(token, claimed, vocabulary)
                  for claimed, token in zip(groups, tokens, strict=True)]
    for group_ids in groups:
        for group_id in sorted(group_ids):  # sorted: the column does not depend on set order
            terms.append(group_term(group_id))
            if reading is _Reading.FULL:
                phrase_words.extend(vocabulary.phrase_word_terms(group_id))
            for word in vocabulary.single_words(group_id):
                found_words[word] = max(WEIGHT_GROUP, found_words.get(word, 0))
    return terms, phrase_words


def index_text(name: str | None, description: str | None = None, producer: str | None = None,
               categories: Iterable[str | None] = (), vocabulary: Vocabulary | None = None) -> IndexedText:
    """The search column and word list of a product: its name's terms, NAME_END, then the
    terms of its description, DESCRIPTION_END, those of its producer's name and its
    category's names and the words of its groups' phrases, each term once.

    The name and description are read in full; the producer's name for its words (the
    producer's other products are no synonym of them); a category's name for its groups.
    The words of a group's phrases come last: "нан" finds a flatbread ("таба нан"), after
    the breads that say "нан" themselves.
    """
    vocabulary = vocabulary or default_vocabulary()
    found_words: dict[str, int] = {}
    parts: list[list[str]] = []
    phrase_words: list[str] = []
    seen: set[str] = set()
    texts = [[(name, WEIGHT_NAME, _Reading.FULL)], [(description, WEIGHT_OTHER, _Reading.FULL)],
             [(producer, WEIGHT_OTHER, _Reading.WORDS),
              *((category, WEIGHT_OTHER, _Reading.GROUPS) for category in categories)]]
    for part in texts:
        terms: list[str] = []
        for text, weight, reading in part:
            own, of_phrases = _text_terms(text, vocabulary, weight, found_words, reading)
            terms.extend(own)
            phrase_words.extend(of_phrases)
        if part is texts[-1]:
            terms.extend(phrase_words)
        parts.append([term for term in dict.fromkeys(terms) if term not in seen])
        seen.update(parts[-1])
    name_terms, description_terms, other_terms = parts
    column = [*name_terms, NAME_END, *description_terms, DESCRIPTION_END, *other_terms]
    return IndexedText(column=f" {' '.join(column)} ", words=found_words)


def index_terms(*texts: str | None, vocabulary: Vocabulary | None = None) -> str:
    """The column `index_text` makes of these texts: name, description, producer, categories."""
    name, description, producer, *categories = [*texts, None, None, None][:max(3, len(texts))]
    return index_text(name, description, producer, categories, vocabulary=vocabulary).column


@dataclass(frozen=True)
class QueryWord:
    """One word of a query and the terms that match it."""

    word: str
    #: the word's own forms and its groups' terms; a product matches when it holds any one
    terms: tuple[str, ...]
    #: the vocabulary groups the word stands for (empty: a word the vocabulary does not know)
    groups: frozenset[str]


def _query_terms(token: Token, group_ids: frozenset[str], vocabulary: Vocabulary) -> tuple[str, ...]:
    if not group_ids:
        return _own_terms(token, vocabulary)
    own = (token.word, token.key)
    return tuple(dict.fromkeys(term for term in (*own, *(group_term(g) for g in sorted(group_ids))) if term))


def query_words(query: str | None, vocabulary: Vocabulary | None = None) -> list[QueryWord]:
    """The words of a query, each with its alternatives; joining words are left out when
    the query has others.

    A query word stands for its group by the group's term; the product's column holds it
    when one of the product's words or phrases belongs to the group, in any of its forms
    (see index_text). So a word of a group needs no stems of its own: the word as typed (a
    producer's name holds words, not groups) and its key are enough, and every alternative
    more would only make the database guess more rows. A phrase of the vocabulary ("қара
    өрік", plum) claims its words, so өрік there does not stand for apricots.
    """
    vocabulary = vocabulary or default_vocabulary()
    tokens = [analyse(word) for word in words(query)]
    found = [QueryWord(word=token.word, terms=_query_terms(token, group_ids, vocabulary), groups=frozenset(group_ids))
             for token, group_ids in zip(tokens, vocabulary.match(tokens), strict=True)]
    meaningful = [word for word in found if word.word not in STOPWORDS]
    return meaningful or found


def query_terms(query: str | None, vocabulary: Vocabulary | None = None) -> list[set[str]]:
    """Per query word, the terms any one of which a product's search column must hold."""
    return [set(word.terms) for word in query_words(query, vocabulary)]
