"""Index and query terms: the words of issue 22's "Done when" find their products, word by word."""
import ast
from pathlib import Path

import pytest

from marketplace.core.search_terms import index_terms, query_terms

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
    assert {"мед", "бал", "honey"} <= alternatives[0]
    assert {"картоп", "картофель", "potato"} <= alternatives[1]
    assert query_terms("") == [] and query_terms(None) == [] and query_terms(" ,.- ") == []


def test_index_terms_keep_the_order_of_the_texts_and_each_term_once():
    terms = index_terms("Мёд горный", "Эспарцетовый мёд, 1 кг.").split()
    assert terms[0] == "мед"
    assert terms.index("горный") < terms.index("эспарцетовый")
    assert len(terms) == len(set(terms))
    assert index_terms("Мёд горный", "Эспарцетовый мёд, 1 кг.") == " ".join(terms)
    assert index_terms(None, "") == ""


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
