"""Security review (#18), from the attacker's side: logins, sessions, tokens, events, limits.

These run in one process against the app with limits on and counters in memory; the same
counts shared by two gunicorn workers through Redis (and Redis stopped mid-run) are in
test_throttle_workers.py.
"""
from __future__ import annotations

import logging
import re
import statistics
import threading
import time

import pytest
import redis
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from marketplace.cli import create_app
from marketplace.accounts import services, throttle
from marketplace.accounts.models import Role, User
from marketplace.core.extensions import db, limiter
from tests.concurrency import run_together
from tests.conftest import PASSWORD, IsolatedClient
from tests.factories import ProductFactory, UserFactory


@pytest.fixture
def guarded(app, database_url, tmp_path):
    """An app with every limit and throttle on (the suite's app has them off), fresh counters,
    CSRF on, and a clock the test can move."""
    guarded = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                          "MEDIA_ROOT": str(tmp_path), "RATE_LIMITS_ON": True,
                          "RATELIMIT_STORAGE_URI": "memory://"})
    guarded.test_client_class = IsolatedClient
    yield guarded
    limiter.reset()


class Clock:
    def __init__(self, monkeypatch):
        self.now = time.time()
        monkeypatch.setattr(throttle, "_now_ms", lambda: int(self.now * 1000))

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def login(client, email, password, address="203.0.113.1", **extra):
    return client.post("/login", data={"email": email, "password": password, **extra},
                       environ_base={"REMOTE_ADDR": address})


def checked(response) -> bool:
    """The password was looked at (a plain refusal), not held back by the throttle."""
    return response.status_code == 200 and "Email or password is not correct." in response.get_data(as_text=True)


# --- 1. Credential stuffing: many addresses against one account -------------------------

def test_forty_addresses_guessing_one_account_are_slowed_down_not_let_through(guarded, ctx, clock, outbox):
    UserFactory(email="target@example.test")
    attacker = guarded.test_client()
    results = [login(attacker, "target@example.test", f"guess {i}", address=f"10.0.{i}.7") for i in range(40)]
    assert sum(checked(r) for r in results) == 5  # LOGIN_FAILURES_BEFORE_DELAY, then the wait
    throttled = [r for r in results if r.status_code == 429]
    assert len(throttled) == 35 and all(r.headers["Retry-After"] for r in throttled)
    assert "Too many attempts for this account" in throttled[0].get_data(as_text=True)
    # The right password during the wait does not get in either: nothing is checked.
    assert login(attacker, "target@example.test", PASSWORD, address="10.9.9.9").status_code == 429
    # The owner is told once, in their language.
    [notice] = outbox("target@example.test")
    assert notice.template == "login_attempts"


