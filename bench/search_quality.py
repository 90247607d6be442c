"""Recall and precision at 10 of the search, per language, from bench/search_queries.tsv.

    python bench/search_quality.py                       # the demo, in a fresh SQLite file
    python bench/search_quality.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/aimak_search_bench
    python bench/search_quality.py --country [--database-url URL]   # the bench's country-scale data set

Each query runs through the product list's own service (search.queries.plan_search and
catalog.queries.product_page, best match first, 10 a page), as a visitor with no market
of their own sees it.

- recall at 10: of the products the query means, the share among the first 10 results (of
  the first 10 of them, when it means more than 10);
- precision at 10: of the first 10 results (fewer when fewer are found), the share the
  query means; a query that finds nothing has precision 0.

The demo mode seeds the demo (`marketplace.demo.seed_demo`) into a fresh database: a SQLite
file under bench/results/, or a PostgreSQL database whose name contains "bench" (dropped and
re-created). The country mode reads the data set bench/generate.py last loaded (the same
URL rules as the benchmark): a product is meant when it was generated from the same kind as
the demo products the query lists (see COUNTRY_KINDS); queries whose products have no kind
there are left out.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project's packages come after the path above (E402).
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.generate import PRODUCTS, QUALIFIERS, database_url, reset_database  # noqa: E402
from marketplace.cli import create_app  # noqa: E402
from marketplace.catalog import queries  # noqa: E402
from marketplace.catalog.filters import ProductFilters  # noqa: E402
from marketplace.core.extensions import db  # noqa: E402
from marketplace.demo import seed_demo  # noqa: E402
from marketplace.producers.models import Product  # noqa: E402
from marketplace.search.queries import plan_search  # noqa: E402

QUERIES = ROOT / "bench" / "search_queries.tsv"
RESULTS = ROOT / "bench" / "results"
LANGUAGES = ("ru", "kk", "ky", "en")
TOP = 10

#: Demo product -> the kind of product in bench/generate.py's PRODUCTS (its Russian name) it is.
COUNTRY_KINDS = {
    "Картофель молодой": "Картофель", "Картофель таласский": "Картофель", "Морковь": "Морковь",
    "Огурцы грунтовые": "Огурцы", "Томаты розовые": "Томаты", "Лук репчатый": "Лук репчатый", "Укроп": "Укроп",
    "Яблоки апорт": "Яблоки апорт", "Абрикосы сушёные": "Курага", "Облепиха": "Облепиха",
    "Молоко коровье": "Молоко", "Творог домашний": "Творог", "Сметана": "Сметана", "Курт": "Курт", "Курут": "Курт",
    "Кымыз (kymyz)": "Кумыс", "Баранина (lamb)": "Баранина", "Говядина": "Говядина", "Казы": "Казы",
    "Яйца куриные": "Яйца куриные", "Мёд степной разнотравье": "Мёд", "Мёд донниковый": "Мёд", "Мёд горный": "Мёд",
    "Перга": "Перга", "Хлеб на закваске": "Хлеб на закваске", "Баурсаки": "Баурсаки",
    "Рассада томатов": "Рассада томатов", "Шырдак 1×1,5 м": "Шырдак", "Войлочные тапочки": "Войлочные тапочки",
    "Felt slippers for kids": "Войлочные тапочки", "Кесе расписное": "Кесе расписное",
    "Разделочная доска": "Доска разделочная", "Чай горный травяной": "Чай горный", "Мята": "Мята",
}
#: Queries that mean another kind at country scale than in the demo (the demo has strawberry
#: seedlings only, and dried apricots only; the data set has strawberries, fresh apricots and
#: generic jam). The demo's comb honey has no kind there: соты and honeycomb are left out.
COUNTRY_QUERIES = {
    "абрикосы": ["Абрикосы", "Курага"], "өрік": ["Абрикосы", "Курага"], "өріктер": ["Абрикосы", "Курага"],
    "өрүк": ["Абрикосы", "Курага"], "өрүктөр": ["Абрикосы", "Курага"], "oruk": ["Абрикосы", "Курага"],
    "apricots": ["Абрикосы", "Курага"],
    "клубника": ["Клубника"], "strawberry": ["Клубника"], "құлпынай": ["Клубника"], "кулпунай": ["Клубника"],
    "варенье": ["Варенье"], "varenye": ["Варенье"], "jam": ["Варенье"], "тосап": ["Варенье"], "кыям": ["Варенье"],
}


@dataclass(frozen=True)


class Query:
    language: str
    text: str
    expected: tuple[str, ...]
    kinds: tuple[str, ...]


def read_queries(path: Path = QUERIES) -> list[Query]:
    with path.open(encoding="utf-8") as lines:
        rows = csv.reader((line for line in lines if line.strip() and not line.startswith("#")), delimiter="\t")
        header = next(rows)
        if header != ["language", "query", "expected", "kind"]:
            raise SystemExit(f"{path}: unexpected columns {header}")
        return [Query(language, text, tuple(name.strip() for name in expected.split("|")),
                      tuple(kind.strip() for kind in kinds.split(",")))
                for language, text, expected, kinds in rows]


def scores(found: list, meant: set) -> tuple[float, float]:
    """(recall at 10, precision at 10) of one query's results (ids or names, best first)."""
    top = found[:TOP]
    hits = sum(1 for item in top if item in meant)
    recall = hits / min(len(meant), TOP) if meant else 1.0
    precision = hits / len(top) if top else 0.0
    return recall, precision


