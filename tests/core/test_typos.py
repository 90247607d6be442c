"""Typo distance: one letter wrong, missing, added or swapped is one slip; trigrams as pg_trgm counts them."""
import pytest

from marketplace.core.typos import allowed_edits, edit_distance, letters_key, similarity, trigrams


@pytest.mark.parametrize("typed, known, distance", [
    ("картофль", "картофель", 1),   # missing
    ("малоко", "молоко", 1),        # wrong
    ("mlik", "milk", 1),            # swapped
    ("алмрұт", "алмұрт", 1),        # swapped, Kazakh letters
    ("potatos", "potatoes", 1),
    ("honey", "honey", 0),
    ("мед", "бал", 3),
    ("картоп", "морковь", 4),       # far: cut at the limit
])
def test_edit_distance_counts_slips(typed, known, distance):
    assert edit_distance(typed, known) == distance


def test_edit_distance_stops_at_its_limit():
    assert edit_distance("a" * 50, "b" * 50, limit=2) == 3
    assert edit_distance("short", "a much longer word", limit=1) == 2


def test_short_words_get_no_slip_long_ones_two():
    assert allowed_edits("ет") == 0
    assert allowed_edits("бал") == 1 and allowed_edits("картоп") == 1
    assert allowed_edits("говядина") == 2


def test_trigrams_and_similarity_as_pg_trgm():
    assert trigrams("кот") == {"  к", " ко", "кот", "от "}
    assert similarity("word", "word") == 1.0
    assert similarity("картофль", "картофель") > 0.5
    assert similarity("abc", "xyz") == 0.0


def test_a_swap_keeps_the_letters_key():
    assert letters_key("mlik") == letters_key("milk")
    assert letters_key("алмрұт") == letters_key("алмұрт")
