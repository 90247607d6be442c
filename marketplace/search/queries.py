"""Read-only search helpers: what a query's words may match, suggestions as you type, and
the vocabulary for the admin's page.

`plan_search` turns a query into words with their alternatives. A word of the vocabulary
(in any of its forms, in either alphabet) matches its own forms and its groups' terms. A word
the vocabulary does not know is looked up in the word list, all such words in one statement:
a word some product holds matches as it is; any other is taken as typed so far (the words it
begins, "эспарц" → эспарцетовый, match too) and, when it is one slip of the finger away from
known words, as those words — a typo, ranked below what matches as typed. Every alternative
is a whole term of the products' search columns, so every search is answered from an index.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import case, column, func, literal, or_, select, table, text, union_all

from marketplace.core.dialects import SQLITE_WORD_TABLE
from marketplace.core.extensions import db
from marketplace.core.search_terms import STOPWORDS, query_words
from marketplace.core.text import words
from marketplace.core.translit import sound_key
from marketplace.core.typos import allowed_edits, edit_distance, letters_key, similarity, trigrams
from marketplace.core.vocabulary import LANGUAGES
from marketplace.core.wordforms import Script, script_of
from marketplace.search.matching import Alternatives
from marketplace.search.models import MAX_WORD_CHARS, SearchWord, VocabularyEntry
from marketplace.search.vocabulary import current_vocabulary

#: A query holds at most this many words (more are ignored), and is read up to MAX_QUERY_CHARS.
MAX_WORDS = 8
MAX_QUERY_CHARS = 200
#: A word shorter than this is not taken as the beginning of a longer one.
MIN_PREFIX = 2
#: Typo candidates read per word, best trigram matches first.
CANDIDATES = 40
#: Words a word being typed may begin, read per word: the weightiest (names) first, then the shortest.
COMPLETIONS = 30
#: ...but fewer for a very short word: "та" begins hundreds of words, and each word it stands
#: for is a few more terms in every part of the statement (30 words were 45 terms, 270-580 ms on
#: PostgreSQL, most of it building and planning the statement). Suggestions still complete it.
SHORT_COMPLETIONS = {2: 4, 3: 10}
#: Corrections kept per word: equally near known words (two spellings of one food).
MAX_CORRECTIONS = 3


@dataclass(frozen=True)
class WordMatch:
    """One query word and what a product's search column may hold for it."""

    word: str
    #: terms that match as typed: the word's forms, its groups' terms
    exact: tuple[str, ...]
    #: terms of the known words it begins (a word no product holds: perhaps still being typed)
    completions: tuple[str, ...] = ()
    #: terms of the known words one slip away (a typo): ranked below the others
    fuzzy: tuple[str, ...] = ()
    #: the nearest known word, for "did you mean"
    correction: str | None = None
    #: the terms of that word alone (what the search "did you mean" offers asks for it)
    correction_terms: tuple[str, ...] = ()

    @property
    def everything(self) -> Alternatives:
        """Every term the word may match: as typed, the words it begins, its corrections."""
        return Alternatives((*self.exact, *self.completions, *self.fuzzy))

    @property
    def as_corrected(self) -> Alternatives:
        """What the word asks for in the search "did you mean" offers (its correction, else itself)."""
        return Alternatives(self.correction_terms) if self.correction else self.everything


@dataclass(frozen=True)
class SearchPlan:
    words: tuple[WordMatch, ...] = field(default_factory=tuple)
    #: something was typed: a query of no word at all ("%", "1=1 --") then finds nothing
    typed: bool = False

    @property
    def has_fuzzy(self) -> bool:
        return any(word.fuzzy for word in self.words)

    @property
    def suggestion(self) -> str | None:
        """The query with each typo replaced by its correction, when any was corrected."""
        if not any(word.correction for word in self.words):
            return None
        return " ".join(word.correction or word.word for word in self.words)

    def __bool__(self) -> bool:
        return self.typed


@dataclass(frozen=True)
class _Candidate:
    word: str
    key: str
    weight: int


def _same_script(a: str, b: str) -> bool:
    return (script_of(a) is Script.LATIN) == (script_of(b) is Script.LATIN)


def _probe_pg(index: int, word: str, key: str):
    row = SearchWord
    score = func.greatest(func.similarity(row.word, word), func.similarity(row.key, key or word))
    conditions = [row.word == word, row.letters == letters_key(key or word), row.word.op("%")(word)]
    if key:
        conditions += [row.key == key, row.key.op("%")(key)]
    return (select(literal(index).label("n"), literal(False).label("begun"), row.word, row.key, row.weight)
            .where(or_(*conditions)).order_by(score.desc()).limit(CANDIDATES))


def _fts_query(*texts: str) -> str:
    grams = sorted({gram for text in texts if text for gram in trigrams(text) if " " not in gram})
    return " OR ".join(f'"{gram}"' for gram in grams)


_sqlite_words = table(SQLITE_WORD_TABLE, column("rowid"), column(SQLITE_WORD_TABLE))


