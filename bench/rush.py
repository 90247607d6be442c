"""The checkout rush: RUSH_BUYERS buyers at once for the last units of one product, over HTTP.

The generator left one product whose next market day has 300 pieces, 250 already reserved.
Before the clock starts, every buyer logs in (POST /login) and puts one piece in the basket
(POST /basket/add) — the basket checks what is left but reserves nothing. Then all of them
POST /checkout (cash at pickup, a pickup slot each, a fresh idempotency key) at the same
instant from their own thread and connection. We count orders placed (a redirect to the
order),
refusals (409, "only … left") and anything else, and read the database afterwards: the
offer must be exactly full and the order lines for it must add up to exactly the units left.

The app runs under gunicorn with the same settings as the page benchmark, with CSRF
checks and rate limits off (the bench config `create_rush_app`); everything else is the
real code path (`marketplace.orders.services.place_order` behind POST /checkout).
"""
from __future__ import annotations

import re
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor


#: The real app with CSRF and rate limits off, so scripted buyers can post forms.
RUSH_SETTINGS = {"BASE_CONFIG": "development", "WTF_CSRF_ENABLED": False, "RATE_LIMITS_ON": False}


def create_rush_app():
    from marketplace import create_app

    return create_app(dict(RUSH_SETTINGS))


def reset_rush(database_url: str, rush: dict) -> list[int]:
    """Undo an earlier rush: its orders gone, the offer back to 250 of 300 taken, slots empty."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        buyer_ids = [row[0] for row in conn.execute(
            text('SELECT id FROM "user" WHERE email LIKE :pattern'), {"pattern": "rush%@bench.test"})]
        orders = 'SELECT id FROM "order" WHERE customer_id IN (SELECT id FROM "user" WHERE email LIKE :pattern)'
        params = {"pattern": "rush%@bench.test"}
        conn.execute(text(f"DELETE FROM payment WHERE order_id IN ({orders})"), params)
        conn.execute(text(f"DELETE FROM order_line WHERE order_id IN ({orders})"), params)
        conn.execute(text(f'DELETE FROM "order" WHERE id IN ({orders})'), params)
        conn.execute(text("UPDATE offer SET reserved_milli = :reserved WHERE id = :id"),
                     {"reserved": rush["reserved_before_milli"], "id": rush["offer_id"]})
        conn.execute(text("UPDATE pickup_slot SET reserved = 0 WHERE market_day_id = :day"),
                     {"day": rush["market_day_id"]})
    engine.dispose()
    return buyer_ids


def verify(database_url: str, rush: dict) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        quantity, reserved = conn.execute(text("SELECT quantity_milli, reserved_milli FROM offer WHERE id = :id"),
                                          {"id": rush["offer_id"]}).one()
        lines_milli, orders = conn.execute(text(
            'SELECT COALESCE(SUM(l.quantity_milli), 0), COUNT(DISTINCT o.id) FROM order_line l '
            'JOIN "order" o ON o.id = l.order_id WHERE l.offer_id = :id'), {"id": rush["offer_id"]}).one()
    engine.dispose()
    return dict(quantity=quantity, reserved_after=reserved, lines_milli=int(lines_milli), orders_in_db=orders)


def run_rush(database_url: str, dataset: dict) -> dict:
    import requests

    from bench.run import Gunicorn

    rush = dataset["rush"]
    reset_rush(database_url, rush)
    server = Gunicorn("bench.rush:create_rush_app()", database_url)
    try:
        server.wait_ready("/")
        buyers = rush["buyers"]
        sessions = [requests.Session() for _ in buyers]

        def prepare(index: int) -> None:
            session = sessions[index]
            login = session.post(server.url + "/login", data={"email": buyers[index], "password": dataset["password"]},
                                 allow_redirects=False)
            added = session.post(server.url + "/basket/add", allow_redirects=False, data={
                "product_id": rush["product_id"], "market_day_id": rush["market_day_id"], "quantity": "1"})
            if login.status_code != 302 or added.status_code != 302:
                raise SystemExit(f"buyer {buyers[index]}: login {login.status_code}, basket {added.status_code}")

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(prepare, range(len(buyers))))

        start = threading.Barrier(len(buyers) + 1)
        results: list[tuple[int, float, float] | None] = [None] * len(buyers)

        def checkout(index: int) -> None:
            session = sessions[index]
            form = {"pickup_slot": rush["slot_ids"][index % len(rush["slot_ids"])], "payment_method": "cash",
                    "phone": "+7 701 000 00 00", "idempotency_key": uuid.uuid4().hex}
            start.wait()
            begun = time.perf_counter()
            response = session.post(server.url + "/checkout", data=form, allow_redirects=False)
            placed = response.status_code == 302 and re.search(r"/orders/\d+$", response.headers.get("Location", ""))
            results[index] = (201 if placed else response.status_code, begun, time.perf_counter())

        threads = [threading.Thread(target=checkout, args=(i,)) for i in range(len(buyers))]
        for thread in threads:
            thread.start()
        start.wait()
        t0 = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = max(r[2] for r in results) - t0
    finally:
        server.stop()

    statuses = [r[0] for r in results]
    sold = statuses.count(201)
    refused = statuses.count(409)
    latencies = sorted((r[2] - r[1]) * 1000 for r in results)
    last_sale = max((r[2] for r in results if r[0] == 201), default=t0) - t0
    db_state = verify(database_url, rush)
    figures = dict(
        buyers=len(buyers), units_left=rush["units_left"], sold=sold, refused=refused,
        other=len(statuses) - sold - refused, wall_s=round(wall, 3),
        responses_per_s=len(statuses) / wall, completed_per_s=sold / last_sale if last_sale else 0,
        p50=statistics.median(latencies), p99=latencies[max(0, int(len(latencies) * 0.99) - 1)],
        **db_state)
    figures["exact"] = (sold == rush["units_left"] and db_state["orders_in_db"] == rush["units_left"]
                        and db_state["reserved_after"] == db_state["quantity"]
                        and db_state["lines_milli"] == rush["units_left"] * 1000)
    print(f"   sold {sold}, refused {refused}, other {figures['other']} in {wall:.2f} s; "
          f"offer {db_state['reserved_after']}/{db_state['quantity']}, lines {db_state['lines_milli']}; "
          f"exact: {figures['exact']}", flush=True)
    return figures


def main(argv=None) -> int:
    """The rush alone, against the data set last generated into that database."""
    import argparse
    import json

    from bench.generate import database_url, dataset_path

    parser = argparse.ArgumentParser(description="The checkout rush alone (bench/run.py runs it after the pages).")
    parser.add_argument("--database-url", default=None)
    url = database_url(parser.parse_args(argv).database_url)
    figures = run_rush(url, json.loads(dataset_path(url).read_text()))
    print(json.dumps(figures, indent=1, default=str))
    return 0 if figures["exact"] else 1


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
