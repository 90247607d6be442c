"""Two app hosts on one PostgreSQL, one Redis and one bucket, as a country-wide deployment runs.

Each host is a real gunicorn with its own working folder (AIMAK_INSTANCE_DIR) and its own
task consumer (`flask worker`), in production configuration behind a pretend proxy
(TRUSTED_PROXIES=1, X-Forwarded-Proto: https). Files go to moto's S3 server, emails to a
loopback SMTP server. The hosts share nothing but what production shares.

Runs when TEST_DATABASE_URL is PostgreSQL and Redis answers (REDIS_TEST_URL, default db 7 of
the local Redis, flushed here); under CI a missing Redis is a failure, not a skip.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import create_engine, select, text, update

from marketplace.cli import create_app
from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.media.models import Image
from marketplace.notifications.models import OutboxEmail
from marketplace.notifications.services import queue_email
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from marketplace.producers.models import ProductPhoto
from marketplace.tasks import ScheduledRun
from tests.conftest import _create_postgres_database
from tests.factories import TEST_PASSWORD, UserFactory
from tests.media.imagedata import picture
from tests.orders.helpers import World, place
from tests.smtp_server import SmtpSink
from tests.standins.s3_server import MotoS3
from tests.stripe_server import free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/7")
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
#: The pretend proxy: HTTPS at the edge, and the client's address.
PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1"}
LOGIN_LIMIT = 4

pytestmark = pytest.mark.skipif(not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql"),
                                reason="two hosts share one PostgreSQL (TEST_DATABASE_URL)")


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


class Browser:
    """One person's browser against one host or another: cookies kept by hand, because the
    production cookies are Secure (`__Host-`) and the hosts speak plain HTTP behind the proxy."""

    def __init__(self, address: str = PROXY["X-Forwarded-For"]):
        self.cookies: dict[str, str] = {}
        self.headers = {**PROXY, "X-Forwarded-For": address}

    def request(self, method: str, url: str, referer: str | None = None, **kwargs) -> requests.Response:
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if referer:  # as a browser sends it; over HTTPS the CSRF check wants the same site
            headers["Referer"] = referer.replace("http://", "https://", 1)
        response = requests.request(method, url, headers=headers, allow_redirects=False, timeout=30, **kwargs)
        for name, value in response.cookies.items():
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response

    def get(self, url: str) -> requests.Response:
        return self.request("GET", url)

    def post_form(self, page_url: str, action_url: str, data: dict, files=None) -> requests.Response:
        token = TOKEN.search(self.get(page_url).text).group(1)
        return self.request("POST", action_url, referer=page_url, data={"csrf_token": token, **data}, files=files)


class Host:
    def __init__(self, name: str, workdir: Path, env: dict):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = workdir / name
        self.dir.mkdir()
        self.env = {**env, "AIMAK_INSTANCE_DIR": str(self.dir), "MEDIA_ROOT": str(self.dir / "media"),
                    "TASK_QUEUE_FILE": str(self.dir / "tasks.sqlite"), "PORT": str(self.port),
                    "HOST": "127.0.0.1", "WEB_CONCURRENCY": "2"}
        self.processes: list[subprocess.Popen] = []

    def log(self, part: str) -> Path:
        return self.dir / f"{part}.log"

    def run(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "marketplace.cli:create_app", *args], cwd=ROOT,
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def start(self) -> None:
        for part, command in (("web", [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]),
                              ("worker", [sys.executable, "-m", "flask", "--app", "marketplace.cli:create_app", "worker"])):
            with open(self.log(part), "w") as log:
                self.processes.append(subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                                       stderr=subprocess.STDOUT))

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/readyz", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass  # not listening yet, or still importing the app
            time.sleep(0.2)
        raise AssertionError(f"host {self.name} not ready:\n{self.log('web').read_text()[-3000:]}")

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown; huey finishes its tasks
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory):
    shared_redis = _redis_or_skip()
    shared_redis.flushdb()  # our own database number only
    workdir = tmp_path_factory.mktemp("two-hosts")
    database_url, drop_database = _create_postgres_database(os.environ["TEST_DATABASE_URL"])
    with MotoS3(workdir / "s3") as s3, SmtpSink() as smtp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
        env.update({
            "AIMAK_CONFIG": "production", "SECRET_KEY": "two-hosts-secret", "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL, "RATELIMIT_STORAGE_URI": REDIS_URL, "STORAGE_BACKEND": "s3",
            **{key: str(value) for key, value in s3.config().items()},
            "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "MAIL_USE_TLS": "false",
            "TRUSTED_PROXIES": "1", "LOG_FORMAT": "json", "PAGE_CACHE_SECONDS": "300",
            "SITE_URL": "https://aimak.example.com", "PYTHONUNBUFFERED": "1",
            # Low limits, so the test counts to them quickly.
            "LOGIN_ADDRESS_FAILURE_LIMIT": f"{LOGIN_LIMIT} per 10 minutes",
            "LOGIN_FAILURES_BEFORE_DELAY": str(LOGIN_LIMIT),
        })
        hosts = [Host("a", workdir, env), Host("b", workdir, env)]
        started = time.monotonic()
        # The release step on both hosts at once: one migrates, the other waits and finds nothing to do.
        releases = [host.run("db", "upgrade") for host in hosts]
        outputs = [release.communicate(timeout=180)[0] for release in releases]
        assert [release.returncode for release in releases] == [0, 0], outputs
        seeder = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                             "MEDIA_ROOT": str(workdir / "seeder"), "TASK_QUEUE_IMMEDIATE": False,
                             "REDIS_URL": REDIS_URL, "SITE_URL": "https://aimak.example.com"})
        for host in hosts:
            host.start()
        try:
            for host in hosts:
                host.wait_ready()
            yield {"a": hosts[0], "b": hosts[1], "seeder": seeder, "s3": s3, "smtp": smtp, "redis": shared_redis,
                   "started": started, "database_url": database_url}
        finally:
            for host in hosts:
                host.stop()
            with seeder.app_context():
                db.engine.dispose()
            drop_database()
            shared_redis.flushdb()


@pytest.fixture(scope="module")
def world(two_hosts):
    with two_hosts["seeder"].app_context():
        world = World()
        farmer = world.farm.user
        farmer.email = "farmer@example.com"
        customer = UserFactory(email="customer@example.com", name="Aigerim")
        db.session.commit()
        # A card order whose hold has lapsed: the hosts' schedulers will both fire expire-reservations.
        order = place(world, {world.honey: 1000}, customer=customer)
        db.session.execute(update(Order).where(Order.id == order.id).values(
            status=OrderStatus.PENDING_PAYMENT, payment_method=PaymentMethod.CARD,
            hold_until=utcnow() - timedelta(minutes=1)))
        db.session.commit()
        return {"product_id": world.potatoes.id, "product_name": world.potatoes.name, "farmer": farmer.email,
                "customer": customer.email, "order_id": order.id}


def _login(browser: Browser, host: Host, email: str, password: str = TEST_PASSWORD) -> requests.Response:
    return browser.post_form(f"{host.url}/login", f"{host.url}/login", {"email": email, "password": password})


def test_a_login_on_a_is_used_on_b(two_hosts, world):
    a, b = two_hosts["a"], two_hosts["b"]
    browser = Browser()
    assert _login(browser, a, world["customer"]).status_code == 302
    page = browser.get(f"{b.url}/account")
    assert page.status_code == 200 and "Aigerim" in page.text


def test_a_photo_uploaded_on_a_is_shown_by_b(two_hosts, world):
    a, b, s3 = two_hosts["a"], two_hosts["b"], two_hosts["s3"]
    farmer = Browser()
    assert _login(farmer, a, world["farmer"]).status_code == 302
    edit = f"{a.url}/shop/products/{world['product_id']}/edit"
    response = farmer.post_form(edit, f"{a.url}/shop/products/{world['product_id']}/photos", {},
                                files={"photo": ("carrots.png", picture("PNG", size=(800, 600)), "image/png")})
    assert response.status_code == 302, response.text[:500]
    with two_hosts["seeder"].app_context():
        key = db.session.scalar(select(Image.key).join(ProductPhoto, ProductPhoto.image_id == Image.id)
                                .where(ProductPhoto.product_id == world["product_id"]))
    assert any(stored.startswith(f"images/{key[:2]}/{key}") for stored in s3.keys("images/"))
    assert not list((a.dir / "media").rglob("*.jpg"))  # nothing on A's disk
    image = requests.get(f"{b.url}/media/i/{key}_400.jpg", headers=PROXY, timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    assert f"/media/i/{key}_" in requests.get(f"{b.url}/products/{world['product_id']}", headers=PROXY,
                                                     timeout=10).text


def test_a_catalog_change_on_a_is_seen_on_bs_next_anonymous_request(two_hosts, world):
    """B keeps the listing in its page cache (a rename made behind the app's back, which no
    host hears of, stays unseen there); the farmer's change made through A is seen on B's very
    next requests, whichever of B's workers answers."""
    a, b = two_hosts["a"], two_hosts["b"]
    listing = f"{b.url}/products"
    behind_the_apps_back = create_engine(two_hosts["database_url"])
    names = [world["product_name"]]
    for attempt in range(3):
        for _ in range(10):  # each of B's gunicorn workers renders and keeps the page
            assert names[-1] in requests.get(listing, headers=PROXY, timeout=10).text
        with behind_the_apps_back.begin() as connection:
            connection.execute(text("UPDATE product SET name = :name WHERE id = :id"),
                               {"name": f"Renamed behind the cache {attempt}", "id": world["product_id"]})
        pages = [requests.get(listing, headers=PROXY, timeout=10).text for _ in range(6)]
        if any(names[-1] in page for page in pages):
            break
        # A write the hosts did hear of (a scheduled job's, in a loaded CI run) renewed the pages
        # meanwhile: the cache is tried again under the new name.
        names.append(f"Renamed behind the cache {attempt}")
    else:
        pytest.fail("B's page cache never served the listing")
    behind_the_apps_back.dispose()
    farmer = Browser()
    _login(farmer, a, world["farmer"])
    response = farmer.post_form(f"{a.url}/shop/products", f"{a.url}/shop/products/{world['product_id']}/deactivate",
                                {})
    assert response.status_code == 302
    for _ in range(6):
        page = requests.get(listing, headers=PROXY, timeout=10).text
        assert not any(name in page for name in names) and "Renamed behind the cache" not in page


