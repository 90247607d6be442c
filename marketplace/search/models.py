"""The admin's additions to the product vocabulary, the word list suggestions and typo
corrections come from, and which vocabulary the products were last indexed with."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.core.extensions import db


class VocabularyEntry(db.Model):
    """A word an admin added to a group of the product vocabulary (or to a new group).

    Merged with `core/vocabulary.tsv` (see search.vocabulary): a row with a group id of the
    file adds a word to that group, a row with a new id makes a group.
    """

    __tablename__ = "vocabulary_entry"
    __table_args__ = (UniqueConstraint("word", name="uq_vocabulary_entry_word"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[str] = mapped_column(String(60), index=True)
    #: ru, kk, ky, en or latin (a spelling people type in Latin letters)
    language: Mapped[str] = mapped_column(String(8))
    #: as the admin wrote it (capital letters, ё kept); unique once normalised, see `word`
    written: Mapped[str] = mapped_column(String(100))
    #: normalised (core.text.normalize_text): a word belongs to one group only
    word: Mapped[str] = mapped_column(String(100))
    #: the demo category key of a new group ("" for a word added to a group of the file)
    category: Mapped[str] = mapped_column(String(40), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


#: Longer words are not kept in the word list (nobody types them; they would only fill it).
MAX_WORD_CHARS = 40


class SearchWord(db.Model):
    """A word of some product's texts or of a vocabulary group a product belongs to.

    Suggestions complete what is typed from these words, and a query word the products do
    not hold is corrected to the nearest of them (one letter wrong, missing or swapped).
    Words are added as products are saved and rebuilt by `flask reindex-search`; a word
    whose last product went away stays until then (it then finds nothing, which is safe).
    """

    __tablename__ = "search_word"
    __table_args__ = (Index("ix_search_word_letters", "letters"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: normalised (lower case, ё → е)
    word: Mapped[str] = mapped_column(String(100), unique=True)
    #: its Latin sound key (core.translit.sound_key): kymyz, қымыз and кымыз share one
    key: Mapped[str] = mapped_column(String(100), index=True)
    #: the key's letters in order (core.typos.letters_key): a swap of two letters keeps it
    letters: Mapped[str] = mapped_column(String(100))
    #: 3 a word of a product's name, 2 a synonym of one, 1 a word of its other texts
    weight: Mapped[int] = mapped_column(SmallInteger, default=1)


class SearchIndexState(db.Model):
    """Which vocabulary the products' search columns were built with (one row)."""

    __tablename__ = "search_index_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of core/vocabulary.tsv when every product was last indexed
    file_fingerprint: Mapped[str] = mapped_column(String(64))
    #: sha256 of the admin's rows when the products they concern were last indexed
    rows_fingerprint: Mapped[str] = mapped_column(String(64))
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
