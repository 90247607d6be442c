"""Changes to the admin's vocabulary and to the word list.

A vocabulary change is a row here; the products it concerns are indexed again by the
`reindex-search` task, queued by the view after the commit (see search.tasks).
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Role, User
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.extensions import db
from marketplace.core.search_terms import STOPWORDS
from marketplace.core.text import slugify, words
from marketplace.core.translit import sound_key
from marketplace.core.typos import letters_key
from marketplace.core.vocabulary import LANGUAGES, MAX_PHRASE_WORDS
from marketplace.search import vocabulary
from marketplace.search.models import MAX_WORD_CHARS, SearchIndexState, SearchWord, VocabularyEntry

MAX_WRITTEN_CHARS = 100

_CYRILLIC = "а-яё"
_ALPHABETS = {
    # The letters each language writes (hyphens and spaces join the words of a phrase).
    "ru": re.compile(rf"^[{_CYRILLIC}]+(?:[ -][{_CYRILLIC}]+)*$"),
    "kk": re.compile(rf"^[{_CYRILLIC}әғқңөұүһі]+(?:[ -][{_CYRILLIC}әғқңөұүһі]+)*$"),
    "ky": re.compile(rf"^[{_CYRILLIC}ңөү]+(?:[ -][{_CYRILLIC}ңөү]+)*$"),
    "en": re.compile(r"^[a-z']+(?:[ -][a-z']+)*$"),
    "latin": re.compile(r"^[a-zäöüşçğıñ']+(?:[ -][a-zäöüşçğıñ']+)*$"),
}


class VocabularyRefused(DomainError):
    """A word the vocabulary cannot take; `field` names the form field it concerns."""


def _require_admin(actor: User | None) -> None:
    if actor is None or not actor.has_role(Role.ADMIN):
        raise NotAllowed(str(_l("Only admins change the vocabulary.")))


def _checked_word(language: str, written: str, field: str) -> tuple[str, str]:
    """(the word as written, normalised) or VocabularyRefused."""
    written = " ".join((written or "").split())
    if language not in LANGUAGES:
        raise VocabularyRefused(str(_l("Choose a language.")), field="language")
    if not written:
        raise VocabularyRefused(str(_l("Enter a word.")), field=field)
    phrase = words(written)
    if not phrase:  # an apostrophe alone is "written in the letters" of English
        raise VocabularyRefused(str(_l("Enter a word.")), field=field)
    if len(written) > MAX_WRITTEN_CHARS or len(phrase) > MAX_PHRASE_WORDS:
        raise VocabularyRefused(str(_l("Enter a word or a phrase of at most four words.")), field=field)
    if not _ALPHABETS[language].match(written.lower()):
        raise VocabularyRefused(str(_l("This word is not written in the letters of the language chosen.")),
                                field=field)
    if len(phrase) == 1 and phrase[0] in STOPWORDS:
        # Products are indexed by it: every product whose text says "и" or "the" would join the group.
        raise VocabularyRefused(str(_l("“%(word)s” only joins other words (like “and” or “for”); "
                                       "products cannot be found by it.", word=written)), field=field)
    normalised = " ".join(phrase)
    owner = group_of_phrase(normalised)
    if owner is not None:
        raise VocabularyRefused(str(_l("“%(word)s” is already in the group “%(group)s”.", word=written, group=owner)),
                                field=field)
    return written, normalised


def group_of_phrase(normalised: str) -> str | None:
    """The group that holds this normalised word or phrase, if any."""
    phrase = tuple(normalised.split())
    for group in vocabulary.current_vocabulary().groups.values():
        if phrase in group.phrases():
            return group.id
    return None


def add_word(actor: User, group_id: str, language: str, written: str) -> VocabularyEntry:
    """Add a word to a group of the vocabulary (the products holding it are indexed again
    by the task the view queues)."""
    _require_admin(actor)
    if group_id not in vocabulary.current_vocabulary().groups:
        raise VocabularyRefused(str(_l("This group does not exist.")), field="group")
    written, normalised = _checked_word(language, written, "word")
    entry = VocabularyEntry(group_id=group_id, language=language, written=written, word=normalised,
                            created_by_id=actor.id, created_at=utcnow())
    _save([entry], "word")
    return entry


def add_group(actor: User, written: dict[str, str], category: str = "") -> list[VocabularyEntry]:
    """A new group: one word per language given (English required, it names the group)."""
    _require_admin(actor)
    written = {language: (text or "").strip() for language, text in written.items() if (text or "").strip()}
    if "en" not in written:
        raise VocabularyRefused(str(_l("Enter the English word: it names the group.")), field="en")
    checked = {language: _checked_word(language, text, language) for language, text in written.items()}
    if len({normalised for _, normalised in checked.values()}) < len(checked):
        raise VocabularyRefused(str(_l("Each language needs its own word.")), field="en")
    base = slugify(written["en"]).replace("-", "_")[:50]
    group_id, n = base, 1
    existing = vocabulary.current_vocabulary().groups
    while group_id in existing:
        n += 1
        group_id = f"{base}_{n}"
    entries = [VocabularyEntry(group_id=group_id, language=language, written=text, word=normalised,
                               category=category, created_by_id=actor.id, created_at=utcnow())
               for language, (text, normalised) in checked.items()]
    _save(entries, "en")
    return entries


def _save(entries: list[VocabularyEntry], field: str) -> None:
    """Add the rows; another admin adding the same word a moment earlier is a refusal, not an error."""
    try:
        with db.session.begin_nested():
            db.session.add_all(entries)
    except IntegrityError:
        raise VocabularyRefused(str(_l("This word was added to the vocabulary a moment ago.")), field=field) from None
    vocabulary.forget()


def remove_word(actor: User, entry: VocabularyEntry) -> str:
    """Take an admin's word out of the vocabulary; returns the word (normalised)."""
    _require_admin(actor)
    word = entry.word
    db.session.delete(entry)
    db.session.flush()
    vocabulary.forget()
    return word


# --- The word list ----------------------------------------------------------------------

def _insert():
    return postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert


def record_words(found: dict[str, int]) -> None:
    """Add words to the word list, each keeping the highest weight it was seen with."""
    rows = []
    for word, weight in sorted(found.items()):
        if not word or len(word) > MAX_WORD_CHARS:
            continue
        key = sound_key(word)
        rows.append({"word": word, "key": key, "letters": letters_key(key or word), "weight": weight})
    if not rows:
        return
    statement = _insert()(SearchWord)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["word"],
        set_={"weight": case((statement.excluded.weight > SearchWord.weight, statement.excluded.weight),
                             else_=SearchWord.weight)}), rows)


def index_state() -> SearchIndexState | None:
    return db.session.scalar(select(SearchIndexState).order_by(SearchIndexState.id).limit(1))


def index_is_current() -> bool:
    """Whether the products were indexed with the vocabulary file and admin's rows of now."""
    state = index_state()
    return (state is not None and state.file_fingerprint == vocabulary.file_fingerprint()
            and state.rows_fingerprint == vocabulary.rows_fingerprint())


def mark_indexed(*, every_product: bool) -> None:
    """Remember the vocabulary the products are now indexed with: the file too when every
    product was indexed, else only the admin's rows (the products they concern were)."""
    state = index_state()
    if state is None:
        if not every_product:
            return  # never fully indexed: the next check indexes everything
        state = SearchIndexState(file_fingerprint="", rows_fingerprint="")
        db.session.add(state)
    if every_product:
        state.file_fingerprint = vocabulary.file_fingerprint()
    state.rows_fingerprint = vocabulary.rows_fingerprint()
    state.indexed_at = utcnow()
    db.session.flush()