def test_a_burst_of_guesses_at_once_gets_no_more_than_the_threshold(guarded, ctx, outbox):
    # Found attacking two hosts: attempts in flight together all passed the check while the count
    # was still below the threshold (8 of a burst were checked, not 5). A slow hash keeps them in
    # flight together, as scrypt does in production. On SQLite a POST takes the write lock up
    # front, so logins take turns there; the burst is real on PostgreSQL (12 of 12 checked before).
    UserFactory(email="target@example.test",
                password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:300000"))
    db.session.commit()

    def guess(i):
        return lambda: login(guarded.test_client(), "target@example.test", f"guess {i}", address=f"10.1.{i}.7")

    results = run_together(guarded, [guess(i) for i in range(12)])
    assert sum(checked(r) for r in results) == guarded.config["LOGIN_FAILURES_BEFORE_DELAY"]
    assert sum(r.status_code == 429 for r in results) == 12 - guarded.config["LOGIN_FAILURES_BEFORE_DELAY"]


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_claims_at_once_count_each_attempt_before_its_password_is_checked(guarded, store):
    rules = throttle.Policy.from_config(guarded.config)
    if store == "redis":
        client = redis.Redis.from_url("redis://127.0.0.1:6379/6")
        counters = throttle.RedisCounters(client)
    else:
        counters = throttle.MemoryCounters()
    key = f"aimak:test:burst:{time.time_ns()}"
    now = throttle._now_ms()
    barrier = threading.Barrier(12)
    waits = []

    def claim():
        barrier.wait()
        waits.append(counters.claim(key, now, rules))

    threads = [threading.Thread(target=claim) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert waits.count(0) == rules.threshold and all(w > 0 for w in waits if w)
    assert counters.fail(key, now, rules) == rules.threshold  # the owner's notice reads this count
    counters.delete(key)
    assert counters.claim(key, now, rules) == 0  # a success forgets every attempt counted


def test_the_wait_doubles_with_each_failure_and_never_locks_for_good(guarded, ctx, clock):
    UserFactory(email="target@example.test")
    attacker = guarded.test_client()
    for i in range(5):
        login(attacker, "target@example.test", f"guess {i}")
    waits = []
    for i in range(14):
        refused = login(attacker, "target@example.test", f"again {i}")
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        clock.advance(waits[-1])
        later = login(attacker, "target@example.test", f"later {i}")
        assert checked(later), (i, waits, later.get_data(as_text=True)[-3000:])  # one guess per wait
    assert waits[:5] == [1, 2, 4, 8, 16]
    assert max(waits) == guarded.config["LOGIN_MAX_DELAY_SECONDS"]  # capped: 15 minutes at most
    clock.advance(guarded.config["LOGIN_MAX_DELAY_SECONDS"])
    assert login(attacker, "target@example.test", PASSWORD).status_code == 302  # the owner gets in


def test_the_owners_known_device_gets_in_while_the_account_is_being_guessed(guarded, ctx, clock):
    UserFactory(email="owner@example.test")
    phone = guarded.test_client()
    assert login(phone, "owner@example.test", PASSWORD, address="192.0.2.50").status_code == 302
    phone.post("/logout", data={})
    attacker = guarded.test_client()
    for i in range(30):
        login(attacker, "owner@example.test", f"guess {i}", address=f"10.1.{i}.1")
    assert login(attacker, "owner@example.test", PASSWORD, address="10.1.99.1").status_code == 429
    # The phone that logged in before carries its device cookie: no wait for it.
    assert login(phone, "owner@example.test", PASSWORD, address="192.0.2.50").status_code == 302
    # A stolen device cookie is no skeleton key: wrong passwords on it use up its own budget.
    thief = guarded.test_client()
    thief.set_cookie("device", phone.get_cookie("device").value)
    statuses = [login(thief, "owner@example.test", f"thief {i}", address="10.2.0.1").status_code for i in range(12)]
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]


def test_a_password_reset_ends_the_wait_for_the_owner(guarded, ctx, clock, outbox):
    UserFactory(email="owner@example.test")
    attacker = guarded.test_client()
    for i in range(8):
        login(attacker, "owner@example.test", f"guess {i}", address=f"10.3.{i}.1")
    owner = guarded.test_client()
    assert login(owner, "owner@example.test", PASSWORD, address="192.0.2.60").status_code == 429
    owner.post("/password/forgot", data={"email": "owner@example.test"}, environ_base={"REMOTE_ADDR": "192.0.2.60"})
    token = re.search(r"/password/reset#(\S+)", outbox("owner@example.test")[-1].body_text).group(1)
    owner.post("/password/reset", data={"token": token, "password": "a fresh spring meadow",
                                        "confirm": "a fresh spring meadow"}, environ_base={"REMOTE_ADDR": "192.0.2.60"})
    assert login(owner, "owner@example.test", "a fresh spring meadow", address="192.0.2.60").status_code == 302


def test_unknown_emails_are_throttled_exactly_like_real_ones(guarded, ctx, clock):
    UserFactory(email="real@example.test")
    attacker = guarded.test_client()
    real = [login(attacker, "real@example.test", f"g{i}", address=f"10.4.{i}.1") for i in range(8)]
    ghost = [login(attacker, "ghost@example.test", f"g{i}", address=f"10.5.{i}.1") for i in range(8)]
    assert [r.status_code for r in real] == [r.status_code for r in ghost] == [200] * 5 + [429] * 3
    assert [r.headers.get("Retry-After") for r in real] == [r.headers.get("Retry-After") for r in ghost]


# --- 1. Many accounts behind one address, and a market's Wi-Fi ---------------------------

def test_one_address_guessing_many_accounts_is_stopped_but_known_devices_there_get_in(guarded, ctx, clock):
    regular = UserFactory(email="regular@example.test")
    stall_phone = guarded.test_client()
    assert login(stall_phone, regular.email, PASSWORD, address="198.51.100.7").status_code == 302
    stall_phone.post("/logout", data={})
    victims = [UserFactory(email=f"victim{i}@example.test").email for i in range(60)]
    attacker = guarded.test_client()
    results = [login(attacker, email, "Winter2024!", address="198.51.100.7") for email in victims]
    assert sum(checked(r) for r in results) == 40  # LOGIN_ADDRESS_FAILURE_LIMIT: 40 per 10 minutes
    assert all(r.status_code == 429 for r in results[40:])
    assert "from your network" in results[-1].get_data(as_text=True)
    # A phone that logged in from there before is let through; other addresses are untouched.
    assert login(stall_phone, regular.email, PASSWORD, address="198.51.100.7").status_code == 302
    assert login(guarded.test_client(), victims[0], PASSWORD, address="198.51.100.8").status_code == 302


def test_fifty_customers_behind_one_market_wifi_all_log_in(guarded, ctx, clock):
    customers = [UserFactory(email=f"shopper{i}@example.test").email for i in range(50)]
    started = time.monotonic()
    statuses = []
    for i, email in enumerate(customers):
        phone = guarded.test_client()
        if i % 5 == 0:  # one in five mistypes first
            statuses.append(login(phone, email, "typo " + PASSWORD, address="192.0.2.1").status_code)
        statuses.append(login(phone, email, PASSWORD, address="192.0.2.1").status_code)
    assert statuses.count(302) == 50 and statuses.count(429) == 0
    assert time.monotonic() - started < 60


# --- 2. Timing and what registration reveals ---------------------------------------------

def test_an_unknown_email_costs_the_same_password_hash_as_a_real_one(app, ctx, monkeypatch):
    # A hash slow enough to measure (the suite's own is fast on purpose).
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:200000")
    user = UserFactory(email="timed@example.test", password_hash=services.hash_password("not this one"))

    def cost(who) -> float:
        started = time.perf_counter()
        services.check_password(who, "a wrong guess")
        return time.perf_counter() - started

    # Interleaved, so a busy machine slows both series alike (two blocks of five failed under load).
    pairs = [(cost(user), cost(None)) for _ in range(9)]
    known = statistics.median(k for k, _ in pairs)
    unknown = statistics.median(u for _, u in pairs)
    assert 0.6 < unknown / known < 1.6, (known, unknown)
    assert services.dummy_hash("pbkdf2:sha256:200000").startswith("pbkdf2:sha256:200000$")


def test_registration_is_rate_limited_per_address(guarded, ctx, monkeypatch):
    monkeypatch.setitem(guarded.config, "REGISTER_RATE_LIMIT", "5 per 10 minutes")
    client = guarded.test_client()
    codes = [client.post("/register", data={"name": "Bot", "email": f"bot{i}@example.test", "password": PASSWORD,
                                            "confirm": PASSWORD, "account_type": "customer",
                                            "producer_kind": "farmer"},
                         environ_base={"REMOTE_ADDR": "10.6.0.1"}).status_code for i in range(8)]
    assert codes == [302] * 5 + [429] * 3
    assert db.session.scalar(select(db.func.count(User.id))) == 5
    # The refusal says how long to wait, as the Retry-After header does: the window is ten minutes.
    refused = client.post("/register", data={"name": "Bot", "email": "bot9@example.test"},
                          environ_base={"REMOTE_ADDR": "10.6.0.1"}, headers={"Accept-Language": "ru"})
    assert 540 < int(refused.headers["Retry-After"]) <= 600
    assert "Please wait a minute" not in refused.get_data(as_text=True)
    assert "10 минут" in refused.get_data(as_text=True)


def test_reset_requests_are_limited_per_address_and_per_email(guarded, ctx, outbox):
    UserFactory(email="victim@example.test")
    client = guarded.test_client()
    per_email = [client.post("/password/forgot", data={"email": "victim@example.test"},
                             environ_base={"REMOTE_ADDR": f"10.7.0.{i}"}).status_code for i in range(5)]
    assert per_email == [302, 302, 302, 429, 429]  # PASSWORD_RESET_EMAIL_LIMIT: 3 an hour
    assert len(outbox("victim@example.test")) == 3
    per_address = [client.post("/password/forgot", data={"email": f"x{i}@example.test"},
                               environ_base={"REMOTE_ADDR": "10.8.0.1"}).status_code for i in range(12)]
    assert per_address.count(302) == 10 and per_address[10:] == [429, 429]


def test_asking_for_the_confirmation_email_again_is_limited(guarded, ctx, outbox):
    UserFactory(email="new@example.test", email_verified_at=None)
    client = guarded.test_client()
    login(client, "new@example.test", PASSWORD)
    codes = [client.post("/account/verify", data={}).status_code for _ in range(5)]
    assert codes == [302, 302, 302, 429, 429]
    assert len(outbox("new@example.test")) == 3


# --- 3. Sessions: a planted session is worth nothing after login -------------------------

def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


@pytest.fixture
def strict(app, database_url, tmp_path):
    strict = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                         "MEDIA_ROOT": str(tmp_path), "WTF_CSRF_ENABLED": True})
    strict.test_client_class = IsolatedClient
    return strict


