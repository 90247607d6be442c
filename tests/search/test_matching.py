"""What a search finds and in which order: synonyms, word forms, alphabets, typos, the name
first, the shopper's market first (service level, both databases)."""
from __future__ import annotations

from marketplace.search.queries import plan_search
from tests.factories import CategoryFactory, MarketFactory, ProducerFactory
from tests.search.conftest import found


def test_a_product_is_found_by_any_word_of_its_group_in_any_alphabet(listed):
    listed("Картофель молодой")
    listed("Мёд горный")
    listed("Кымыз")
    for query in ("картоп", "potatoes", "kartofel", "картошка", "картофеля", "картошкалар", "КАРТОФЕЛЬ"):
        assert found(query) == ["Картофель молодой"], query
    for query in ("бал", "bal", "honey", "мёду", "балды", "myod"):
        assert found(query) == ["Мёд горный"], query
    for query in ("kymyz", "qymyz", "kumis", "қымыз", "кумыс", "кымызды"):
        assert found(query) == ["Кымыз"], query


def test_a_category_name_in_any_language_finds_its_products(listed):
    honey = CategoryFactory(slug="honey-x", name="Honey")
    listed("Акация", category=honey)
    listed("Морковь")
    for query in ("honey", "мёд", "бал"):
        assert found(query) == ["Акация"], query


def test_every_word_must_be_found(listed):
    listed("Мёд горный")
    listed("Мёд степной")
    assert found("мёд горный") == ["Мёд горный"]
    assert found("мёд картоп") == []


def test_a_typo_finds_the_product_and_says_what_it_meant(listed):
    listed("Картофель молодой")
    listed("Молоко коровье")
    listed("Шырдак")
    for typo, name, meant in [("картофль", "Картофель молодой", "картофель"), ("малоко", "Молоко коровье", "молоко"),
                              ("mlik", "Молоко коровье", "milk"), ("шырдк", "Шырдак", "шырдак")]:
        assert found(typo) == [name], typo
        assert plan_search(typo).suggestion == meant, typo


def test_what_matches_as_typed_comes_before_a_typo_correction(listed):
    listed("Картофель молодой")
    listed("Картофльная запеканка")  # begins with what was typed
    assert found("картофль") == ["Картофльная запеканка", "Картофель молодой"]


def test_a_word_being_typed_finds_the_words_it_begins(listed):
    listed("Эспарцетовый мёд")
    listed("Курут")
    assert found("эспарц") == ["Эспарцетовый мёд"]
    assert found("ку") == ["Курут"]
    assert found("espartset") == ["Эспарцетовый мёд"]  # the start of its sound in Latin letters


def test_a_vocabulary_word_is_not_taken_for_the_start_of_another(listed):
    listed("Чайник глиняный")
    listed("Чай горный")
    assert found("чай") == ["Чай горный"]
    listed("Honeysuckle jam")
    assert "Honeysuckle jam" not in found("honey")


def test_the_name_comes_before_the_description_and_the_producer(listed):
    listed("Варенье", description="с мёдом и яблоками")
    listed("Курт", producer=ProducerFactory(name="Honey Farm"))
    listed("Мёд акациевый")
    assert found("мёд") == ["Мёд акациевый", "Варенье"]
    # A producer's name is read for its words, not for their synonyms.
    assert found("honey") == ["Мёд акациевый", "Варенье", "Курт"]


def test_the_shoppers_market_comes_first(listed, market):
    other = MarketFactory(slug="osh-bazaar")
    listed("Мёд горный", at=other)
    listed("Мёд степной")
    assert found("мёд", market_id=other.id)[0] == "Мёд горный"
    assert found("мёд", market_id=market.id)[0] == "Мёд степной"


def test_a_query_without_words_finds_nothing(listed):
    listed("Сыр 45% жирности")
    for query in ("%", "_", "\\", "45%", "1=1 --", "😀", "\u202e\u200f"):
        assert found(query) == [], query


def test_long_and_hostile_queries_are_words_like_any_other(listed):
    listed("Мёд горный")
    assert found("мёд " + "я" * 10_000) == []
    assert found("мёд' OR '1'='1") == ["Мёд горный"]  # "or" joins words, numbers are none: мёд is left
    assert found("мёд) OR (1=1") == ["Мёд горный"]
    assert found("мёд\\") == ["Мёд горный"]
    assert found("\u202eмёд\u200f") == ["Мёд горный"]


def test_a_stress_mark_copied_with_a_word_is_not_a_break_in_it(listed):
    # Found in the tryout: "Ма́сло" pasted from a dictionary (а + U+0301, no precomposed letter)
    # was split into "ма" and "сло" and found nothing, though "масло" finds the butter.
    listed("Масло топлёное")
    assert found("Ма\u0301сло") == ["Масло топлёное"]
    assert found("масло") == ["Масло топлёное"]
