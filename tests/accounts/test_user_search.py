"""The admin's user search folds letter case in every alphabet, as the product search does."""
from __future__ import annotations


import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from marketplace.accounts.queries import search_users
from marketplace.accounts.services import update_profile
from marketplace.core.extensions import db
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


def test_kazakh_and_kyrgyz_names_are_found_from_a_russian_keyboard_and_in_latin_letters(ctx):
    # Found in the tryout (demo admin, both databases): "Гүлмира" finds Гүлмира Асанова, but
    # "Гулмира" (a Russian keyboard has no ү), "gulmira", "asanova", "zhyldyz" and "erkin" find no one;
    # "sadykov" finds Gulnara Sadykova and not Эркин Садыков. Issue 22 asks for the catalog's
    # normalisation here, and the catalog finds "сүт" from "сут" and "sut".
    UserFactory(name="Гүлмира Асанова", email="g@example.test")
    UserFactory(name="Жылдыз Мамбетова", email="z@example.test")
    UserFactory(name="Эркин Садыков", email="e@example.test")
    UserFactory(name="Gulnara Sadykova", email="s@example.test")
    names = lambda text: sorted(user.name for user in search_users(text, 1).items)  # noqa: E731
    assert names("гулмира") == ["Гүлмира Асанова"]
    assert names("gulmira") == ["Гүлмира Асанова"]
    assert names("asanova") == ["Гүлмира Асанова"]
    assert names("zhyldyz") == ["Жылдыз Мамбетова"]
    assert names("sadykov") == ["Gulnara Sadykova", "Эркин Садыков"]


def test_a_changed_name_or_email_is_found_by_its_new_sound(ctx):
    user = UserFactory(name="Айгуль Бекова", email="a@example.test")
    update_profile(user, "Гүлмира Асанова", None, None)
    db.session.commit()
    names = lambda text: [found.name for found in search_users(text, 1).items]  # noqa: E731
    assert names("gulmira") == ["Гүлмира Асанова"] and names("aigul") == []
    user.email = "Zhyldyz@Example.test"
    db.session.commit()
    assert names("жылдыз") == ["Гүлмира Асанова"]  # the email's words sound the same in Cyrillic


BEFORE, AFTER = "0015_product_orderable_until", "0016_user_search_key"


def test_the_users_there_were_before_the_migration_are_found_by_sound(fresh_app):
    with fresh_app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            for email, name in [("g@example.test", "Гүлмира Асанова"), ("e@example.test", "Эркин Садыков")]:
                conn.execute(sa.text("INSERT INTO \"user\" (email, password_hash, name, session_token, active, "
                                     "created_at) VALUES (:email, 'x', :name, :token, true, CURRENT_TIMESTAMP)"),
                             {"email": email, "name": name, "token": email})
        upgrade(revision=AFTER)
        upgrade()  # the search reads the model, whose later columns (0018's last_locale) must exist
        names = lambda text: sorted(user.name for user in search_users(text, 1).items)  # noqa: E731
        assert names("гулмира") == ["Гүлмира Асанова"]
        assert names("sadykov") == ["Эркин Садыков"]
        db.session.remove()
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            assert "search_key" not in {c["name"] for c in sa.inspect(conn).get_columns("user")}