def test_a_planted_session_and_csrf_token_are_useless_after_the_victim_logs_in(strict, ctx):
    UserFactory(email="victim@example.test", name="Victim")
    attacker = strict.test_client()
    planted_token = _csrf(attacker.get("/login").get_data(as_text=True))
    planted_cookie = attacker.get_cookie("session").value

    victim = strict.test_client()
    victim.set_cookie("session", planted_cookie)  # e.g. through a subdomain or a shared kiosk
    response = victim.post("/login", data={"email": "victim@example.test", "password": PASSWORD,
                                           "csrf_token": planted_token})
    assert response.status_code == 302
    assert victim.get_cookie("session").value != planted_cookie  # cleared and re-keyed
    assert "My account" in victim.get("/").get_data(as_text=True)

    # The attacker's copy of the cookie is still an anonymous visitor's.
    assert attacker.get("/account").status_code == 302
    # The token the attacker knows does not work in the victim's session (a cross-site form).
    forged = victim.post("/account", data={"name": "Hacked", "phone": "", "locale": "", "csrf_token": planted_token})
    assert forged.status_code == 400
    assert db.session.scalar(select(User.name).where(User.email == "victim@example.test")) == "Victim"
    # The victim's own new token works.
    fresh = _csrf(victim.get("/account").get_data(as_text=True))
    assert fresh != planted_token
    assert victim.post("/account", data={"name": "Victim Two", "phone": "", "locale": "",
                                         "csrf_token": fresh}).status_code == 302


