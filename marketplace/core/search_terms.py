"""What a product is indexed by, and what a query may match: word forms, sound keys and the
product vocabulary put together.

A product's search column holds, for every word of its texts, the word, its stems and its
Latin sound key, and for every vocabulary group its words belong to, one group term
("~potato") and the words of the group's phrases ("таба нан": таба, нан; so "нан", bread,
finds a flatbread). The name's terms come first, then NAME_END, then the terms of the other texts
(description, producer, category names), so a match can be told to be in the name:

    " картофель картофел kartofel ~potato молодой молод molodoi | от ot ... "

A query word becomes the set of its own forms and its groups' terms; the product matches
the word when its column holds any one of them, as a whole term. So "картоп", "potatoes",
"kartofel" and "картофеля" all find "Картофель молодой" (through ~potato), and "kymyz"
finds "Кымыз". One group term instead of every word of the group keeps a query to a few
alternatives per word, and lets the vocabulary grow without touching the products already
in the group.
"""
from __future__ import annotations

from dataclasses import dataclass

from marketplace.core.text import words
from marketplace.core.vocabulary import Vocabulary, default_vocabulary
from marketplace.core.wordforms import Token, analyse

#: Marks a group term; no word can hold it (words are letters and digits only).
GROUP_MARK = "~"
#: The term between the name's terms and the other texts' terms.
NAME_END = "|"

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


def _text_terms(text: str | None, vocabulary: Vocabulary, weight: int, found_words: dict[str, int],
                own_groups: bool) -> list[str]:
    tokens = [analyse(word) for word in words(text)]
    terms: list[str] = []
    for token in tokens:
        terms.extend(_own_terms(token, vocabulary))
        found_words[token.word] = max(weight, found_words.get(token.word, 0))
    groups = vocabulary.match(tokens)
    if own_groups:
        # A phrase claims its words ("абрикосы сушёные" is dried apricots), yet the product
        # is also what each word says (apricots): "өрүк" finds it. Not so for a query, whose
        # "қара өрік" (plum) must not find apricots.
        groups = [claimed | vocabulary.groups_of_word(token) for claimed, token in zip(groups, tokens)]
    for group_ids in groups:
        for group_id in sorted(group_ids):  # sorted: the column does not depend on set order
            terms.append(group_term(group_id))
            terms.extend(vocabulary.phrase_word_terms(group_id))
            for word in vocabulary.single_words(group_id):
                found_words[word] = max(WEIGHT_GROUP, found_words.get(word, 0))
    return terms


def index_text(name: str | None, description: str | None = None, *others: str | None,
               vocabulary: Vocabulary | None = None) -> IndexedText:
    """The search column and word list of a product named `name`, with its description and
    other texts (producer's name, category names), each term once, in the order given. The
    words of the name and description also stand for their own groups when a phrase claims
    them; the other texts only for what they say as a whole."""
    vocabulary = vocabulary or default_vocabulary()
    found_words: dict[str, int] = {}
    name_terms = list(dict.fromkeys(_text_terms(name, vocabulary, WEIGHT_NAME, found_words, True)))
    seen = set(name_terms)
    other_terms: dict[str, None] = {}
    for text, own_groups in ((description, True), *((other, False) for other in others)):
        other_terms.update(dict.fromkeys(
            term for term in _text_terms(text, vocabulary, WEIGHT_OTHER, found_words, own_groups)
            if term not in seen))
    return IndexedText(column=f" {' '.join([*name_terms, NAME_END, *other_terms])} ", words=found_words)


def index_terms(*texts: str | None, vocabulary: Vocabulary | None = None) -> str:
    """The column `index_text` makes of these texts, the first one being the name."""
    if not texts:
        return index_text(None, vocabulary=vocabulary).column
    return index_text(texts[0], *texts[1:], vocabulary=vocabulary).column


@dataclass(frozen=True)
class QueryWord:
    """One word of a query and the terms that match it."""

    word: str
    #: the word's own forms and its groups' terms; a product matches when it holds any one
    terms: tuple[str, ...]
    #: the vocabulary groups the word stands for (empty: a word the vocabulary does not know)
    groups: frozenset[str]


def query_words(query: str | None, vocabulary: Vocabulary | None = None) -> list[QueryWord]:
    """The words of a query, each with its alternatives; joining words are left out when
    the query has others.

    A query word stands for its group by the group's term; the product's column holds it
    when one of the product's words or phrases belongs to the group (see index_text). A
    phrase of the vocabulary ("қара өрік", plum) claims its words, so өрік there does not
    stand for apricots.
    """
    vocabulary = vocabulary or default_vocabulary()
    tokens = [analyse(word) for word in words(query)]
    found = [QueryWord(word=token.word,
                       terms=tuple(dict.fromkeys([*_own_terms(token, vocabulary),
                                                  *(group_term(g) for g in sorted(group_ids))])),
                       groups=frozenset(group_ids))
             for token, group_ids in zip(tokens, vocabulary.match(tokens))]
    meaningful = [word for word in found if word.word not in STOPWORDS]
    return meaningful or found


def query_terms(query: str | None, vocabulary: Vocabulary | None = None) -> list[set[str]]:
    """Per query word, the terms any one of which a product's search column must hold."""
    return [set(word.terms) for word in query_words(query, vocabulary)]
