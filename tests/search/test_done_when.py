"""Issue 22's "Done when", on the demo, through the product list's service (both databases)."""
from __future__ import annotations

import csv
from pathlib import Path

from marketplace.demo import seed_demo
from tests.search.conftest import found

QUERIES = Path(__file__).resolve().parents[2] / "bench" / "search_queries.tsv"
DONE_WHEN = ["картоп", "potato", "kartofel", "картошка", "картофеля", "sut", "сүт", "bal", "kymyz", "qymyz",
             "kumis", "shyrdak", "картофль"]


def expected_products() -> dict[str, set[str]]:
    with QUERIES.open(encoding="utf-8") as lines:
        rows = csv.reader((line for line in lines if not line.startswith("#")), delimiter="\t")
        next(rows)
        return {query: set(expected.split(" | ")) for _, query, expected, _ in rows}


def test_each_done_when_word_finds_its_products_in_the_demo(ctx):
    seed_demo(weeks=1)
    expected = expected_products()
    for query in DONE_WHEN:
        results = found(query)
        assert expected[query] <= set(results), (query, results)
        # What it means comes first: its products fill the top of the list.
        assert set(results[:len(expected[query])]) == expected[query], (query, results)