def test_the_basket_survives_the_fresh_session_of_a_login(client, ctx):
    UserFactory(email="shopper@example.test")
    with client.session_transaction() as session:
        session["basket"] = {"day": 1, "items": {"5": 1000}}
        session["planted"] = "by someone else"
    client.post("/login", data={"email": "shopper@example.test", "password": PASSWORD})
    with client.session_transaction() as session:
        assert session["basket"] == {"day": 1, "items": {"5": 1000}}
        assert "planted" not in session


def test_a_role_change_ends_the_users_sessions(client, app, ctx):
    UserFactory(email="admin@example.test", roles=[Role.ADMIN])
    member = UserFactory(email="member@example.test")
    member_id = member.id
    members_browser = app.test_client()
    members_browser.post("/login", data={"email": "member@example.test", "password": PASSWORD})
    assert members_browser.get("/account").status_code == 200
    client.post("/login", data={"email": "admin@example.test", "password": PASSWORD})
    client.post(f"/admin/users/{member_id}", data={"role": "organizer", "action": "grant", "confirmed": "yes"})
    assert members_browser.get("/account").status_code == 302  # log in again, in a fresh session


# --- 4. Security events --------------------------------------------------------------------

def events(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "aimak.security"]


def test_security_events_name_who_what_where_and_the_outcome_never_a_secret(client, app, ctx, caplog, outbox):
    caplog.set_level(logging.INFO, logger="aimak")
    admin = UserFactory(email="admin@example.test", roles=[Role.ADMIN])
    other = UserFactory(email="other@example.test", roles=[Role.PRODUCER])
    product = ProductFactory(producer__user=other)
    client.post("/login", data={"email": "admin@example.test", "password": "wrong password here"},
                environ_base={"REMOTE_ADDR": "203.0.113.9"})
    client.post("/login", data={"email": "admin@example.test", "password": PASSWORD})
    client.post(f"/admin/users/{other.id}", data={"role": "organizer", "action": "grant", "confirmed": "yes"})
    client.post(f"/admin/users/{other.id}/status", data={"action": "deactivate"})
    client.post("/password/forgot", data={"email": "admin@example.test"})
    token = re.search(r"/password/reset#(\S+)", outbox("admin@example.test")[-1].body_text).group(1)
    client.post("/password/reset", data={"token": token, "password": "violet steppe evening",
                                         "confirm": "violet steppe evening"})
    mallory = UserFactory(email="mallory@example.test", roles=[Role.PRODUCER])
    browser = app.test_client()
    browser.post("/login", data={"email": mallory.email, "password": PASSWORD})
    assert browser.get(f"/shop/products/{product.id}/edit").status_code == 404  # another producer's

    seen = {r.event: r for r in events(caplog)}
    for name in ("login_failed", "login_succeeded", "role_granted", "user_deactivated",
                 "password_reset_requested", "password_reset_done", "access_refused"):
        assert name in seen, name
    assert seen["login_failed"].address == "203.0.113.9" and seen["login_failed"].outcome == "refused"
    assert seen["login_failed"].target_user_id == admin.id
    assert seen["user_deactivated"].user_id == admin.id and seen["user_deactivated"].target_user_id == other.id
    assert seen["access_refused"].user_id == mallory.id and seen["access_refused"].outcome == "not_found"
    assert seen["password_reset_done"].outcome == "done"
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records if r.name.startswith("aimak.security"))
    for secret in (PASSWORD, "wrong password here", "violet steppe evening", token, "admin@example.test"):
        assert secret not in " ".join(str(r.__dict__) for r in events(caplog)), secret
    assert token not in " ".join(r.getMessage() for r in caplog.records if r.name == "aimak.request")
    assert logged


