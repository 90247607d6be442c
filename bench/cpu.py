"""CPU time per request for the benchmark's pages, in-process, uncached and cached.

    python bench/cpu.py [--database-url URL] [--repeat 10]

A figure that does not depend on how busy the machine is: each page is requested through
the test client and timed with `time.process_time()` (this process only — on SQLite the
database work is included, on PostgreSQL the server's share is not, so the wall time is
printed beside it). "cached" is the anonymous page cache's hit (bench/README.md).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(client, path: str, repeat: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per request: the medians of `repeat` requests after three warm-up
    ones (a mean would count the garbage collector's and the VM's hiccups)."""
    for _ in range(3):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    cpu, wall = [], []
    for _ in range(repeat):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        client.get(path)
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started_wall) * 1000)
    return statistics.median(cpu), statistics.median(wall)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)

    import json

    from bench.ceiling import create_ceiling_app
    from bench.generate import database_url, dataset_path
    from bench.run import pages

    url = database_url(args.database_url)
    dataset = json.loads(dataset_path(url).read_text())
    uncached = create_ceiling_app({"BASE_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": url,
                                   "PAGE_CACHE_SECONDS": 0, "RATE_LIMITS_ON": False}).test_client()
    cached = create_ceiling_app({"BASE_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": url,
                                 "PAGE_CACHE_SECONDS": 3600, "RATE_LIMITS_ON": False}).test_client()
    print(f"{'page':<40} {'uncached CPU ms':>16} {'wall ms':>9} {'cached CPU ms':>14}")
    for label, path in pages(dataset):
        cpu, wall = measure(uncached, path, args.repeat)
        hit, _ = measure(cached, path, args.repeat * 5)
        print(f"{label:<40} {cpu:>16.1f} {wall:>9.1f} {hit:>14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