def _probe_sqlite(index: int, word: str, key: str):
    row = SearchWord
    conditions = [row.word == word, row.letters == letters_key(key or word)]
    if key:
        conditions.append(row.key == key)
    match = _fts_query(word, key)
    if match:
        similar = (select(_sqlite_words.c.rowid).where(_sqlite_words.c[SQLITE_WORD_TABLE].op("MATCH")(match))
                   .order_by(text("rank")).limit(CANDIDATES))
        conditions.append(row.id.in_(similar))
    return (select(literal(index).label("n"), literal(False).label("begun"), row.word, row.key, row.weight)
            .where(or_(*conditions)))


def _prefix_condition(column, prefix: str):
    if db.session.get_bind().dialect.name == "postgresql":
        # The trigram index answers a LIKE that starts with the prefix (a word has no %, _ or \).
        return column.like(f"{prefix}%")
    # SQLite's LIKE ignores ASCII case and so skips the index; a range on the index does not.
    return (column >= prefix) & (column < prefix + "\U0010ffff")


def _begun_by(word: str, key: str):
    """Condition: a word of the list that begins with `word`, or whose sound begins with its sound."""
    conditions = [_prefix_condition(SearchWord.word, word)]
    if key and len(key) >= MIN_PREFIX:
        conditions.append(_prefix_condition(SearchWord.key, key))
    return or_(*conditions)


def _completions(index: int, word: str, key: str):
    return (select(literal(index).label("n"), literal(True).label("begun"), SearchWord.word, SearchWord.key,
                   SearchWord.weight)
            .where(_begun_by(word, key), SearchWord.word != word)
            .order_by(SearchWord.weight.desc(), func.length(SearchWord.word), SearchWord.word)
            .limit(SHORT_COMPLETIONS.get(len(word), COMPLETIONS)))


def _candidates(unknown: list[str]) -> dict[str, tuple[list[_Candidate], list[_Candidate]]]:
    """For each unknown query word: (known words near it, known words it begins), from the
    word list, all in one statement."""
    if not unknown:
        return {}
    probe = _probe_pg if db.session.get_bind().dialect.name == "postgresql" else _probe_sqlite
    parts = []
    for index, word in enumerate(unknown):
        key = sound_key(word)
        parts += [probe(index, word, key), _completions(index, word, key)]
    statement = union_all(*(part.subquery().select() for part in parts))
    found: dict[str, tuple[list[_Candidate], list[_Candidate]]] = {word: ([], []) for word in unknown}
    for n, begun, word, key, weight in db.session.execute(statement):
        found[unknown[n]][1 if begun else 0].append(_Candidate(word, key, weight))
    return found


def _corrections(word: str, candidates: list[_Candidate]) -> list[_Candidate]:
    """The known words one slip away (two in a long word), nearest first."""
    allowed = allowed_edits(word)
    if not allowed:
        return []
    key = sound_key(word)
    scored = []
    for candidate in candidates:
        distance = edit_distance(word, candidate.word, allowed)
        if key and candidate.key:
            distance = min(distance, edit_distance(key, candidate.key, allowed))
        if distance <= allowed:
            scored.append(((distance, not _same_script(word, candidate.word), -candidate.weight,
                            -similarity(word, candidate.word), candidate.word), candidate))
    scored.sort(key=lambda pair: pair[0])
    if not scored:
        return []
    best = scored[0][0][0]
    return [candidate for score, candidate in scored if score[0] == best][:MAX_CORRECTIONS]


def plan_search(query: str | None) -> SearchPlan:
    """The words of a query and what each may match (at most one statement, none for
    words the vocabulary knows)."""
    query = (query or "")[:MAX_QUERY_CHARS]
    vocabulary = current_vocabulary()
    # A word said twice asks nothing more, yet each copy was a condition of its own (its
    # completions and typo candidates, ranked in three parts): "ка" eight times cost four
    # times "ка" once on 50,000 products.
    found = list(dict.fromkeys(query_words(query, vocabulary)))[:MAX_WORDS]
    # A word longer than any in the word list is looked for as typed only.
    unknown = list(dict.fromkeys(word.word for word in found
                                 if not word.groups and MIN_PREFIX <= len(word.word) <= MAX_WORD_CHARS))
    candidates = _candidates(unknown)
    planned = []
    for word in found:
        if word.groups or word.word not in candidates:
            planned.append(WordMatch(word.word, word.terms))
            continue
        near, begun = candidates[word.word]
        key = sound_key(word.word)
        if any(c.word == word.word or (key and c.key == key) for c in near):
            planned.append(WordMatch(word.word, word.terms))  # some product holds it as typed
            continue
        corrected = _corrections(word.word, near)
        planned.append(WordMatch(
            word.word, word.terms, completions=_terms_of([c.word for c in begun], word.terms, vocabulary),
            fuzzy=_terms_of([c.word for c in corrected], word.terms, vocabulary),
            correction=corrected[0].word if corrected else None,
            correction_terms=_terms_of([c.word for c in corrected[:1]], (), vocabulary)))
    return SearchPlan(tuple(planned), typed=bool(query.strip()))