def search(query: str) -> list:
    """The first 10 products of the list for this query, best first (the product objects)."""
    page = queries.product_page(ProductFilters(q=query), TOP, plan=plan_search(query))
    return page.pagination.items


def report(title: str, rows: list[tuple[Query, float, float, list[str]]]) -> None:
    print(f"\n{title}\n")
    print("| language | queries | recall@10 | precision@10 | all found | none found |")
    print("|---|---:|---:|---:|---:|---:|")
    by_language = defaultdict(list)
    for row in rows:
        by_language[row[0].language].append(row)
    for language in (*LANGUAGES, "all"):
        chosen = rows if language == "all" else by_language[language]
        if not chosen:
            continue
        recall = statistics.mean(r for _, r, _, _ in chosen)
        precision = statistics.mean(p for _, _, p, _ in chosen)
        complete = sum(1 for _, r, _, _ in chosen if r == 1.0)
        empty = sum(1 for _, _, _, found in chosen if not found)
        print(f"| {language} | {len(chosen)} | {recall:.3f} | {precision:.3f} | {complete} | {empty} |")
    by_kind = defaultdict(list)
    for row in rows:
        for kind in row[0].kinds:
            by_kind[kind].append(row)
    print("\n| kind of query | queries | recall@10 | precision@10 |")
    print("|---|---:|---:|---:|")
    for kind in sorted(by_kind):
        chosen = by_kind[kind]
        print(f"| {kind} | {len(chosen)} | {statistics.mean(r for _, r, _, _ in chosen):.3f} | "
              f"{statistics.mean(p for _, _, p, _ in chosen):.3f} |")
    misses = [(q, r, found) for q, r, _, found in rows if r < 1.0]
    if misses:
        print(f"\nNot every meant product in the first {TOP} ({len(misses)}):")
        for query, recall, found in misses:
            print(f"  {query.language} {query.text!r}: recall {recall:.2f}; found {found[:5]}")


def demo_database(url: str | None) -> str:
    """A fresh database for the demo: a SQLite file in bench/results, or a re-created PostgreSQL one."""

    if url is None:
        url = f"sqlite:///{RESULTS / 'search-demo.sqlite'}"
    reset_database(url)
    return url


def run_demo(url: str | None) -> list:
    url = demo_database(url)
    app = create_app({"BASE_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": url, "RATE_LIMITS_ON": False,
                      "TASK_QUEUE_IMMEDIATE": True})
    rows = []
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_demo(weeks=2)
        db.session.commit()
        for query in read_queries():
            names = [product.name for product in search(query.text)]
            recall, precision = scores(names, set(query.expected))
            rows.append((query, recall, precision, names))
        dialect = db.engine.dialect.name
    report(f"Demo data ({dialect}): {len(rows)} queries", rows)
    return rows


def run_country(url: str | None) -> list:
    names_of_kind = {row[5][0]: row[5] for row in PRODUCTS}
    qualifiers = {q for row in QUALIFIERS for q in row}
    app = create_app({"BASE_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": database_url(url),
                      "RATE_LIMITS_ON": False})
    rows = []
    with app.app_context():
        listed = select(Product.id, Product.name).where(
            *queries.product_list_conditions(ProductFilters(), for_count=True))
        by_kind: dict[str, set[int]] = defaultdict(set)
        full_names = {}
        for kind, names in names_of_kind.items():
            for name in names:
                full_names[name] = kind
                for qualifier in qualifiers:
                    full_names[f"{name} {qualifier}"] = kind
        for product_id, name in db.session.execute(listed):
            if name in full_names:
                by_kind[full_names[name]].add(product_id)
        for query in read_queries():
            kinds = COUNTRY_QUERIES.get(query.text) or sorted(
                {COUNTRY_KINDS[name] for name in query.expected if name in COUNTRY_KINDS})
            if not kinds:
                continue
            meant = set().union(*(by_kind[kind] for kind in kinds))
            found = search(query.text)
            recall, precision = scores([p.id for p in found], meant)
            rows.append((query, recall, precision, [p.name for p in found]))
        dialect = db.engine.dialect.name
    report(f"Country-scale data set ({dialect}, {sum(len(v) for v in by_kind.values())} products of the "
           f"queries' kinds): {len(rows)} queries", rows)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--country", action="store_true", help="the bench's data set instead of the demo")
    parser.add_argument("--min-recall", type=float, default=0.9, help="exit 1 when a language's recall is below")
    args = parser.parse_args(argv)
    rows = run_country(args.database_url) if args.country else run_demo(args.database_url)
    failing = [language for language in LANGUAGES
               if (chosen := [r for q, r, _, _ in rows if q.language == language])
               and statistics.mean(chosen) < args.min_recall]
    if failing:
        print(f"\nRecall at 10 below {args.min_recall} in: {', '.join(failing)}")
        return 1
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
