"""The admin extends the vocabulary: a word added to a group finds the group's products at
once (their index is rebuilt by the reindex task), a new group, a word taken out again;
`flask reindex-search`; only admins."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.search import services, tasks
from marketplace.search.models import SearchWord, VocabularyEntry
from tests.factories import UserFactory
from tests.search.conftest import found


@pytest.fixture
def admin(ctx):
    return UserFactory(email="admin@example.test", roles=[Role.ADMIN])


def test_a_word_added_to_a_group_finds_its_products(client, login, listed, admin):
    listed("Картофель молодой")
    listed("Бульба синеглазка")  # a word the vocabulary does not know yet
    assert found("бульба") == ["Бульба синеглазка"]
    assert found("картоп") == ["Картофель молодой"]
    login("admin@example.test")
    response = client.post("/admin/vocabulary/potato", data={"language": "ru", "word": "Бульба"})
    assert response.status_code == 302
    assert "бульба" in {e.word for e in db.session.scalars(select(VocabularyEntry))}
    assert set(found("картоп")) == {"Картофель молодой", "Бульба синеглазка"}  # reindexed by the task
    assert set(found("бульба")) == {"Картофель молодой", "Бульба синеглазка"}
    page = client.get("/admin/vocabulary/potato").get_data(as_text=True)
    assert "Бульба" in page and "Remove" in page


def test_a_word_taken_out_stops_finding_the_group(client, login, listed, admin):
    listed("Бульба синеглазка")
    listed("Картофель молодой")
    login("admin@example.test")
    client.post("/admin/vocabulary/potato", data={"language": "ru", "word": "бульба"})
    entry = db.session.scalar(select(VocabularyEntry).where(VocabularyEntry.word == "бульба"))
    client.post(f"/admin/vocabulary/words/{entry.id}/remove")
    assert found("картоп") == ["Картофель молодой"]
    assert found("бульба") == ["Бульба синеглазка"]


def test_a_new_group_in_four_languages(client, login, listed, admin):
    listed("Сумаляк домашний")
    listed("Sümölök")
    login("admin@example.test")
    response = client.post("/admin/vocabulary", data={"ru": "Сумаляк", "kk": "Сүмелек", "ky": "Сүмөлөк",
                                                      "en": "Sumalak", "latin": "sumolok", "category": "preserves"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/admin/vocabulary/sumalak")
    assert set(found("сүмөлөк")) == {"Сумаляк домашний", "Sümölök"}
    assert set(found("sumalak")) == {"Сумаляк домашний", "Sümölök"}
    assert "Сүмелек" in client.get("/admin/vocabulary", query_string={"q": "сүмелек"}).get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    ({"language": "ru", "word": "картоп"}, "already in the group"),        # a word of another group
    ({"language": "ru", "word": "kartoshka"}, "not written in the letters"),
    ({"language": "en", "word": "картошка"}, "not written in the letters"),
    ({"language": "ky", "word": "қарақат"}, "not written in the letters"),  # Kazakh letters in Kyrgyz
    ({"language": "ru", "word": "раз два три четыре пять"}, "at most four words"),
    ({"language": "xx", "word": "бульба"}, "Not a valid choice"),
])
def test_a_wrong_word_is_refused_beside_its_field(client, login, admin, data, message):
    login("admin@example.test")
    response = client.post("/admin/vocabulary/potato", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(VocabularyEntry)) is None


def test_only_admins_see_the_vocabulary(client, login, ctx):
    UserFactory(email="shopper@example.test")
    assert client.get("/admin/vocabulary").status_code == 302  # to the login page
    login("shopper@example.test")
    assert client.get("/admin/vocabulary").status_code == 404
    assert client.post("/admin/vocabulary/potato", data={"language": "ru", "word": "бульба"}).status_code == 404
    assert db.session.scalar(select(VocabularyEntry)) is None


def test_an_unknown_group_is_404(client, login, admin):
    login("admin@example.test")
    for group in ("no_such_group", "POTATO", "x" * 300, "potato%00"):
        assert client.get(f"/admin/vocabulary/{group}").status_code == 404


def test_a_full_reindex_rebuilds_columns_and_word_list(app, listed):
    product = listed("Картофель молодой")
    product.search_text = " stale | "
    db.session.add(SearchWord(word="забытое", key="zabitoe", letters="abeiotz", weight=3))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reindex-search"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert found("картоп") == ["Картофель молодой"]
    words = set(db.session.scalars(select(SearchWord.word)))
    assert "картофель" in words and "potato" in words and "забытое" not in words
    assert services.index_is_current()
    assert "current" in runner.invoke(args=["reindex-search", "--if-changed"]).output


def test_the_hourly_check_reindexes_only_after_a_change(listed, admin):
    listed("Картофель молодой")
    tasks.reindex()
    assert tasks.reindex_search_if_changed() == "the index is current"
    services.add_word(admin, "potato", "ru", "бульба")
    db.session.commit()
    assert not services.index_is_current()
    assert tasks.reindex_search_if_changed().startswith("indexed")
    assert services.index_is_current()


def test_a_word_another_admin_added_a_moment_ago_is_refused_not_an_error(admin, ctx):
    from marketplace.search.vocabulary import current_vocabulary

    current_vocabulary()  # this process read the rows before the other admin's word came
    db.session.add(VocabularyEntry(group_id="potato", language="ru", written="бульба", word="бульба"))
    db.session.commit()
    with pytest.raises(services.VocabularyRefused):
        services.add_word(admin, "potato", "ru", "Бульба")
    db.session.rollback()
    assert db.session.scalar(select(func.count(VocabularyEntry.id))) == 1
