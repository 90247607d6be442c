"""The product vocabulary file: enough groups, honest spellings, no word in two groups,
the demo's categories and products covered; and loading extra rows."""
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from marketplace.core.text import words
from marketplace.core.translit import sound_key
from marketplace.core.vocabulary import (
    VOCABULARY_PATH, Vocabulary, VocabularyError, default_vocabulary, groups_from_rows, load_vocabulary,
    parse_rows, synonyms,
)
from marketplace.core.wordforms import analyse
from marketplace.demo import CATEGORIES, PRODUCERS

TRANSLATIONS = Path(__file__).resolve().parents[2] / "marketplace" / "translations"
#: Sound keys two groups share on purpose; a word's own spelling is looked up before its key,
#: so each of these words still finds its own group.
SHARED_KEYS = {
    "nut": {"nuts", "chickpeas"},  # English nut; Russian нут (chickpeas)
    "kon": {"melon", "horse"},  # Kyrgyz коон (melon); Russian конь (horse)
}
#: Stems two groups share: Russian Snowball reads the loan word казы as a plural of "каз",
#: Kyrgyz for goose. Both words are found by their exact form first.
SHARED_BASES = {"каз": {"kazy", "goose"}}

CYRILLIC_PHRASE = re.compile(r"^[а-яёәғқңөұүһі]+(?:[ -][а-яёәғқңөұүһі]+)*$")
LATIN_PHRASE = re.compile(r"^[a-zäöüşçğıñ']+(?:[ -][a-zäöüşçğıñ']+)*$")
KAZAKH_ONLY_LETTERS = set("әғқұһі")
KYRGYZ_AND_KAZAKH_LETTERS = set("ңөү")


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return default_vocabulary()


@pytest.fixture(scope="module")
def raw_rows() -> list[dict[str, str]]:
    with VOCABULARY_PATH.open(encoding="utf-8") as lines:
        return parse_rows(lines)


def groups_of(vocabulary: Vocabulary, text: str) -> set[str]:
    return set().union(*vocabulary.match([analyse(word) for word in words(text)]))


def test_at_least_200_groups_each_with_a_russian_and_an_english_word(vocabulary):
    assert len(vocabulary.groups) >= 200
    for group in vocabulary.groups.values():
        languages = {language for language, _ in group.words}
        assert {"ru", "en"} <= languages, group.id


def test_each_group_id_is_on_one_line_only(raw_rows):
    ids = [row["group"] for row in raw_rows]
    assert len(ids) == len(set(ids)), sorted({group_id for group_id in ids if ids.count(group_id) > 1})


def test_words_are_written_in_the_alphabet_of_their_column(vocabulary):
    for group in vocabulary.groups.values():
        for language, word in group.words:
            lowered = word.lower()
            if language in ("en", "latin"):
                assert LATIN_PHRASE.match(lowered), (group.id, language, word)
                continue
            assert CYRILLIC_PHRASE.match(lowered), (group.id, language, word)
            if language == "ru":
                assert not set(lowered) & (KAZAKH_ONLY_LETTERS | KYRGYZ_AND_KAZAKH_LETTERS), (group.id, word)
            if language == "ky":  # Kyrgyz has ң ө ү, but none of ә ғ қ ұ һ і
                assert not set(lowered) & KAZAKH_ONLY_LETTERS, (group.id, word)


def test_no_word_belongs_to_two_groups(vocabulary):
    owners: dict[tuple[str, ...], set[str]] = {}
    for group in vocabulary.groups.values():
        for phrase in group.phrases():
            owners.setdefault(phrase, set()).add(group.id)
    assert {phrase: ids for phrase, ids in owners.items() if len(ids) > 1} == {}


def test_sound_keys_and_stems_of_different_groups_only_meet_where_known(vocabulary):
    keys: dict[str, set[str]] = {}
    for group in vocabulary.groups.values():
        for phrase in group.phrases():
            if len(phrase) == 1 and sound_key(phrase[0]):
                keys.setdefault(sound_key(phrase[0]), set()).add(group.id)
    assert {key: ids for key, ids in keys.items() if len(ids) > 1} == SHARED_KEYS
    assert {base: ids for base, ids in vocabulary._bases.items() if len(ids) > 1} == SHARED_BASES


def test_categories_are_the_demo_category_keys_and_each_has_groups(vocabulary):
    demo_keys = {key for key, _ in CATEGORIES}
    used = {group.category for group in vocabulary.groups.values()}
    assert used - {""} <= demo_keys
    assert demo_keys <= used


@pytest.mark.parametrize("language", ["ru", "kk", "ky", "en"])
def test_every_category_name_in_every_language_finds_a_group_of_its_category(vocabulary, language):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    for key, english in CATEGORIES:
        name = catalog[english].string or english
        categories = {vocabulary.groups[group_id].category for group_id in groups_of(vocabulary, name)}
        assert key in categories, (language, key, name)


