"""Search latency at country scale, uncached, in-process: the search itself, the whole
product list page of a search, and a suggestion.

    python bench/search_latency.py [--database-url URL] [--repeat 3]

Uses the data set bench/generate.py last loaded into that database (the same URL rules as
the benchmark: BENCH_DATABASE_URL, else bench/results/bench.sqlite). Every query of
bench/search_queries.tsv is timed `--repeat` times, with nothing cached between the runs
but what the database keeps in memory:

- search: planning the query (the word-list lookup for words the vocabulary does not know)
  and the product list's statements for page 1 (ids, rows, count, badges), as the page runs
  them — catalog.queries.product_page with search.queries.plan_search;
- page: GET /products?q=… through the test client, as a visitor without cookies, the page
  cache off (PAGE_CACHE_SECONDS=0): the search, the page's other statements and the HTML;
- suggest: search.queries.suggest for each prefix of 2–5 letters of each query, and of its
  last word after the words before it ("мёд с па"), with the catalog's check that each
  suggestion leads to a product on sale (the endpoint's in-process answers are not used).

Printed: p50, p90, p99 and the slowest, in milliseconds, and the slowest queries; for the
search also the CPU time of this process (time.process_time), the figure a busy machine
does not inflate: on SQLite it holds the database's work too, on PostgreSQL the server's
share is not in it. The load average before and after is printed with them.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The project's packages come after the path above (E402).
from bench.generate import database_url  # noqa: E402
from bench.search_quality import read_queries  # noqa: E402
from marketplace import create_app  # noqa: E402
from marketplace.catalog import queries  # noqa: E402
from marketplace.catalog.filters import ProductFilters  # noqa: E402
from marketplace.core.dialects import write_intent  # noqa: E402
from marketplace.core.extensions import db  # noqa: E402
from marketplace.search.queries import plan_search, suggest  # noqa: E402


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda share: ordered[min(len(ordered) - 1, int(share * len(ordered)))]  # noqa: E731
    return (f"p50 {statistics.median(ordered):.1f} · p90 {pick(0.9):.1f} · p99 {pick(0.99):.1f} · "
            f"max {ordered[-1]:.1f} ms ({len(ordered)} runs)")


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return (time.perf_counter() - started) * 1000


def cpu_timed(function, *args) -> tuple[float, float]:
    """(wall ms, this process's CPU ms)."""
    started, started_cpu = time.perf_counter(), time.process_time()
    function(*args)
    return (time.perf_counter() - started) * 1000, (time.process_time() - started_cpu) * 1000


def search_once(query: str) -> None:
    page = queries.product_page(ProductFilters(q=query), 24, plan=plan_search(query))
    page.pagination.items  # noqa: B018 - loaded already; read as the page reads it


def typed_prefixes(text: str) -> list[str]:
    """What a shopper has typed on the way to `text`: its first 2-5 letters, and with more
    than one word, the words before the last and 2-5 letters of the last."""
    prefixes = [text[:length] for length in range(2, min(5, len(text)) + 1)]
    *before, last = text.split() or [""]
    if before:
        prefixes += [" ".join([*before, last[:length]]) for length in range(2, min(5, len(last)) + 1)]
    return prefixes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    write_intent.set(False)  # reads, as a GET request makes them (SQLite: no write lock)
    app = create_app({"BASE_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": database_url(args.database_url),
                      "PAGE_CACHE_SECONDS": 0, "RATE_LIMITS_ON": False})
    texts = list(dict.fromkeys(query.text for query in read_queries()))
    client = app.test_client()
    searches, cpu, pages, suggestions, slowest, slowest_suggestions = [], [], [], [], [], []
    load_before = os.getloadavg()[0]
    with app.app_context():
        dialect, products = db.engine.dialect.name, db.session.execute(db.text("SELECT count(*) FROM product")).scalar()
        for text in texts[:20]:  # warm up: the vocabulary, the database's caches
            search_once(text)
        for _ in range(args.repeat):
            for text in texts:
                spent, spent_cpu = cpu_timed(search_once, text)
                searches.append(spent)
                cpu.append(spent_cpu)
                slowest.append((spent, text))
                db.session.rollback()
                for typed in typed_prefixes(text):
                    suggestions.append(timed(suggest, typed, queries.searches_finding_products))
                    slowest_suggestions.append((suggestions[-1], typed))
    for _ in range(args.repeat):
        for text in texts:
            started = time.perf_counter()
            response = client.get("/products", query_string={"q": text})
            pages.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"/products?q={text} answered {response.status_code}")
    print(f"Search latency on {dialect}, {products:,} products, {len(texts)} queries × {args.repeat}, uncached "
          f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs):")
    print(f"  search   {percentiles(searches)}")
    print(f"  search, CPU of this process   {percentiles(cpu)}")
    print(f"  page     {percentiles(pages)}")
    print(f"  suggest  {percentiles(suggestions)}")
    print("  slowest searches: " + ", ".join(f"{text!r} {spent:.0f} ms" for spent, text in sorted(slowest)[-5:]))
    print("  slowest suggestions: " + ", ".join(f"{text!r} {spent:.0f} ms"
                                                for spent, text in sorted(slowest_suggestions)[-5:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
