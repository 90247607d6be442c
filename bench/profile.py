"""Profile one page in-process with pyinstrument: where its time goes, SQL included.

    python bench/profile.py /products [--database-url URL] [--repeat 20]

Uses the data set last generated into that database (bench/generate.py), renders the page
once to warm up, then profiles `--repeat` requests through the test client and prints the
call tree, followed by the time each SQL statement took on the last request.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--cached", action="store_true", help="through the anonymous page cache (default: uncached)")
    args = parser.parse_args(argv)

    from pyinstrument import Profiler
    from sqlalchemy import event

    from bench.ceiling import create_ceiling_app
    from bench.generate import database_url
    from marketplace.core.extensions import db

    app = create_ceiling_app({"BASE_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": database_url(args.database_url),
                              "PAGE_CACHE_SECONDS": 3600 if args.cached else 0})
    statements: list[tuple[float, str]] = []
    with app.app_context():
        @event.listens_for(db.engine, "before_cursor_execute")
        def _before(_conn, _cursor, _statement, _params, context, _many):
            context._bench_started = time.perf_counter()

        @event.listens_for(db.engine, "after_cursor_execute")
        def _after(_conn, _cursor, statement, _params, context, _many):
            statements.append((time.perf_counter() - context._bench_started, " ".join(statement.split())))

    client = app.test_client()
    client.get(args.path)
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    with profiler:
        for _ in range(args.repeat):
            statements.clear()
            response = client.get(args.path)
    elapsed = (time.perf_counter() - started) / args.repeat
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"{args.path}: {response.status_code}, {elapsed * 1000:.1f} ms per request under the profiler, "
          f"{len(statements)} SQL statements taking {sum(s for s, _ in statements) * 1000:.1f} ms:")
    for seconds, statement in statements:
        print(f"  {seconds * 1000:8.1f} ms  {statement[:140]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