def test_throttling_and_rate_limits_leave_events(guarded, ctx, clock, caplog):
    caplog.set_level(logging.INFO, logger="aimak")
    UserFactory(email="t@example.test")
    attacker = guarded.test_client()
    for i in range(7):
        login(attacker, "t@example.test", f"guess {i}", address=f"10.10.{i}.1")
    throttled = [r for r in events(caplog) if r.event == "login_throttled"]
    assert throttled and throttled[0].scope == "account" and throttled[0].outcome == "refused"


# --- 7. Tokens ----------------------------------------------------------------------------

def test_reset_token_carries_no_part_of_the_password_hash_and_its_page_sends_no_referrer(client, ctx, outbox):
    import base64
    import json

    user = UserFactory(email="r@example.test")
    client.post("/password/forgot", data={"email": "r@example.test"})
    token = re.search(r"http://localhost/password/reset#(\S+)", outbox()[0].body_text).group(1)
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert set(payload) == {"uid", "fp"}
    for start in range(len(user.password_hash) - 8):
        assert user.password_hash[start:start + 8] not in token
    page = client.get("/password/reset")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get("/verify").headers["Referrer-Policy"] == "no-referrer"


# --- 9. Deactivation -----------------------------------------------------------------------

def test_an_admin_deactivates_a_user_who_is_logged_out_everywhere_and_can_reactivate(client, app, ctx):
    UserFactory(email="admin@example.test", roles=[Role.ADMIN])
    user = UserFactory(email="spammer@example.test")
    user_id = user.id
    their_browser = app.test_client()
    their_browser.post("/login", data={"email": "spammer@example.test", "password": PASSWORD, "remember": "y"})
    client.post("/login", data={"email": "admin@example.test", "password": PASSWORD})
    assert "Deactivate account" in client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    client.post(f"/admin/users/{user_id}/status", data={"action": "deactivate"})
    assert their_browser.get("/account").status_code == 302
    again = app.test_client().post("/login", data={"email": "spammer@example.test", "password": PASSWORD})
    assert again.status_code == 200 and "Email or password is not correct." in again.get_data(as_text=True)
    assert "deactivated" in client.get("/admin/users").get_data(as_text=True)
    client.post(f"/admin/users/{user_id}/status", data={"action": "reactivate"})
    assert app.test_client().post("/login", data={"email": "spammer@example.test",
                                                  "password": PASSWORD}).status_code == 302


def test_an_admin_cannot_deactivate_themself_and_others_cannot_deactivate_at_all(client, app, ctx):
    admin = UserFactory(email="admin@example.test", roles=[Role.ADMIN])
    admin_id = admin.id
    client.post("/login", data={"email": "admin@example.test", "password": PASSWORD})
    client.post(f"/admin/users/{admin_id}/status", data={"action": "deactivate"})
    assert db.session.get(User, admin_id).active
    customer = app.test_client()
    UserFactory(email="c@example.test")
    customer.post("/login", data={"email": "c@example.test", "password": PASSWORD})
    assert customer.post(f"/admin/users/{admin_id}/status", data={"action": "deactivate"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(User, admin_id).active
