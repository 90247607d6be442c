"""The load benchmark: the catalog pages and a ceiling under gunicorn, driven by wrk.

    python bench/run.py [--database-url URL] [--duration 10] [--connections 32]
                        [--generate --scale 0.1] [--skip-rush] [--label NAME]

For each page it reports requests/s, p50 and p99 latency and the throughput as a share of
the ceiling's (see bench/ceiling.py), then the SQL queries each page runs (counted
in-process with the test client), the gunicorn workers' memory (RSS), and — unless
--skip-rush — the checkout rush (bench/rush.py). The table is printed and written to
bench/results/<label>.md.

Settings, the same for the app and the ceiling: gunicorn with WORKERS sync workers on
127.0.0.1, no access log; wrk with one thread, CONNECTIONS connections, a 2-second warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script (bench/run.py): bench and marketplace live in ROOT

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.ceiling import create_ceiling_app  # noqa: E402
from bench.generate import database_url, dataset_path, generate  # noqa: E402
from bench.rush import run_rush  # noqa: E402
from marketplace.extensions import db  # noqa: E402

RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent

#: Sync workers: the pages are CPU-bound Python, and one process per core keeps every core
#: busy; two per core lets one render while the other waits on the database.
WORKERS = int(os.environ.get("BENCH_WORKERS", 2 * (os.cpu_count() or 1)))
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "sync")
THREADS = int(os.environ.get("BENCH_THREADS", 1))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: BENCH_DATABASE_URL, else bench/results/bench.sqlite")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--generate", action="store_true", help="(re)load the data set first")
    parser.add_argument("--scale", type=float, default=1.0, help="data set scale with --generate")
    parser.add_argument("--skip-rush", action="store_true", help="leave out the checkout rush")
    parser.add_argument("--label", default=None, help="name of the results file (default: the backend)")
    return parser.parse_args(argv)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed. On Debian/Ubuntu: sudo apt-get install -y wrk "
                         "(https://github.com/wg/wrk elsewhere).")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """A gunicorn master on a loopback port, started for one app spec and stopped with it."""

    def __init__(self, spec: str, database_url: str, extra_env: dict | None = None):
        self.port = free_port()
        env = dict(os.environ, DATABASE_URL=database_url, AIMAK_CONFIG="development", PYTHONPATH=str(ROOT))
        env.update(extra_env or {})
        command = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(WORKERS),
                   "--worker-class", WORKER_CLASS, "--threads", str(THREADS), "--backlog", "2048",
                   "--timeout", "120", "--log-level", "warning", "--chdir", str(ROOT), spec]
        self.process = subprocess.Popen(command, env=env, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str = "/", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer {path} within {timeout} s")

    def worker_rss_mb(self) -> list[float]:
        out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(v) / 1024 for v in out.stdout.split()]

    def stop(self) -> None:
        """Stop at once: the requests a slow page left queued are not worth waiting for."""
        if self.process.poll() is None:
            workers = [int(pid) for pid in subprocess.run(
                ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True).stdout.split()]
            self.process.kill()  # the master first, so it does not start new workers
            self.process.wait()
            for pid in workers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(wrk: str, url: str, connections: int, duration: int) -> dict:
    # Warm-up on one connection: at most one request is left in flight when it stops.
    subprocess.run([wrk, "-t1", "-c1", "-d2s", url], capture_output=True, check=True)
    out = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    latency = {p: _ms(v, u) for p, v, u in _LATENCY.findall(out)}
    if "requests in" in out and re.search(r"^\s*0 requests in", out, re.M):
        latency = {}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return dict(rps=rps, p50=latency.get("50", 0.0), p99=latency.get("99", 0.0),
                non_2xx=int(bad.group(1)) if bad else 0, socket_errors=errors.group(0) if errors else "")


def pages(dataset: dict) -> list[tuple[str, str]]:
    """(label, path) of the pages under load; the ceiling first."""
    deep = dataset["deep_page"]
    return [
        ("ceiling (page 1 from memory)", "/ceiling"),
        ("product list, page 1", "/products"),
        (f"product list, page {deep}", f"/products?page={deep}"),
        ("product list, filtered, page 1", f"/products?category={dataset['category']}&available=1&sort=price"),
        (f"product list, filtered, page {max(1, deep // 8)}",
         f"/products?category={dataset['category']}&available=1&sort=price&page={max(1, deep // 8)}"),
        ("Cyrillic search «картоп»", "/products?q=%D0%BA%D0%B0%D1%80%D1%82%D0%BE%D0%BF"),
        ("product page", f"/products/{dataset['product_id']}"),
        ("producer page", f"/producers/{dataset['producer_slug']}"),
    ]


def count_queries(database_url: str, paths: list[str]) -> dict[str, int]:
    """SQL statements each page runs (second request, so start-up work is not counted)."""
    app = create_ceiling_app({"BASE_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": database_url,
                              "PAGE_CACHE_SECONDS": 0})  # the queries a render runs, not a cache hit
    counter = [0]

    def _count(_conn, _cursor, statement, *_args):
        # As tests/catalog counts them: transaction control is not a query.
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            counter[0] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _count)
    client = app.test_client()
    result = {}
    for path in paths:
        client.get(path)
        counter[0] = 0
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        result[path] = counter[0]
    return result


def machine() -> dict:
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    return dict(nproc=os.cpu_count(), memory_gb=round(mem_kb / 1024 / 1024, 1), cpu=cpu,
                loadavg=open("/proc/loadavg").read().split()[0],
                python=platform.python_version(), date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def backend(url: str) -> str:
    return make_url(url).get_backend_name()


def main(argv=None) -> int:
    args = parse_args(argv)
    wrk = require_wrk()
    url = database_url(args.database_url)
    if args.generate or not dataset_path(url).exists():
        print(f"== Generating the data set (scale {args.scale}) into {url}", flush=True)
        generate(args.scale, url, 2026)
    dataset = json.loads(dataset_path(url).read_text())
    if dataset["database_url"] != url:
        raise SystemExit(f"{dataset_path(url)} describes {dataset['database_url']}; run with --generate")

    targets = pages(dataset)
    print(f"== Counting SQL queries per page ({backend(url)})", flush=True)
    queries = count_queries(url, [path for _label, path in targets])

    print(f"== gunicorn {WORKERS} × {WORKER_CLASS} workers, wrk {args.connections} connections × "
          f"{args.duration} s per page", flush=True)
    rows, rss = {}, []
    # Uncached first (the cache off, as for a logged-in customer), with the ceiling; then the
    # same pages as an anonymous visitor sees them, through the page cache.
    # A fresh server for every page: requests a slow page left queued (wrk gave up on them,
    # gunicorn still serves them) must not weigh on the next page.
    for mode, env in (("uncached", {"PAGE_CACHE_SECONDS": "0"}), ("cached", {})):
        print(f"-- {mode}", flush=True)
        for label, path in targets:
            if path == "/ceiling" and mode == "cached":
                continue
            server = Gunicorn("bench.ceiling:create_ceiling_app()", url, env)
            try:
                server.wait_ready("/ceiling")
                alone = None
                if mode == "uncached":
                    # The latency a customer gets when the server is not queueing: one connection,
                    # measured first (after the load, the server still serves what wrk gave up on).
                    alone = run_wrk(wrk, server.url + path, 1, max(2, args.duration // 2))
                figures = run_wrk(wrk, server.url + path, args.connections, args.duration)
                if alone is not None:
                    figures["p50_alone"], figures["p99_alone"] = alone["p50"], alone["p99"]
                rss += server.worker_rss_mb()
            finally:
                server.stop()
            rows.setdefault(path, dict(label=label, path=path, queries=queries[path]))[mode] = figures
            alone = f"  (1 connection: p50 {figures['p50_alone']:.1f} ms)" if "p50_alone" in figures else ""
            print(f"   {label:34} {figures['rps']:8.1f} req/s  p50 {figures['p50']:7.1f} ms  "
                  f"p99 {figures['p99']:7.1f} ms{alone}", flush=True)
    rows = list(rows.values())

    rush = None
    if not args.skip_rush:
        print("== Checkout rush", flush=True)
        rush = run_rush(url, dataset)

    report = render_report(url, dataset, args, rows, rss, rush)
    print()
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.label or backend(url)}.md"
    out.write_text(report)
    (RESULTS / f"{args.label or backend(url)}.json").write_text(json.dumps(
        dict(machine=machine(), rows=rows, rss_mb=rss, rush=rush, dataset=dataset["counts"],
             workers=WORKERS, worker_class=WORKER_CLASS, threads=THREADS,
             connections=args.connections, duration=args.duration), indent=1, default=str))
    print(f"(written to {out.relative_to(ROOT)})")
    return 0


def render_report(url, dataset, args, rows, rss, rush) -> str:
    info = machine()
    ceiling = rows[0]["uncached"]["rps"] if rows else 0
    lines = [
        f"## {backend(url)} — {info['date']}",
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gb']} GB RAM, Python {info['python']}, "
        f"load average {info['loadavg']} at the end of the run. "
        f"Data set scale {dataset['scale']}: {dataset['counts'].get('product', 0):,} products, "
        f"{dataset['counts'].get('producer', 0):,} producers, {dataset['counts'].get('order', 0):,} orders.",
        f"gunicorn {WORKERS} × {WORKER_CLASS} workers (threads {THREADS}) on 127.0.0.1; "
        f"wrk 1 thread, {args.connections} connections, {args.duration} s per page after a 2 s warm-up on one connection "
        f"(requests time out after 30 s), a fresh server for every page.",
        "",
        "Uncached: every request renders the page (PAGE_CACHE_SECONDS=0, as for a logged-in customer). "
        "Cached: an anonymous visitor through the page cache (marketplace/pagecache.py).",
        "",
        f"p50 and p99 are at {args.connections} connections (queueing included); \"alone\" is the uncached "
        "page's p50 with one connection, the latency of a request that does not wait for others.",
        "",
        "| page | SQL queries | uncached req/s | p50 ms | p99 ms | alone p50 ms | × ceiling | cached req/s | p50 ms "
        "| p99 ms | × ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    errors = []
    for row in rows:
        cells = [row["label"], str(row["queries"])]
        for mode in ("uncached", "cached"):
            figures = row.get(mode)
            alone = [f"{figures['p50_alone']:.1f}"] if figures and "p50_alone" in figures else (
                [""] if mode == "uncached" else [])
            if figures is None:
                cells += ["", "", "", ""] + alone
                continue
            if not figures["rps"]:
                cells += ["0 (none answered in time)", "—", "—"] + alone + ["0%"]
            else:
                cells += [f"{figures['rps']:.1f}", f"{figures['p50']:.1f}", f"{figures['p99']:.1f}"] + alone + [
                          f"{figures['rps'] / ceiling:.0%}" if ceiling else ""]
            if figures["non_2xx"] or figures["socket_errors"]:
                errors.append(f"{row['label']} ({mode}): {figures['non_2xx']} non-2xx {figures['socket_errors']}")
        lines.append("| " + " | ".join(cells) + " |")
    if errors:
        lines += ["", "Errors: " + "; ".join(errors)]
    if rss:
        lines += ["", f"gunicorn worker RSS after each page's load: {min(rss):.0f}–{max(rss):.0f} MB "
                      f"(max {max(rss):.0f} MB, {len(rss)} readings)."]
    if rush:
        lines += ["", "Checkout rush (HTTP against gunicorn, same settings): "
                      f"{rush['buyers']} buyers logged in, each with 1 piece in the basket, POST /checkout "
                      f"at once for the last {rush['units_left']} pieces.",
                  "",
                  "| sold (orders placed) | refused (409) | other | offer reserved after | sum of order lines | "
                  "checkout responses/s | completed checkouts/s | p50 ms | p99 ms |",
                  "|---:|---:|---:|---|---|---:|---:|---:|---:|",
                  f"| {rush['sold']} | {rush['refused']} | {rush['other']} | {rush['reserved_after']} / "
                  f"{rush['quantity']} | {rush['lines_milli']} | {rush['responses_per_s']:.1f} | "
                  f"{rush['completed_per_s']:.1f} | {rush['p50']:.0f} | {rush['p99']:.0f} |",
                  "", f"Exactly {rush['units_left']} sold: **{'yes' if rush['exact'] else 'NO'}**."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
