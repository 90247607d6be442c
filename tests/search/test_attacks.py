"""An attack on search (#22) from outside: hostile queries through HTTP, what suggestions and
"did you mean" give away, the cost of a query, and the admin's vocabulary page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.core.search_terms import STOPWORDS
from marketplace.core.vocabulary import VOCABULARY_PATH, VocabularyError, default_vocabulary, load_vocabulary
from marketplace.markets.models import VendorStatus
from marketplace.search import services, views
from marketplace.search.models import VocabularyEntry
from marketplace.search.queries import plan_search
from tests.catalog.conftest import names_on
from tests.concurrency import run_together
from tests.conftest import PASSWORD
from tests.factories import MarketFactory, ProducerFactory, UserFactory
from tests.search.conftest import found

HOSTILE_QUERIES = [
    '"', '""', '"мёд', "мёд*", "NEAR(мёд бал)", "мёд OR бал", "мёд -бал", "^мёд", "name:мёд", "{name}: мёд",
    "мёд AND", "NOT", "OR", "' OR 1=1 --", "'; DROP TABLE product; --", "%", "_", "\\", "a%b_c\\", "\x00",
    "\x00мёд", "мёд\x01\x1b", "\u202eдём", "\u200b", "\ufeff", "~honey", "|", "||", "мёд | бал", "мёд" + "я" * 10_000,
    " ".join(["мёд"] * 1000), " ".join(f"w{i}" for i in range(1000)), "蜂蜜", "عسل", "शहद", "𝔪𝔢𝔡", "ﬀ", "İ", "ß", "a" * 41,
]

#: Query strings no form sends: raw bytes that are no UTF-8, arrays, repeated and absurd arguments.
HOSTILE_QUERY_STRINGS = [
    "q=%FF%FE", "q=%ED%A0%80", "q=%C0%AE", "q=%00", "q=%E2%80%AE%D0%BC", "q=a&q=b&q=%25", "q[]=x", "q=%%",
    "q=%zz", "page=abc&q=x", "page=-1&q=x", "page=99999999999999999999&q=x", "page=1e9&q=x",
    "page=%EF%BC%91&q=x", "page=2&page=3&q=x", "q=x&sort=name&sort=price&category=a&category=b&market=*&market=x",
    "page=100000&q=%D0%BC%D1%91%D0%B4", "page=0", "q=%D0%BC%D1%91%D0%B4&page=-99999999999999999999999",
]


@pytest.fixture(autouse=True)
def _fresh_answers():
    views._suggestions.entries.clear()
    yield
    views._suggestions.entries.clear()


@pytest.fixture
def admin(ctx):
    return UserFactory(email="admin@example.test", roles=[Role.ADMIN])


def suggestions(client, q):
    response = client.get("/search/suggest", query_string={"q": q})
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()["suggestions"]


def did_you_mean(client, q) -> bool:
    return "Did you mean:" in client.get("/products", query_string={"q": q}).get_data(as_text=True)


# --- Hostile queries -------------------------------------------------------------------------

@pytest.mark.parametrize("q", HOSTILE_QUERIES)
def test_a_hostile_query_is_answered_as_text(client, listed, q):
    listed("Мёд горный")
    for path in ("/products", "/search/suggest"):
        assert client.get(path, query_string={"q": q}).status_code == 200, (path, q)


@pytest.mark.parametrize("query_string", HOSTILE_QUERY_STRINGS)
def test_hostile_arguments_are_answered_not_a_500(client, listed, query_string):
    listed("Мёд горный")
    for path in ("/products", "/search/suggest", "/admin/vocabulary"):
        assert client.get(f"{path}?{query_string}").status_code in (200, 302), (path, query_string)


def test_search_syntax_is_not_obeyed(client, listed):
    listed("Мёд горный")
    listed("Бал тау")
    listed("Курут")
    for q in ("OR", "NOT", "NEAR", "*", '"', "мёд OR курут", "name:курут"):
        assert "Курут" not in names_on(client.get("/products", query_string={"q": q})) or "курут" in q.split(), q
    assert names_on(client.get("/products", query_string={"q": "мёд OR курут"})) == []  # both words, not either


# --- What suggestions and "did you mean" give away --------------------------------------------

def test_hidden_products_are_never_found(client, listed):
    listed("Зефир яблочный", active=False)
    listed("Пастила яблочная", vendor_status=VendorStatus.SUSPENDED)
    listed("Чурчхела ореховая", vendor_status=VendorStatus.APPLIED)
    listed("Курага яблочная", at=MarketFactory(slug="closed-bazaar", active=False))  # its only market closed
    listed("Яблочный уксус")
    for q in ("зефир", "пастила", "чурчхела", "курага", "яблочный", "зефр", "пастла", "курага яблочная"):
        assert set(names_on(client.get("/products", query_string={"q": q}))) <= {"Яблочный уксус"}, q


@pytest.mark.parametrize("hidden", [
    {"active": False},                                 # the producer took it off sale
    {"vendor_status": VendorStatus.SUSPENDED},         # its producer is suspended at the market
    {"vendor_status": VendorStatus.APPLIED},           # its producer is not approved yet
])
def test_suggestions_never_offer_the_words_of_a_hidden_product(client, listed, hidden):
    listed("Зефиркин секретный", **hidden)
    listed("Картофель молодой")
    assert suggestions(client, "карт")[0] == "картофель"  # the endpoint works...
    assert suggestions(client, "зеф") == []  # ...but the name of a product nobody may see is not offered
    assert suggestions(client, "секр") == []


@pytest.mark.parametrize("hidden", [{"active": False}, {"vendor_status": VendorStatus.SUSPENDED}])
def test_did_you_mean_never_names_a_hidden_product(client, listed, hidden):
    listed("Зефиркин секретный", **hidden)
    listed("Картофель молодой")
    assert did_you_mean(client, "картофль")
    # A correction that finds nothing but a hidden product: it tells what the producer hides, and leads nowhere.
    assert not did_you_mean(client, "зефиркн")


# --- Cost --------------------------------------------------------------------------------------

def test_a_repeated_word_is_searched_once(listed):
    listed("Картофель молодой")
    listed("Капуста белокочанная")
    # "ка" eight times made eight copies of a costly condition (each word: its completions and
    # typo candidates, ranked in three parts): 3-4 times the time of one "ка" on 50,000 products.
    assert [word.word for word in plan_search("ка ка ка ка ка ка ка ка").words] == ["ка"]
    assert [word.word for word in plan_search("мёд Мёд МЁД мед").words] == ["мед"]
    assert found("ка ка ка ка ка ка ка ка") == found("ка")
    # ...and repeated words do not push a word that was typed after them out of the query
    assert found(" ".join(["картофель"] * 8 + ["капуста"])) == []


# --- The admin's vocabulary page ---------------------------------------------------------------

@pytest.mark.parametrize("role", [None, Role.CUSTOMER, Role.PRODUCER, Role.ORGANIZER])
def test_only_an_admin_reaches_the_vocabulary_pages(client, login, admin, role):
    entry = services.add_word(admin, "potato", "ru", "бульба")
    db.session.commit()
    if role is not None:
        user = UserFactory(email="someone@example.test", roles=[role])
        if role is Role.PRODUCER:
            ProducerFactory(user=user)
        login(user.email)
    expected = 302 if role is None else 404
    assert client.get("/admin/vocabulary").status_code == expected
    assert client.get("/admin/vocabulary/potato").status_code == expected
    assert client.post("/admin/vocabulary", data={"en": "kvass", "ru": "квас"}).status_code == expected
    assert client.post("/admin/vocabulary/potato", data={"language": "ru", "word": "картопля"}).status_code == expected
    assert client.post(f"/admin/vocabulary/words/{entry.id}/remove").status_code == expected
    db.session.expire_all()
    assert [e.word for e in db.session.scalars(select(VocabularyEntry))] == ["бульба"]


def test_a_form_without_its_csrf_token_changes_nothing(app, client, login, admin, monkeypatch):
    entry = services.add_word(admin, "potato", "ru", "бульба")
    db.session.commit()
    login(admin.email)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post("/admin/vocabulary", data={"en": "kvass", "ru": "квас"}).status_code in (200, 400)
    assert client.post("/admin/vocabulary/potato", data={"language": "ru", "word": "картопля"}).status_code in (200, 400)
    assert client.post(f"/admin/vocabulary/words/{entry.id}/remove").status_code == 400
    db.session.expire_all()
    assert [e.word for e in db.session.scalars(select(VocabularyEntry))] == ["бульба"]


@pytest.mark.parametrize("word", [
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "бульба<b>", "javascript:alert(1)",
    "б" * 101, "бульба\x01", "бульба\u202e", "",
])
def test_markup_and_junk_are_refused_as_words(client, login, admin, word):
    login(admin.email)
    response = client.post("/admin/vocabulary/potato", data={"language": "ru", "word": word})
    assert response.status_code == 200
    assert "<script>alert" not in response.get_data(as_text=True) and "<img src=x" not in response.get_data(as_text=True)
    assert db.session.scalar(select(VocabularyEntry)) is None


def test_the_vocabulary_filter_is_shown_as_text(client, login, admin):
    login(admin.email)
    html = client.get("/admin/vocabulary", query_string={"q": '"><script>alert(1)</script>'}).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("language, word", [("ru", "и"), ("ru", "для"), ("kk", "мен"), ("en", "the"), ("en", "a")])
def test_a_joining_word_is_refused_it_would_put_every_product_in_the_group(client, login, listed, admin,
                                                                           language, word):
    listed("Картофель молодой")
    listed("Шырдак", description="войлок и шерсть, для дома and for the home, a gift")
    login(admin.email)
    response = client.post("/admin/vocabulary/potato", data={"language": language, "word": word})
    assert response.status_code == 200 and "only joins other words" in response.get_data(as_text=True)
    assert db.session.scalar(select(VocabularyEntry)) is None
    assert found("картоп") == ["Картофель молодой"]


@pytest.mark.parametrize("language, word", [("en", "'"), ("en", "''' '"), ("latin", "'")])
def test_a_word_without_a_letter_is_refused(client, login, admin, language, word):
    login(admin.email)
    response = client.post("/admin/vocabulary/potato", data={"language": language, "word": word})
    assert response.status_code == 200
    assert db.session.scalar(select(VocabularyEntry)) is None
    response = client.post("/admin/vocabulary", data={"en": word})
    assert response.status_code == 200
    assert db.session.scalar(select(VocabularyEntry)) is None


def two_admins_logged_in(app, admin) -> list:
    """A client for `admin` and one for a second admin, each logged in."""
    emails = [admin.email, UserFactory(email="admin2@example.test", roles=[Role.ADMIN]).email]
    clients = [app.test_client() for _ in emails]
    for client, email in zip(clients, emails, strict=True):
        assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return clients


def test_two_admins_adding_one_word_at_once_add_it_once(app, listed, admin):
    listed("Бульба синеглазка")
    clients = two_admins_logged_in(app, admin)
    codes = run_together(app, [
        lambda client=client: client.post("/admin/vocabulary/potato", data={"language": "ru", "word": "Бульба"}).status_code
        for client in clients])
    assert sorted(codes) == [200, 302]  # one added it, the other is told it is there now
    assert [e.word for e in db.session.scalars(select(VocabularyEntry))] == ["бульба"]
    assert found("картоп") == ["Бульба синеглазка"]


# --- The vocabulary file -----------------------------------------------------------------------

def test_the_vocabulary_file_holds_no_joining_word_as_a_word_of_a_group():
    # A joining word in a group would put every product whose text says it in the group (as
    # the admin's page refuses it).
    for group in default_vocabulary().groups.values():
        assert not [phrase for phrase in group.phrases() if len(phrase) == 1 and phrase[0] in STOPWORDS], group.id


def test_a_vocabulary_file_that_is_not_utf8_is_refused_saying_where(tmp_path):
    broken = tmp_path / "vocabulary.tsv"
    broken.write_bytes(VOCABULARY_PATH.read_bytes() + "potato_2\tvegetables\tбульба".encode("cp1251") + b"\n")
    with pytest.raises(VocabularyError, match="not UTF-8"):
        load_vocabulary(broken)


def test_the_longest_words_the_form_takes_are_stored(client, login, listed, admin):
    login(admin.email)
    longest = "б" * 100
    phrase = " ".join(["бульбабульбабульбабульбабульба"] * 3 + ["б" * 7])  # four words, 100 characters
    for word in (longest, phrase):
        assert client.post("/admin/vocabulary/potato", data={"language": "ru", "word": word}).status_code == 302, word
    response = client.post("/admin/vocabulary", data={language: ("q" if language in ("en", "latin") else "қ") * 100
                                                      for language in ("kk", "en", "latin")})
    assert response.status_code == 200 and "Each language needs its own word" in response.get_data(as_text=True)
    response = client.post("/admin/vocabulary", data={"en": "q" * 100, "kk": "қ" * 100})
    assert response.status_code == 302
    assert db.session.scalar(select(VocabularyEntry).where(VocabularyEntry.language == "en")).group_id == "q" * 50
    assert client.get("/products", query_string={"q": longest}).status_code == 200
    assert client.get("/search/suggest", query_string={"q": "бульбабульб"}).status_code == 200


def test_two_admins_taking_one_word_out_at_once_is_no_error(app, listed, admin):
    listed("Бульба синеглазка")
    entry_id = services.add_word(admin, "potato", "ru", "бульба").id
    db.session.commit()
    clients = two_admins_logged_in(app, admin)
    codes = run_together(app, [lambda client=client: client.post(f"/admin/vocabulary/words/{entry_id}/remove").status_code
                               for client in clients])
    assert 500 not in codes and 302 in codes, codes
    assert db.session.scalar(select(VocabularyEntry)) is None
    assert found("бульба") == ["Бульба синеглазка"] and found("картоп") == []
