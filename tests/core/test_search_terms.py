"""Index and query terms: the words of issue 22's "Done when" find their products, word by word."""
import ast
from pathlib import Path

import pytest

from marketplace.core.search_terms import (
    DESCRIPTION_END,
    NAME_END,
    WEIGHT_GROUP,
    WEIGHT_NAME,
    WEIGHT_OTHER,
    index_terms,
    index_text,
    query_terms,
    query_words,
    word_forms,
)

CORE = Path(__file__).resolve().parents[2] / "marketplace" / "core"


def finds(query: str, *texts: str) -> bool:
    """Every query word has an alternative among the product's terms (whole terms, as stored)."""
    stored = set(index_terms(*texts).split())
    return all(alternatives & stored for alternatives in query_terms(query))


@pytest.mark.parametrize("query, name", [
    ("картоп", "Картофель молодой"), ("potato", "Картофель таласский"), ("potatoes", "Картофель молодой"),
    ("kartofel", "Картофель молодой"), ("картошка", "Картофель таласский"), ("картофеля", "Картофель молодой"),
    ("sut", "Молоко коровье"), ("сүт", "Молоко коровье"), ("milk", "Молоко коровье"),
    ("bal", "Мёд горный"), ("бал", "Мёд донниковый"), ("honey", "Мёд степной разнотравье"), ("мёду", "Мёд горный"),
    ("балды", "Мёд горный"), ("kymyz", "Кымыз (kymyz)"), ("qymyz", "Кымыз (kymyz)"), ("kumis", "Кымыз (kymyz)"),
    ("қымыз", "Кымыз (kymyz)"), ("кумыс", "Кымыз (kymyz)"), ("shyrdak", "Шырдак 1×1,5 м"),
    ("яблоки", "Яблоки апорт"), ("алмалар", "Яблоки апорт"), ("apples", "Яблоки апорт"),
    ("felt", "Войлочная сумка"), ("кийиз", "Войлочные тапочки"), ("sea buckthorn", "Облепиха"),
    ("шырғанақ", "Варенье из облепихи"), ("тосап", "Варенье из абрикоса"), ("сары май", "Сливочное масло"),
    ("butter", "Сары май"), ("қазы", "Казы"), ("lamb", "Баранина (lamb)"), ("қой еті", "Баранина (lamb)"),
    ("жұмыртқа", "Яйца куриные"), ("бауырсақ", "Баурсаки"), ("нан", "Лепёшка тандырная"),
    ("kese", "Кесе расписное"), ("teapot", "Ceramic teapot"), ("шәйнек", "Ceramic teapot"),
    ("ложка", "Ложка деревянная"), ("қасық", "Ложка деревянная"), ("фасоль", "Фасоль белая таласская"),
    ("төө буурчак", "Фасоль красная"), ("өрүк", "Абрикосы сушёные"), ("rosehip", "Шиповник сушёный"),
])
def test_a_query_word_finds_the_product_it_means(query, name):
    assert finds(query, name)


@pytest.mark.parametrize("query, name", [
    ("картоп", "Молоко коровье"), ("kymyz", "Айран"), ("бал", "Балык копчёный"), ("қара өрік", "Абрикосы сушёные"),
    ("қазы", "Гусь домашний"), ("мёд", "Картофель молодой"), ("honey", "Honeysuckle jam"),
])
def test_a_query_word_does_not_find_a_product_of_another_group(query, name):
    assert not finds(query, name)


def test_each_query_word_gets_its_own_alternatives():
    alternatives = query_terms("Мёд, картоп!")
    assert len(alternatives) == 2
    assert {"мед", "med", "~honey"} <= alternatives[0]
    assert {"картоп", "kartop", "~potato"} <= alternatives[1]
    assert query_terms("") == [] and query_terms(None) == [] and query_terms(" ,.- ") == []


def test_joining_words_are_left_out_of_a_query_with_other_words():
    assert [word.word for word in query_words("чай из облепихи")] == ["чай", "облепихи"]
    assert [word.word for word in query_words("jam with apricots")] == ["jam", "apricots"]
    assert [word.word for word in query_words("из")] == ["из"]  # alone, it is what was asked


def test_index_text_puts_the_name_first_then_the_other_texts_each_term_once():
    indexed = index_text("Мёд горный", "Эспарцетовый мёд, 1 кг.")
    column = indexed.column
    assert column.startswith(" мед ") and column.endswith(" ")
    name, other = column.split(f" {NAME_END} ")
    description = other.split(f" {DESCRIPTION_END} ")[0]
    assert set(description.split()) >= {"эспарцетовый", "кг"}
    assert {"мед", "горный", "~honey"} <= set(name.split())
    assert "эспарцетовый" in other.split() and "мед" not in other.split()  # each term once
    terms = column.split()
    assert len(terms) == len(set(terms))
    assert index_terms("Мёд горный", "Эспарцетовый мёд, 1 кг.") == column
    assert index_terms(None, "") == f" {NAME_END} {DESCRIPTION_END} "


def test_index_text_lists_its_words_by_weight_for_the_word_list():
    indexed = index_text("Мёд горный", "с пасеки", "Asel Honey", ["Honey"])
    assert indexed.words["мед"] == WEIGHT_NAME and indexed.words["горный"] == WEIGHT_NAME
    assert indexed.words["бал"] == WEIGHT_GROUP and indexed.words["honey"] == WEIGHT_GROUP  # synonyms
    assert indexed.words["пасеки"] == WEIGHT_OTHER and indexed.words["asel"] == WEIGHT_OTHER


def test_a_word_claimed_by_a_phrase_still_stands_for_its_own_group_in_a_product_not_in_a_query():
    assert finds("өрүк", "Абрикосы сушёные")  # dried apricots are apricots
    assert not finds("қара өрік", "Абрикосы сушёные")  # but plums are not


def test_a_producer_is_read_for_its_words_and_a_category_for_its_groups():
    column = index_text("Айран", None, "Нурбек — кымыз", ["Dairy", "Сүт өнімдері"]).column
    assert " кымыз " in column and " ~kymyz " not in column  # the producer sells more than kymyz
    assert " ~dairy " in column and " сүт " not in column  # dairy products, not milk


def test_word_forms_are_every_term_a_column_may_hold_for_a_word():
    assert {"картофеля", "kartofelia"} <= set(word_forms("картофеля"))
    assert "алма" in word_forms("алмалар")


def test_a_vocabulary_word_is_not_cut_into_another_word():
    # қазы (horse sausage) would be қаз (goose) + possessive -ы
    assert "қаз" not in index_terms("Қазы").split()


def test_core_imports_nothing_from_marketplace_outside_core():
    for module in CORE.glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith("marketplace") or name.startswith("marketplace.core"), (module.name, name)
            if isinstance(node, ast.FunctionDef):
                inner = [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
                assert not inner, f"{module.name}: an import inside {node.name}()"
