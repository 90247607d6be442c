"""The environment variables the code reads and the two lists of them an operator follows
(docs/deployment.md's table, .env.example) agree: each variable read is listed, and each listed
one is read (a `PREFIX_*` line of the table stands for every variable it covers)."""
from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from pathlib import Path

from dotenv import dotenv_values
from honcho import environ as honcho_environ

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r"""(?:environ(?:\.get)?\(|environ\[|_env(?:_int|_bool)?\()\s*["']([A-Z][A-Z0-9_]+)["']""")
#: Read from a request's WSGI environ, or only by the test configuration.
NOT_SETTINGS = re.compile(r"^(HTTP_|TEST_)")


def _read_by_the_code() -> set[str]:
    sources = [ROOT / "config.py", ROOT / "gunicorn.conf.py", ROOT / "wsgi.py", *(ROOT / "marketplace").rglob("*.py")]
    names = {name for source in sources for name in READ.findall(source.read_text())}
    return {name for name in names if not NOT_SETTINGS.match(name)}


def _deployment_table() -> set[str]:
    text = (ROOT / "docs" / "deployment.md").read_text().split("## Environment variables", 1)[1]
    rows = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_*]+)`", row)}


def _env_example() -> set[str]:
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))


def _covered(name: str, listed: set[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in listed)


def test_every_variable_the_code_reads_is_in_the_deployment_guide():
    listed = _deployment_table()
    assert sorted(name for name in _read_by_the_code() if not _covered(name, listed)) == []


def test_every_variable_in_the_deployment_guide_is_read():
    read = _read_by_the_code()
    assert sorted(p for p in _deployment_table() if not any(fnmatch.fnmatchcase(n, p) for n in read)) == []


def test_env_example_lists_every_variable_the_code_reads_and_no_other():
    listed, read = _env_example(), _read_by_the_code()
    assert (sorted(read - listed), sorted(listed - read)) == ([], [])


def test_a_copy_of_env_example_is_read_alike_by_flask_and_honcho_and_starts_the_app(tmp_path):
    """`cp .env.example .env`: flask (python-dotenv) and honcho read the same values, and the
    app starts with them (an empty `NAME=` takes the default, not "")."""
    by_flask = {k: v for k, v in dotenv_values(ROOT / ".env.example").items() if v}
    by_honcho = {k: v for k, v in honcho_environ.parse((ROOT / ".env.example").read_text()).items() if v}
    assert by_flask == by_honcho
    env = {k: v for k, v in os.environ.items() if k not in _read_by_the_code() and not k.startswith("TEST_")}
    env.update(dotenv_values(ROOT / ".env.example"))  # the empty ones too, as flask sets them
    env["AIMAK_INSTANCE_DIR"] = str(tmp_path)
    shown = subprocess.run(
        [sys.executable, "-c", "from marketplace import create_app; c = create_app().config; "
         "print(c['MEDIA_ROOT'], c['SQLALCHEMY_DATABASE_URI'], c['SITE_URL'], c['LOGIN_ADDRESS_LIMIT'], sep='|')"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.strip().splitlines()[-1] == "|".join(
        [str(tmp_path / "media"), f"sqlite:///{tmp_path / 'aimak.sqlite'}", "http://127.0.0.1:5000", "300 per 10 minutes"])