def test_the_login_limit_is_counted_across_both_hosts(two_hosts, world):
    """Wrong passwords alternate between A and B; B refuses (429) before it has itself seen as
    many attempts as the limit: it counted those made on A."""
    a, b = two_hosts["a"], two_hosts["b"]
    attacker = Browser(address="203.0.113.66")
    seen_by_b = 0
    for attempt in range(2 * LOGIN_LIMIT):
        host = (a, b)[attempt % 2]
        status = _login(attacker, host, world["customer"], "wrong password").status_code
        if host is b:
            seen_by_b += 1
            if status == 429:
                break
    else:
        pytest.fail("the login limit never refused")
    assert seen_by_b < LOGIN_LIMIT


def _events(host: Host, part: str, event: str) -> list[dict]:
    lines = []
    for line in host.log(part).read_text().splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            record = json.loads(line)
            if record.get("event") == event:
                lines.append(record)
    return lines


def test_a_scheduled_job_fired_on_both_hosts_at_once_takes_effect_once(two_hosts, world):
    """Both workers' schedulers fire expire-reservations every minute into the shared queue;
    each run claims its minute, so one run per minute happens across the two hosts."""
    a, b = two_hosts["a"], two_hosts["b"]
    deadline = time.monotonic() + 75  # the next minute boundary, at the latest
    while time.monotonic() < deadline:
        with two_hosts["seeder"].app_context():
            if db.session.get(Order, world["order_id"]).status == OrderStatus.EXPIRED:
                break
        time.sleep(0.5)
    else:
        pytest.fail("no worker expired the lapsed card hold within a minute")
    time.sleep(2)  # the other host's run of the same minute, if it were to happen, has happened
    runs = [r for host in (a, b) for r in _events(host, "worker", "scheduled_job") if r["job"] == "expire-reservations"]
    slots = [r["slot"] for r in runs]
    assert slots and len(slots) == len(set(slots)), runs  # never two runs of one minute
    assert sum(r.get("report") == "1 reservation(s) expired" for r in runs) == 1
    with two_hosts["seeder"].app_context():
        assert db.session.get(ScheduledRun, "expire-reservations").outcome == "done"


