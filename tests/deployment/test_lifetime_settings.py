"""An operator's typo in a cache lifetime stops the app at start with the setting's name, instead of
every page answering 500 (a non-number) or the cache silently keeping nothing (a negative one)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def start_app(tmp_path, **settings):
    """Load the app as gunicorn's master does (wsgi.py), with the given environment."""
    env = {**os.environ, "AIMAK_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path}/a.sqlite",
           **settings}
    return subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name", ["PAGE_CACHE_SECONDS", "REFERENCE_DATA_SECONDS"])
@pytest.mark.parametrize("value", ["10s", "-5", "1e999", "nan"])
def test_a_lifetime_that_is_not_seconds_stops_the_start_with_its_name(tmp_path, name, value):
    started = start_app(tmp_path, **{name: value})
    assert started.returncode != 0
    assert f"{name} must be a number of seconds" in started.stderr
    assert repr(value) in started.stderr


@pytest.mark.parametrize("value", ["0", "2.5", "86400"])
def test_lifetimes_in_seconds_start(tmp_path, value):
    started = start_app(tmp_path, PAGE_CACHE_SECONDS=value, REFERENCE_DATA_SECONDS=value)
    assert started.returncode == 0, started.stderr