def _terms_of(known: list[str], own: tuple[str, ...], vocabulary) -> tuple[str, ...]:
    """The terms of known words (their forms and groups), but those the query word has already."""
    return tuple(dict.fromkeys(term for text in known for found in query_words(text, vocabulary)
                               for term in found.terms if term not in own))


# --- Suggestions as you type ---------------------------------------------------------------

#: Suggestions answered per request.
MAX_SUGGESTIONS = 8
#: Words read from the word list per request, of which those that lead to products are offered.
SUGGESTION_CANDIDATES = 3 * MAX_SUGGESTIONS

#: Which of some searches find a product on sale: `check(shared, each)` gives the indexes n
#: for which some product on sale holds every word of `shared` and the word each[n] (each
#: word as its alternatives). Given by the feature that knows what is on sale (the catalog,
#: above search), through `set_product_check`.
ProductCheck = Callable[[Sequence[Alternatives], Sequence[Alternatives]], set[int]]
#: app.extensions key of the ProductCheck.
PRODUCT_CHECK = "aimak.search_product_check"


def set_product_check(app, check: ProductCheck) -> None:
    app.extensions[PRODUCT_CHECK] = check


def suggest(query: str | None, finds: ProductCheck | None) -> list[str]:
    """Queries that complete what is typed and find something: its last word completed from
    the word list (in its own alphabet first, then words whose sound is typed in the other),
    the words before it kept, each offered only when some product on sale holds the words
    before and the word offered (`finds` tells; without it nothing is offered). The word list
    holds the words of products taken off sale too: it is only where candidates come from.
    """
    typed = words(query)[:MAX_WORDS]
    if finds is None or not typed or len(typed[-1]) < MIN_PREFIX:
        return []
    head, last = typed[:-1], typed[-1]
    key = sound_key(last)
    own_alphabet = case((_prefix_condition(SearchWord.word, last), 0), else_=1)
    # A word that only sounds like what is typed ("sut" for "сүт") is what is typed already.
    candidates = list(db.session.scalars(
        select(SearchWord.word).where(_begun_by(last, key), SearchWord.word != last, SearchWord.key != key)
        .order_by(own_alphabet, SearchWord.weight.desc(), func.length(SearchWord.word), SearchWord.word)
        .limit(SUGGESTION_CANDIDATES)))
    if not candidates:
        return []
    before = _words_before(head)
    vocabulary = current_vocabulary()
    leading: list[str] = []
    # A page's worth at a time, best first: most candidates lead somewhere, so one check of
    # eight usually answers (PostgreSQL reads a candidate's whole entry in the terms index
    # before its first product, a fraction of a millisecond for a common word; 24 add up).
    for start in range(0, len(candidates), MAX_SUGGESTIONS):
        batch = candidates[start:start + MAX_SUGGESTIONS]
        found = finds(before, [Alternatives(_terms_of([word], (), vocabulary)) for word in batch])
        leading += [word for n, word in enumerate(batch) if n in found]
        if len(leading) >= MAX_SUGGESTIONS:
            break
    return [" ".join([*head, word]) for word in leading[:MAX_SUGGESTIONS]]


def _words_before(head: list[str]) -> list[Alternatives]:
    """What the words before the one being completed ask of a product, as the search of the
    completed query will ask it (joining words are left out, as a query with other words
    leaves them out)."""
    if not head:
        return []
    return [word.everything for word in plan_search(" ".join(head)).words if word.word not in STOPWORDS]


# --- The admin's page -------------------------------------------------------------------------

@dataclass
class GroupView:
    """A vocabulary group as the admin's page shows it."""

    id: str
    category: str
    #: language -> [(word as written, the admin's entry or None for a word of the file)]
    words: dict[str, list[tuple[str, VocabularyEntry | None]]]


def vocabulary_groups(filter_text: str = "") -> list[GroupView]:
    """Every group (or those with a word, in any form, containing the filter), by id."""
    vocabulary = current_vocabulary()
    entries: dict[tuple[str, str], VocabularyEntry] = {
        (entry.group_id, entry.word): entry for entry in db.session.scalars(select(VocabularyEntry))}
    wanted = " ".join(words(filter_text))
    found = []
    for group in sorted(vocabulary.groups.values(), key=lambda g: g.id):
        if wanted and wanted not in group.id.replace("_", " ") and not any(
                wanted in " ".join(words(word)) for _, word in group.words):
            continue
        by_language: dict[str, list] = {language: [] for language in LANGUAGES}
        for language, word in group.words:
            by_language[language].append((word, entries.get((group.id, " ".join(words(word))))))
        found.append(GroupView(group.id, group.category, by_language))
    return found


def group_ids() -> list[str]:
    return sorted(current_vocabulary().groups)


def entry(entry_id: int) -> VocabularyEntry | None:
    return db.session.get(VocabularyEntry, entry_id)