def test_a_job_run_by_hand_on_both_hosts_at_once_runs_once(two_hosts):
    """`flask run-scheduled` on A and B at the same moment (a daily job: no scheduler fires it
    meanwhile): one runs it, the other finds its scheduled time already claimed."""
    a, b = two_hosts["a"], two_hosts["b"]
    runs = [host.run("run-scheduled", "extend-schedules") for host in (a, b)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    said = sorted(re.search(r"^extend-schedules: .*$", output, re.M).group(0) for output in outputs)
    assert said == ["extend-schedules: already run for this slot.", "extend-schedules: ran."], outputs
    with two_hosts["seeder"].app_context():
        assert db.session.get(ScheduledRun, "extend-schedules").outcome == "done"


def test_an_email_is_sent_once(two_hosts, world):
    a, b, smtp = two_hosts["a"], two_hosts["b"], two_hosts["smtp"]
    with two_hosts["seeder"].app_context():
        customer = db.session.scalar(select(UserFactory._meta.model).where(
            UserFactory._meta.model.email == world["customer"]))
        email = queue_email(customer.email, "verify_email", "Once only", user=customer, token="t-once")
        db.session.commit()  # queued for the hosts' workers (in the shared Redis) when the context ends
        email_id = email.id
    # And both hosts run the outbox by hand at the same moment, as cron once did.
    sends = [host.run("send-outbox") for host in (a, b)]
    for send in sends:
        send.communicate(timeout=60)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(m["Subject"] == "Once only" for m in smtp.messages):
        time.sleep(0.2)
    time.sleep(1.5)  # room for a second, wrong, copy to arrive
    once = [m for m in smtp.messages if m["Subject"] == "Once only"]
    assert len(once) == 1
    with two_hosts["seeder"].app_context():
        row = db.session.get(OutboxEmail, email_id)
        assert row.sent_at is not None and row.attempts == 1
        assert once[0]["Message-ID"].startswith(f"<outbox-{email_id}.")


def test_the_whole_run_took(two_hosts):
    """Not a check: the timing goes to the report (pytest -s shows it)."""
    print(f"\ntwo hosts: {time.monotonic() - two_hosts['started']:.1f} s from release to here")
