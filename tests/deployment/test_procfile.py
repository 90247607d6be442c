"""`honcho start` runs the Procfile as a developer would: the web answers on the port asked for,
a worker runs beside it, and the worker's emails link to the web's port (honcho gives each
Procfile line its own PORT, 100 apart; SITE_URL follows PORT unless set)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.stripe_server import free_port

ROOT = Path(__file__).resolve().parents[2]
HONCHO = Path(sys.executable).with_name("honcho")
WORKER_LINE = re.compile(r"worker\.1\s*\| Worker on .*; emails link to (\S+);")


def _development_env(instance: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TEST_", "PYTEST", "REDIS", "DATABASE_URL", "SITE_URL", "AIMAK_", "PORT"))}
    return {**env, "AIMAK_INSTANCE_DIR": str(instance), "PYTHONUNBUFFERED": "1", "WEB_CONCURRENCY": "1"}


def test_honcho_start_runs_web_and_a_worker_whose_links_open_the_web(tmp_path):
    env = _development_env(tmp_path)
    subprocess.run([sys.executable, "-m", "flask", "--app", "marketplace.cli:create_app", "db", "upgrade"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=180)
    port = free_port()
    log = tmp_path / "honcho.log"
    with open(log, "w") as out:
        honcho = subprocess.Popen([str(HONCHO), "start", "-p", str(port)], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        healthy, links = False, None
        while time.monotonic() < deadline and not (healthy and links):
            try:
                healthy = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                pass  # gunicorn still starting
            found = WORKER_LINE.search(log.read_text())
            links = found and found.group(1)
            time.sleep(0.3)
        assert healthy, log.read_text()[-3000:]
        assert links == f"http://127.0.0.1:{port}", log.read_text()[-3000:]
    finally:
        os.killpg(honcho.pid, signal.SIGINT)
        try:
            honcho.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait()
