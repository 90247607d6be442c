"""The admin's user search folds letter case in every alphabet, as the product search does."""
from __future__ import annotations

from marketplace.accounts.queries import search_users
from tests.factories import UserFactory


def test_cyrillic_kazakh_and_latin_names_are_found_whatever_their_case(ctx):
    UserFactory(name="Айгерим Садыкова", email="a@example.test")
    UserFactory(name="ҚҰРАЛАЙ ӨМІРБЕК", email="k@example.test")
    UserFactory(name="Пётр Ёлкин", email="p@example.test")
    UserFactory(name="Timur Kasymov", email="TIMUR@example.test")
    names = lambda text: [user.name for user in search_users(text, 1).items]  # noqa: E731
    assert names("айгерим") == ["Айгерим Садыкова"]
    assert names("САДЫКОВА") == ["Айгерим Садыкова"]
    assert names("құралай") == ["ҚҰРАЛАЙ ӨМІРБЕК"]
    assert names("петр елкин") == ["Пётр Ёлкин"]  # ё = е
    assert names("timur@") == ["Timur Kasymov"]
    assert names("KASYMOV") == ["Timur Kasymov"]
    assert names("%") == [] and names("_") == []
    assert len(names("")) == 4
