"""What a product is indexed by, and what a query may match: word forms, sound keys and the
product vocabulary put together.

A product's search column holds, for every word of its texts, the word, its stems and its
Latin sound key, and for every vocabulary group its words belong to, all the group's words
and their keys. A query word becomes the set of its own forms and its group's one-word
entries; the product matches the word when its column holds any one of them, as a whole
term. So "картоп", "potatoes", "kartofel" and "картофеля" all find "Картофель молодой", and
"kymyz" finds "Кымыз".
"""
from marketplace.core.text import words
from marketplace.core.vocabulary import Vocabulary, default_vocabulary
from marketplace.core.wordforms import Token, analyse


def _own_terms(token: Token, vocabulary: Vocabulary) -> tuple[str, ...]:
    """The word, its stems and its key.

    A vocabulary word is a dictionary form already: cutting a Kazakh/Kyrgyz "suffix" off it
    would only make another word (қазы, horse sausage, would become қаз, goose).
    """
    stems = (token.snowball,) if vocabulary.knows(token.word) else token.stems
    return tuple(dict.fromkeys(term for term in (token.word, *stems, token.key) if term))


def _group_terms(group_ids: frozenset[str], vocabulary: Vocabulary) -> list[str]:
    # Sorted, so the column is the same whichever order a set iterates in.
    return [term for group_id in sorted(group_ids) for term in vocabulary.terms(group_id)]


def _group_alternatives(group_ids: frozenset[str], vocabulary: Vocabulary) -> set[str]:
    return {term for group_id in group_ids for term in vocabulary.single_word_terms(group_id)}


def index_terms(*texts: str | None, vocabulary: Vocabulary | None = None) -> str:
    """The space-separated terms to store in a product's search column, in the order of the
    texts given (put the name first), each text's own words before its group words, each
    term once."""
    vocabulary = vocabulary or default_vocabulary()
    terms: dict[str, None] = {}
    for text in texts:
        tokens = [analyse(word) for word in words(text)]
        for token in tokens:
            terms.update(dict.fromkeys(_own_terms(token, vocabulary)))
        for group_ids in vocabulary.match(tokens):
            terms.update(dict.fromkeys(_group_terms(group_ids, vocabulary)))
    return " ".join(terms)


def query_terms(query: str | None, vocabulary: Vocabulary | None = None) -> list[set[str]]:
    """Per query word, the terms any one of which a product's search column must hold.

    A query word stands for its group by the group's one-word entries; the product's column
    holds them all when it belongs to the group (see index_terms).
    """
    vocabulary = vocabulary or default_vocabulary()
    tokens = [analyse(word) for word in words(query)]
    return [{*_own_terms(token, vocabulary), *_group_alternatives(group_ids, vocabulary)}
            for token, group_ids in zip(tokens, vocabulary.match(tokens))]
