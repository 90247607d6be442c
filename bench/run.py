"""The load benchmark: the catalog pages, the ceiling and the anchor under gunicorn, driven by wrk.

    python bench/run.py [--database-url URL] [--duration 10] [--connections 32] [--rounds 3]
                        [--generate --scale 0.1] [--skip-rush] [--label NAME]

Every page is measured in ROUNDS rounds, each time right after the external anchor
(bench/anchor.py, a bare Flask page of 24 cards): anchor, page, anchor, page… For each page
it reports the medians of requests/s, p50 and p99 latency, the throughput as a share of
the anchor measured just before it (median over the rounds) and as a share of the ceiling's
(bench/ceiling.py), then the SQL queries each page runs (counted in-process with the test
client), the gunicorn workers' memory (RSS), and — unless --skip-rush — the checkout rush
(bench/rush.py). The table is printed and written to bench/results/<label>.md.

Settings, the same for the anchor, the app and the ceiling: a fresh gunicorn for every
measurement with the project's gunicorn.conf.py (the app loaded once and forked, workers
recycled rarely) and, over it, WORKERS sync workers on a free port of 127.0.0.1 and
warnings only in gunicorn's own log; wrk with
one thread, CONNECTIONS connections, a 2-second warm-up on one connection.
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
import statistics
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
from marketplace.core.extensions import db  # noqa: E402

RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent

#: Sync workers: the pages are CPU-bound Python, and one process per core keeps every core
#: busy; two per core lets one render while the other waits on the database.
WORKERS = int(os.environ.get("BENCH_WORKERS", 2 * (os.cpu_count() or 1)))
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "sync")
THREADS = int(os.environ.get("BENCH_THREADS", 1))

ANCHOR_SPEC, ANCHOR_PATH = "bench.anchor:create_anchor_app()", "/anchor"
ANCHOR_LABEL = "anchor (bare Flask, 24 cards from memory)"
APP_SPEC, CEILING_PATH = "bench.ceiling:create_ceiling_app()", "/ceiling"
#: Uncached: the page cache off, as for a logged-in customer (the ceiling is measured here
#: only). Cached: the same pages as an anonymous visitor sees them.
MODES = {"uncached": {"PAGE_CACHE_SECONDS": "0"}, "cached": {}}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: BENCH_DATABASE_URL, else bench/results/bench.sqlite")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3,
                        help="times each page is measured, each time after the anchor; figures are medians")
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


def smaps_rollup(pid: int) -> dict[str, int]:
    """A process's memory totals in kB, by /proc's field name (Rss, Private_Dirty, ...)."""
    with open(f"/proc/{pid}/smaps_rollup") as totals:
        return {line.split(":")[0]: int(line.split()[1]) for line in totals if line.split()[-1] == "kB"}


class Gunicorn:
    """A gunicorn master on a loopback port, started for one app spec and stopped with it.

    `database_url` is our app's database; the anchor is started without one."""

    def __init__(self, spec: str, database_url: str | None = None, extra_env: dict | None = None):
        self.port = free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        if database_url is not None:
            # wrk is one address asking 32 at a time: per-address limits (the search throttle)
            # would answer it 429 and the figures would measure refusals, not pages.
            env.update(DATABASE_URL=database_url, AIMAK_CONFIG="development", RATE_LIMITS_ON="0")
        env.update(extra_env or {})
        # The production settings, named rather than found by chance in --chdir (as before
        # session 7, when their worker recycling went unnoticed in the figures); the flags override them.
        command = [str(VENV_BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(WORKERS),
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

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def worker_memory_mb(self) -> tuple[list[float], list[float]]:
        """Each worker's RSS and its own memory (USS: the pages no other process shares, what one
        more worker costs; RSS also counts the pages forked from the master and still shared)."""
        rss, uss = [], []
        for pid in self.worker_pids():
            try:
                fields = smaps_rollup(pid)
            except OSError:
                continue  # a worker that left since ps listed it
            rss.append(fields["Rss"] / 1024)
            uss.append((fields["Private_Clean"] + fields["Private_Dirty"]) / 1024)
        return rss, uss

    def stop(self) -> None:
        """Stop at once: the requests a slow page left queued are not worth waiting for."""
        if self.process.poll() is None:
            workers = self.worker_pids()
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
    dataset = load_dataset(url, args)
    targets = pages(dataset)
    print(f"== Counting SQL queries per page ({backend(url)})", flush=True)
    queries = count_queries(url, [path for _label, path in targets])

    print(f"== {rounds_text(args.rounds)} of {len(measurements(targets))} pages, each right after the anchor; "
          f"gunicorn {WORKERS} × {WORKER_CLASS} workers, wrk {args.connections} connections × "
          f"{args.duration} s", flush=True)
    samples = measure_rounds(wrk, url, targets, args)
    rows = summarise(samples, targets, queries)
    rss = [mb for sample in samples for mb in sample["page"]["rss_mb"]]
    uss = [mb for sample in samples for mb in sample["page"]["uss_mb"]]

    rush = None
    if not args.skip_rush:
        print("== Checkout rush", flush=True)
        rush = run_rush(url, dataset)

    report = render_report(url, dataset, args, rows, samples, rss, uss, rush)
    print()
    print(report)
    out = write_results(args.label or backend(url), report, dict(
        machine=machine(), rows=rows, samples=samples, rss_mb=rss, uss_mb=uss, rush=rush, dataset=dataset["counts"],
        workers=WORKERS, worker_class=WORKER_CLASS, threads=THREADS,
        connections=args.connections, duration=args.duration, rounds=args.rounds))
    print(f"(written to {out.relative_to(ROOT)})")
    return 0


def load_dataset(url: str, args) -> dict:
    """The figures of the data set in `url`, generating it first when asked or missing."""
    if args.generate or not dataset_path(url).exists():
        print(f"== Generating the data set (scale {args.scale}) into {url}", flush=True)
        generate(args.scale, url, 2026)
    dataset = json.loads(dataset_path(url).read_text())
    if dataset["database_url"] != url:
        raise SystemExit(f"{dataset_path(url)} describes {dataset['database_url']}; run with --generate")
    return dataset


def rounds_text(rounds: int) -> str:
    return "1 round" if rounds == 1 else f"{rounds} rounds"


def measurements(targets: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(mode, label, path) in the order of a round: every page uncached, then through the cache."""
    return [(mode, label, path) for mode in MODES for label, path in targets
            if not (mode == "cached" and path == CEILING_PATH)]


def measure_rounds(wrk: str, url: str, targets: list[tuple[str, str]], args) -> list[dict]:
    """Anchor, page, anchor, page…: every page `args.rounds` times, each time right after the anchor.

    A round goes through every page before the next begins, so a slow minute of a shared
    machine spoils one round of a few pages rather than every round of one page; the
    median over the rounds drops it, and each page's share is taken against the anchor
    measured a few seconds before it."""
    samples = []
    for round_number in range(1, args.rounds + 1):
        print(f"-- round {round_number} of {args.rounds}", flush=True)
        for mode, label, path in measurements(targets):
            anchor = measure_anchor(wrk, args.connections, args.duration)
            page = measure_page(wrk, url, mode, path, args.connections, args.duration)
            samples.append(dict(round=round_number, mode=mode, label=label, path=path, anchor=anchor, page=page))
            print_sample(samples[-1])
    return samples


def measure_anchor(wrk: str, connections: int, duration: int) -> dict:
    """The anchor under load on its own fresh gunicorn, with the settings every page gets."""
    server = Gunicorn(ANCHOR_SPEC)
    try:
        server.wait_ready(ANCHOR_PATH)
        return run_wrk(wrk, server.url + ANCHOR_PATH, connections, duration)
    finally:
        server.stop()


def measure_page(wrk: str, url: str, mode: str, path: str, connections: int, duration: int) -> dict:
    """One page of our app under load on a fresh gunicorn; an uncached page on one connection first.

    A fresh server for every page: requests a slow page left queued (wrk gave up on them,
    gunicorn still serves them) must not weigh on the next measurement."""
    server = Gunicorn(APP_SPEC, url, MODES[mode])
    try:
        server.wait_ready(CEILING_PATH)
        alone = None
        if mode == "uncached":
            # The latency a customer gets when the server is not queueing: one connection,
            # measured first (after the load, the server still serves what wrk gave up on).
            alone = run_wrk(wrk, server.url + path, 1, max(2, duration // 2))
        figures = run_wrk(wrk, server.url + path, connections, duration)
        if alone is not None:
            figures["p50_alone"], figures["p99_alone"] = alone["p50"], alone["p99"]
        figures["rss_mb"], figures["uss_mb"] = server.worker_memory_mb()
        return figures
    finally:
        server.stop()


def share_of_anchor(sample: dict) -> float:
    """The page's requests/s as a fraction of the anchor's measured just before it."""
    return sample["page"]["rps"] / sample["anchor"]["rps"] if sample["anchor"]["rps"] else 0.0


def print_sample(sample: dict) -> None:
    page = sample["page"]
    alone = f"  (1 connection: p50 {page['p50_alone']:.1f} ms)" if "p50_alone" in page else ""
    print(f"   {sample['mode']:8} {sample['label']:34} {page['rps']:8.1f} req/s  p50 {page['p50']:7.1f} ms  "
          f"p99 {page['p99']:7.1f} ms  anchor {sample['anchor']['rps']:8.1f} req/s → "
          f"{share_of_anchor(sample):5.0%}{alone}", flush=True)


def median_figures(runs: list[dict]) -> dict:
    """Medians over the rounds of requests/s and latencies; errors of every round kept."""
    keys = [key for key in ("rps", "p50", "p99", "p50_alone", "p99_alone") if key in runs[0]]
    figures = {key: statistics.median(run[key] for run in runs) for key in keys}
    figures["non_2xx"] = sum(run["non_2xx"] for run in runs)
    figures["socket_errors"] = "; ".join(run["socket_errors"] for run in runs if run["socket_errors"])
    return figures


def summarise(samples: list[dict], targets: list[tuple[str, str]], queries: dict[str, int]) -> list[dict]:
    """One row per page, the anchor first: medians over the rounds, and the shares of the anchor and ceiling."""
    anchor = dict(label=ANCHOR_LABEL, path=ANCHOR_PATH, queries=None)
    for mode in MODES:
        # The anchor as measured beside this mode's pages: the 100% of that column.
        anchor[mode] = dict(median_figures([s["anchor"] for s in samples if s["mode"] == mode]), anchor_share=1.0)
    rows = [anchor]
    for label, path in targets:
        row = dict(label=label, path=path, queries=queries[path])
        for mode in MODES:
            mine = [s for s in samples if s["mode"] == mode and s["path"] == path]
            if mine:
                row[mode] = dict(median_figures([s["page"] for s in mine]),
                                 anchor_share=statistics.median(share_of_anchor(s) for s in mine))
        rows.append(row)
    add_ceiling_shares(rows)
    return rows


def add_ceiling_shares(rows: list[dict]) -> None:
    """Each page's share of the ceiling, taken through the anchor: (page ÷ anchor) ÷ (ceiling ÷ anchor).

    The ceiling and a page are measured minutes apart; their anchors cancel the machine's
    drift in between."""
    ceiling = next(row["uncached"]["anchor_share"] for row in rows if row["path"] == CEILING_PATH)
    for row in rows[1:]:
        for mode in MODES:
            if mode in row:
                row[mode]["ceiling_share"] = row[mode]["anchor_share"] / ceiling if ceiling else 0.0


def write_results(label: str, report: str, figures: dict) -> Path:
    """bench/results/<label>.md (the report) and .json (every figure, every round)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{label}.md"
    out.write_text(report)
    (RESULTS / f"{label}.json").write_text(json.dumps(figures, indent=1, default=str))
    return out


def render_report(url, dataset, args, rows, samples, rss, uss, rush) -> str:
    lines = conditions_lines(url, dataset, args) + page_table_lines(rows) + anchor_drift_lines(samples)
    if rss:
        lines += ["", f"gunicorn worker RSS after each page's load: {min(rss):.0f}–{max(rss):.0f} MB "
                      f"(max {max(rss):.0f} MB, {len(rss)} readings); of it each worker's own (USS, not "
                      f"shared with the master it was forked from): {min(uss):.0f}–{max(uss):.0f} MB."]
    if rush:
        lines += rush_lines(rush)
    return "\n".join(lines) + "\n"


def conditions_lines(url, dataset, args) -> list[str]:
    info = machine()
    return [
        f"## {backend(url)} — {info['date']}",
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gb']} GB RAM, Python {info['python']}, "
        f"load average {info['loadavg']} at the end of the run. "
        f"Data set scale {dataset['scale']}: {dataset['counts'].get('product', 0):,} products, "
        f"{dataset['counts'].get('producer', 0):,} producers, {dataset['counts'].get('order', 0):,} orders.",
        f"gunicorn {WORKERS} × {WORKER_CLASS} workers (threads {THREADS}) on 127.0.0.1; "
        f"wrk 1 thread, {args.connections} connections, {args.duration} s per page after a 2 s warm-up on one connection "
        f"(requests time out after 30 s), a fresh server for every measurement.",
        f"{rounds_text(args.rounds)}: anchor, page, anchor, page…, every page once per round; each figure is the "
        "median over the rounds. \"× anchor\": in each round the page's requests/s divided by those of the "
        "anchor measured just before it (bench/anchor.py: a bare Flask + Jinja2 page of 24 cards from memory, "
        "its own gunicorn with the same settings), the median over the rounds; \"× ceiling\": the page's "
        "\"× anchor\" divided by the ceiling's.",
        "",
        "Uncached: every request renders the page (PAGE_CACHE_SECONDS=0, as for a logged-in customer). "
        "Cached: an anonymous visitor through the page cache (marketplace/web/pagecache.py).",
        "",
        f"p50 and p99 are at {args.connections} connections (queueing included); \"alone\" is the uncached "
        "page's p50 with one connection, the latency of a request that does not wait for others.",
        "",
    ]


def page_table_lines(rows: list[dict]) -> list[str]:
    lines = [
        "| page | SQL queries | uncached req/s | p50 ms | p99 ms | alone p50 ms | × anchor | × ceiling "
        "| cached req/s | p50 ms | p99 ms | × anchor | × ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    errors = []
    for row in rows:
        cells = [row["label"], "—" if row["queries"] is None else str(row["queries"])]
        for mode in MODES:
            cells += figure_cells(row.get(mode), with_alone=mode == "uncached")
            figures = row.get(mode) or {}
            if figures.get("non_2xx") or figures.get("socket_errors"):
                errors.append(f"{row['label']} ({mode}): {figures['non_2xx']} non-2xx {figures['socket_errors']}")
        lines.append("| " + " | ".join(cells) + " |")
    if errors:
        lines += ["", "Errors: " + "; ".join(errors)]
    return lines


def figure_cells(figures: dict | None, with_alone: bool) -> list[str]:
    """req/s, p50, p99, [alone p50], × anchor, × ceiling of one page in one mode."""
    if figures is None:
        return [""] * (6 if with_alone else 5)
    alone = [f"{figures['p50_alone']:.1f}" if "p50_alone" in figures else ""] if with_alone else []
    shares = [f"{figures['anchor_share']:.0%}",
              f"{figures['ceiling_share']:.0%}" if "ceiling_share" in figures else ""]
    if not figures["rps"]:
        return ["0 (none answered in time)", "—", "—"] + alone + shares
    return [f"{figures['rps']:.1f}", f"{figures['p50']:.1f}", f"{figures['p99']:.1f}"] + alone + shares


def anchor_drift_lines(samples: list[dict]) -> list[str]:
    """How much the anchor moved during the run: the machine's drift that the shares take out."""
    rates = [sample["anchor"]["rps"] for sample in samples]
    if not rates:
        return []
    return ["", f"The anchor, measured {len(rates)} times in this run: {min(rates):.0f}–{max(rates):.0f} req/s "
                f"(median {statistics.median(rates):.0f})."]


def rush_lines(rush: dict) -> list[str]:
    return ["", "Checkout rush (HTTP against gunicorn, same settings): "
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


if __name__ == "__main__":
    sys.exit(main())