@pytest.mark.parametrize("name, category", [
    (name, category) for producer in PRODUCERS for name, category, *_ in producer[8]
])
def test_every_demo_product_name_finds_a_group_of_its_category(vocabulary, name, category):
    categories = {vocabulary.groups[group_id].category for group_id in groups_of(vocabulary, name)}
    assert category in categories, (name, groups_of(vocabulary, name))


@pytest.mark.parametrize("text, group_id", [
    ("картофель", "potato"), ("картошка", "potato"), ("картоп", "potato"), ("potato", "potato"),
    ("potatoes", "potato"), ("kartofel", "potato"), ("картофеля", "potato"), ("kartoshkalar", "potato"),
    ("мёд", "honey"), ("мёду", "honey"), ("бал", "honey"), ("балды", "honey"), ("honey", "honey"), ("myod", "honey"),
    ("молоко", "milk"), ("сүт", "milk"), ("sut", "milk"), ("süt", "milk"), ("milk", "milk"),
    ("кумыс", "kumis"), ("қымыз", "kumis"), ("кымыз", "kumis"), ("kumis", "kumis"), ("kymyz", "kumis"),
    ("qymyz", "kumis"), ("koumiss", "kumis"),
    ("шырдак", "shyrdak"), ("shyrdak", "shyrdak"), ("shirdak", "shyrdak"), ("сырмақ", "shyrdak"),
    ("войлок", "felt"), ("киіз", "felt"), ("felt", "felt"),
    ("яблоки", "apple"), ("алмалар", "apple"), ("almalar", "apple"),
    ("курт", "kurt"), ("qurt", "kurt"), ("ірімшік", "irimshik"), ("сузьма", "tvorog"), ("айран", "ayran"),
    ("конина", "horse_meat"), ("казы", "kazy"), ("қазы", "kazy"), ("шұжық", "shuzhuk"),
    ("баурсаки", "baursak"), ("бауырсақ", "baursak"), ("лепёшка", "flatbread"), ("нан", "bread"),
])
def test_a_word_finds_its_group(vocabulary, text, group_id):
    assert groups_of(vocabulary, text) == {group_id}


@pytest.mark.parametrize("text, group_id", [
    ("сары май", "butter"), ("қара өрік", "plum"), ("кара өрүк", "plum"), ("Honey comb", "honeycomb"),
    ("sea buckthorn", "sea_buckthorn"), ("сиыр еті", "beef"), ("грек жаңғағы", "walnut"),
    ("Ала-кийиз", "ala_kiyiz"), ("қара бидай", "rye"), ("сүт өнімдері", "dairy"),
])
def test_a_phrase_is_matched_before_its_words(vocabulary, text, group_id):
    assert groups_of(vocabulary, text) == {group_id}


def test_synonyms_are_the_words_of_the_group():
    assert {"мед", "бал", "honey"} <= synonyms("мёду")
    assert {"картофель", "картошка", "картоп", "potato", "kartofel"} <= synonyms("картоп")
    assert "сары май" in synonyms("butter")
    assert synonyms("шкаф-купе") == set()


def test_extra_rows_extend_a_group_or_add_one(vocabulary):
    extended = vocabulary.extended([
        {"group": "potato", "category": "", "ky": "картөшкө"},
        {"group": "quinoa", "category": "vegetables", "ru": "киноа", "en": "quinoa"},
    ])
    assert groups_of(extended, "картөшкө") == {"potato"}
    assert groups_of(extended, "киноа") == {"quinoa"}
    assert extended.groups["potato"].category == "vegetables"
    assert "картөшкө" not in synonyms("картоп"), "the versioned vocabulary itself is unchanged"


def test_a_file_with_a_wrong_header_or_too_many_columns_is_refused():
    with pytest.raises(VocabularyError):
        parse_rows(["# comment", "group\tru\ten"])
    with pytest.raises(VocabularyError):
        parse_rows(["group\tcategory\tru\tkk\tky\ten\tlatin", "a\tb\tc\td\te\tf\tg\th"])
    with pytest.raises(VocabularyError):
        groups_from_rows([{"group": " ", "ru": "слово"}])
    with pytest.raises(VocabularyError):
        Vocabulary(groups_from_rows([{"group": "long", "en": "one two three four five"}]))


def test_the_versioned_file_loads_the_same_as_the_cached_vocabulary(tmp_path, vocabulary):
    copy = tmp_path / "vocabulary.tsv"
    copy.write_text(VOCABULARY_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_vocabulary(copy).groups == vocabulary.groups
    assert default_vocabulary() is vocabulary
