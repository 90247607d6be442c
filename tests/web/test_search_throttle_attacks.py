"""The search throttles (#22) from a scraper's side: /products?q= (SEARCH_RATE_LIMIT) and
/search/suggest (SUGGEST_RATE_LIMIT) cannot be walked around, and browsing stays free."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from flask_migrate import upgrade
from marketplace.cli import create_app
limited = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": sys.argv[1], "MEDIA_ROOT": sys.argv[2],
                      "RATE_LIMITS_ON": True, "SEARCH_RATE_LIMIT": "3 per minute", "SUGGEST_RATE_LIMIT": "3 per minute",
                      "RATELIMIT_STORAGE_URI": "memory://"})
with limited.app_context():
    upgrade()
scraper = limited.test_client()
def codes(urls, addresses, method="GET", headers=()):
    return [scraper.open(url, method=method, environ_base={"REMOTE_ADDR": address}, headers=dict(headers)).status_code
            for url, address in zip(urls, addresses)]
five = range(5)
print(json.dumps({
    # no proxy is trusted (TRUSTED_PROXIES=0): a forged client address changes nothing
    "forged_forwarded_for": codes([f"/products?q=w{i}" for i in five], ["10.0.0.1"] * 5,
                                  headers=[("X-Forwarded-For", "198.51.100.7"), ("X-Real-IP", "198.51.100.7")]),
    "head": codes([f"/products?q=w{i}" for i in five], ["10.0.0.2"] * 5, method="HEAD"),
    "odd_spaces_around_q": codes([f"/products?q=%E3%80%80w{i}%09" for i in five], ["10.0.0.3"] * 5),
    "one_household_ipv6": codes([f"/products?q=w{i}" for i in five], [f"2001:db8::{i + 1}" for i in five]),
    "ipv4_written_as_ipv6": codes([f"/products?q=w{i}" for i in five], ["10.0.0.4", "::ffff:10.0.0.4"] * 3),
    "suggest": codes([f"/search/suggest?q=ka{i}" for i in five], ["10.0.0.5"] * 5),
    "suggest_forged_forwarded_for": codes([f"/search/suggest?q=ka{i}" for i in five], ["10.0.0.6"] * 5,
                                          headers=[("X-Forwarded-For", "198.51.100.8")]),
    # browsing after the limit: no query, a blank one, a first q that is empty (the one read), Q
    "browsing": codes(["/products", "/products?q=%20%20", "/products?q=&q=w", "/products?Q=w", "/products?page=2"],
                      ["10.0.0.1"] * 5),
    "search_after_suggest": codes(["/products?q=w"], ["10.0.0.5"]),
}))
"""


def test_the_search_throttles_cannot_be_walked_around(tmp_path):
    own_database = f"sqlite:///{tmp_path / 'throttle.sqlite'}"
    result = subprocess.run([sys.executable, "-c", SCRIPT, own_database, str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    limited = [200, 200, 200, 429, 429]
    for case in ("forged_forwarded_for", "head", "odd_spaces_around_q", "one_household_ipv6", "ipv4_written_as_ipv6",
                 "suggest", "suggest_forged_forwarded_for"):
        assert seen[case] == limited, case
    assert seen["browsing"] == [200] * 5
    assert seen["search_after_suggest"] == [200]  # each throttle counts its own requests
