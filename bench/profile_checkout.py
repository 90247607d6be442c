"""Profile checkouts in-process with pyinstrument: the rush's sales and refusals, SQL included.

    python bench/profile_checkout.py [--database-url URL] [--buyers 80]

Uses the rush of the data set last generated into that database (bench/generate.py): undoes
an earlier rush, logs the buyers in and fills their baskets through the test client (the
rush app: CSRF and rate limits off, delivery queued as in development), then profiles the
checkouts one after another — the first `units left` of them sell, the rest are refused —
and prints a call tree for each kind, with its statements (count and time) per checkout.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--buyers", type=int, default=80)
    parser.add_argument("--cpu", action="store_true",
                        help="no profiler: the median CPU time of this process per sale and per refusal")
    args = parser.parse_args(argv)

    from pyinstrument import Profiler
    from sqlalchemy import event

    from bench.generate import database_url, dataset_path
    from bench.rush import RUSH_SETTINGS, reset_rush
    from marketplace import create_app
    from marketplace.core.extensions import db

    url = database_url(args.database_url)
    dataset = json.loads(dataset_path(url).read_text())
    rush = dataset["rush"]
    reset_rush(url, rush)
    app = create_app({**RUSH_SETTINGS, "SQLALCHEMY_DATABASE_URI": url})
    statements: list[tuple[float, str]] = []
    with app.app_context():
        @event.listens_for(db.engine, "before_cursor_execute")
        def _before(_conn, _cursor, _statement, _params, context, _many):
            context._bench_started = time.perf_counter()

        @event.listens_for(db.engine, "after_cursor_execute")
        def _after(_conn, _cursor, statement, _params, context, _many):
            statements.append((time.perf_counter() - context._bench_started, " ".join(statement.split())))

    clients = []
    for email in rush["buyers"][:args.buyers]:
        client = app.test_client()
        assert client.post("/login", data={"email": email, "password": dataset["password"]}).status_code == 302
        assert client.post("/basket/add", data={"product_id": rush["product_id"], "market_day_id": rush["market_day_id"],
                                                "quantity": "1"}).status_code == 302
        clients.append(client)

    kinds = {302: ("sale", Profiler(interval=0.0002), []), 409: ("refusal", Profiler(interval=0.0002), [])}
    for index, client in enumerate(clients):
        form = {"pickup_slot": rush["slot_ids"][index % len(rush["slot_ids"])], "payment_method": "cash",
                "phone": "+7 701 000 00 00", "idempotency_key": uuid.uuid4().hex}
        statements.clear()
        started, cpu = time.perf_counter(), time.process_time()
        # Each kind is profiled only on checkouts already known to be of that kind.
        expected = 302 if index < rush["units_left"] else 409
        profiler = kinds[expected][1]
        if not args.cpu:
            profiler.start()
        response = client.post("/checkout", data=form)
        if not args.cpu:
            profiler.stop()
        assert response.status_code == expected, response.status_code
        kinds[expected][2].append((time.perf_counter() - started, list(statements), time.process_time() - cpu))

    for name, profiler, runs in kinds.values():
        if not runs:
            continue
        print(f"=== {name}: {len(runs)} checkouts")
        if args.cpu:
            cpu = sorted(r[2] for r in runs)[len(runs) // 2]
            print(f"{name}: median CPU {cpu * 1000:.1f} ms per checkout in this process, "
                  f"median wall {sorted(r[0] for r in runs)[len(runs) // 2] * 1000:.1f} ms, "
                  f"{len(runs[-1][1])} statements (transaction control included)")
            continue
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        wall = sum(r[0] for r in runs) / len(runs)
        last = runs[-1][1]
        print(f"{name}: {wall * 1000:.1f} ms per checkout under the profiler, {len(last)} statements "
              f"(transaction control included) taking {sum(s for s, _ in last) * 1000:.1f} ms:")
        for seconds, statement in last:
            print(f"  {seconds * 1000:8.2f} ms  {statement[:140]}")
    reset_rush(url, rush)
    return 0


if __name__ == "__main__":
    sys.exit(main())
