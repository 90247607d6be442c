"""Login throttling: per account an escalating wait, per address a budget of failures.

Counted in Redis when REDIS_URL is set, so every worker and host sees the same numbers; in
this process's memory when there is no Redis or while it is away (it is tried again after
REDIS_RETRY_SECONDS). A Redis that fails never fails a login.

- Account (by an HMAC of the normalised email, so unknown emails are counted exactly like
  real ones and nothing tells them apart): after LOGIN_FAILURES_BEFORE_DELAY failures from
  anywhere, each attempt must wait LOGIN_FIRST_DELAY_SECONDS, doubled with every further
  failure, up to LOGIN_MAX_DELAY_SECONDS. Each attempt is counted, and the wait claimed,
  atomically before the password is checked (a success forgets the count), so forty addresses
  on two workers get one guess per wait between them, and a burst no more than the threshold.
- Address: LOGIN_ADDRESS_FAILURE_LIMIT failures in its window, then attempts wait for the
  window to end. Successful logins are not counted: fifty customers behind one market Wi-Fi
  all get in.
- Device (OWASP's device cookie): a browser that logged in to the account before skips both
  waits, so an attacker cannot lock the owner out; it has its own small failure budget.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from dataclasses import dataclass

import redis
from flask import Flask, current_app
from limits import parse as parse_limit

from marketplace.core.redisconn import redis_client

log = logging.getLogger(__name__)

#: Seconds to count in memory after Redis failed, before trying it again.
REDIS_RETRY_SECONDS = 5
PREFIX = "aimak:login:"
EXTENSION_KEY = "aimak.login_counters"

# KEYS[1]: the account's hash (f: attempts not yet proven right, n: next attempt allowed at, in ms).
# ARGV: now ms, threshold, first delay ms, max delay ms, memory seconds. Returns the ms still to
# wait (0: go). The attempt is counted here, before its password is checked, as if it failed (a
# success deletes the hash): attempts running at once each see the ones before them, so a burst
# gets no more guesses than the threshold (counted after the check, eight of a burst got through).
_CLAIM = """
local failures = tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
local threshold = tonumber(ARGV[2])
local now = tonumber(ARGV[1])
if failures >= threshold and now < tonumber(redis.call('HGET', KEYS[1], 'n') or '0') then
  return tonumber(redis.call('HGET', KEYS[1], 'n')) - now
end
failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
if failures >= threshold then
  redis.call('HSET', KEYS[1], 'n', now + math.min(tonumber(ARGV[3]) * 2 ^ (failures - threshold), tonumber(ARGV[4])))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return 0
"""
# KEYS[1]: the account's hash. ARGV: memory seconds. The attempt was counted by _CLAIM; its
# failure keeps the count for the memory period. Returns the attempts counted.
_FAIL = """
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return tonumber(redis.call('HGET', KEYS[1], 'f') or '0')
"""
# KEYS[1]: a window counter. ARGV: window seconds. Returns the count now.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
return count
"""


@dataclass(frozen=True)
class Policy:
    threshold: int
    first_delay_ms: int
    max_delay_ms: int
    memory_seconds: int
    address_failures: int
    address_window: int
    device_failures: int

    @classmethod
    def from_config(cls, config) -> Policy:
        address = parse_limit(config["LOGIN_ADDRESS_FAILURE_LIMIT"])
        return cls(threshold=config["LOGIN_FAILURES_BEFORE_DELAY"],
                   first_delay_ms=int(config["LOGIN_FIRST_DELAY_SECONDS"] * 1000),
                   max_delay_ms=int(config["LOGIN_MAX_DELAY_SECONDS"] * 1000),
                   memory_seconds=config["LOGIN_FAILURE_MEMORY_SECONDS"],
                   address_failures=address.amount, address_window=address.get_expiry(),
                   device_failures=config["LOGIN_DEVICE_FAILURE_LIMIT"])


class MemoryCounters:
    """The same operations as the Redis scripts, for one process (no Redis, or Redis away)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._hashes: dict[str, tuple[dict, float]] = {}
        self._counts: dict[str, tuple[int, float]] = {}

    def _hash(self, key: str, now: float) -> dict:
        value, expires = self._hashes.get(key, ({}, 0.0))
        return value if expires > now else {}

    def claim(self, key: str, now_ms: int, policy: Policy) -> int:
        with self._lock:
            now = now_ms / 1000
            fields = self._hash(key, now)
            if fields.get("f", 0) >= policy.threshold and now_ms < fields.get("n", 0):
                return fields["n"] - now_ms
            fields["f"] = fields.get("f", 0) + 1
            if fields["f"] >= policy.threshold:
                fields["n"] = now_ms + min(policy.first_delay_ms * 2 ** (fields["f"] - policy.threshold),
                                           policy.max_delay_ms)
            self._hashes[key] = (fields, now + policy.memory_seconds)
            self._forget_expired(now)
            return 0

    def fail(self, key: str, now_ms: int, policy: Policy) -> int:
        with self._lock:
            now = now_ms / 1000
            fields = self._hash(key, now)
            if fields:
                self._hashes[key] = (fields, now + policy.memory_seconds)
            return fields.get("f", 0)

    def count(self, key: str, window: int, now_ms: int) -> int:
        with self._lock:
            now = now_ms / 1000
            value, expires = self._counts.get(key, (0, 0.0))
            if expires <= now:
                value, expires = 0, now + window
            self._counts[key] = (value + 1, expires)
            return value + 1

    def peek(self, key: str, now_ms: int) -> tuple[int, int]:
        """(count, ms until its window ends) of a window counter."""
        with self._lock:
            value, expires = self._counts.get(key, (0, 0.0))
            left = int(expires * 1000) - now_ms
            return (value, left) if left > 0 else (0, 0)

    def delete(self, key: str) -> None:
        with self._lock:
            self._hashes.pop(key, None)
            self._counts.pop(key, None)

    def _forget_expired(self, now: float) -> None:
        if len(self._hashes) > 10_000:
            self._hashes = {k: v for k, v in self._hashes.items() if v[1] > now}
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}


class RedisCounters:
    def __init__(self, client: redis.Redis):
        self.client = client
        self._claim = client.register_script(_CLAIM)
        self._fail = client.register_script(_FAIL)
        self._count = client.register_script(_COUNT)

    def claim(self, key: str, now_ms: int, policy: Policy) -> int:
        return int(self._claim(keys=[key], args=[now_ms, policy.threshold, policy.first_delay_ms,
                                                 policy.max_delay_ms, policy.memory_seconds]))

    def fail(self, key: str, now_ms: int, policy: Policy) -> int:
        return int(self._fail(keys=[key], args=[policy.memory_seconds]))

    def count(self, key: str, window: int, now_ms: int) -> int:
        return int(self._count(keys=[key], args=[window]))

    def peek(self, key: str, now_ms: int) -> tuple[int, int]:
        with self.client.pipeline(transaction=False) as pipe:
            value, left = pipe.get(key).pttl(key).execute()
        return (int(value or 0), max(int(left), 0)) if value else (0, 0)

    def delete(self, key: str) -> None:
        self.client.delete(key)


class Counters:
    """Redis when it answers, else memory; every call returns an answer."""

    def __init__(self, app: Flask):
        client = redis_client(app)
        self.redis = RedisCounters(client) if client is not None else None
        self.memory = MemoryCounters()
        self._redis_back_at = 0.0

    def _call(self, name: str, *args):
        if self.redis is not None and time.monotonic() >= self._redis_back_at:
            try:
                return getattr(self.redis, name)(*args)
            except redis.RedisError as exc:
                self._redis_back_at = time.monotonic() + REDIS_RETRY_SECONDS
                log.warning("Login counters: Redis unavailable (%s); counting in this process for %ss",
                            type(exc).__name__, REDIS_RETRY_SECONDS)
        return getattr(self.memory, name)(*args)

    def claim(self, key, now_ms, policy):
        return self._call("claim", key, now_ms, policy)

    def fail(self, key, now_ms, policy):
        return self._call("fail", key, now_ms, policy)

    def count(self, key, window, now_ms):
        return self._call("count", key, window, now_ms)

    def peek(self, key, now_ms):
        return self._call("peek", key, now_ms)

    def delete(self, key):
        # Both: a key counted in memory while Redis was away must not outlive a success either.
        if self.redis is not None and time.monotonic() >= self._redis_back_at:
            try:
                self.redis.delete(key)
            except redis.RedisError:
                self._redis_back_at = time.monotonic() + REDIS_RETRY_SECONDS
        self.memory.delete(key)


def counters(app: Flask | None = None) -> Counters:
    app = app or current_app._get_current_object()
    found = app.extensions.get(EXTENSION_KEY)
    if found is None:
        found = app.extensions[EXTENSION_KEY] = Counters(app)
    return found


def _now_ms() -> int:
    return int(time.time() * 1000)


def fingerprint(purpose: str, value: str) -> str:
    """A keyed hash (HMAC with the app's secret): names a counter without storing the email."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{purpose}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:32]


def _account_key(email_key: str) -> str:
    return f"{PREFIX}acct:{email_key}"


def _address_key(address: str, window: int, now_ms: int) -> str:
    return f"{PREFIX}addr:{address}:{now_ms // (window * 1000)}"


def _device_key(device: str) -> str:
    return f"{PREFIX}dev:{device}"


# --- What the login asks -------------------------------------------------------------------

@dataclass(frozen=True)
class Wait:
    """Why an attempt may not be checked now, and for how many seconds."""

    scope: str  # "account" or "address"
    seconds: int


def policy() -> Policy:
    return Policy.from_config(current_app.config)


def _on() -> bool:
    """RATE_LIMITS_ON switches all counting (off in the test suite but where a test turns it on)."""
    return current_app.config.get("RATE_LIMITS_ON", True)


def wait_before_attempt(email_key: str, address: str) -> Wait | None:
    """None: check the password now (and, past the threshold, the next one waits)."""
    if not _on():
        return None
    rules, now, store = policy(), _now_ms(), counters()
    failures, left = store.peek(_address_key(address, rules.address_window, now), now)
    if failures >= rules.address_failures:
        return Wait("address", max(1, math.ceil(left / 1000)))
    left = store.claim(_account_key(email_key), now, rules)
    if left > 0:
        return Wait("account", max(1, math.ceil(left / 1000)))
    return None


def record_failure(email_key: str, address: str) -> int:
    """Count a wrong password for the account and the address; returns the account's failures."""
    if not _on():
        return 0
    rules, now, store = policy(), _now_ms(), counters()
    store.count(_address_key(address, rules.address_window, now), rules.address_window, now)
    return store.fail(_account_key(email_key), now, rules)


def record_success(email_key: str) -> None:
    if _on():
        counters().delete(_account_key(email_key))


def device_trusted(device: str) -> bool:
    """A device cookie is trusted until LOGIN_DEVICE_FAILURE_LIMIT wrong passwords were typed on it."""
    if not _on():
        return True
    rules, now = policy(), _now_ms()
    failures, _ = counters().peek(_device_key(device), now)
    return failures < rules.device_failures


def record_device_failure(device: str) -> None:
    if not _on():
        return
    rules, now = policy(), _now_ms()
    counters().count(_device_key(device), rules.memory_seconds, now)


def forget_account(email_key: str) -> None:
    """The owner proved themselves another way (a password reset): their account's wait ends."""
    if _on():
        counters().delete(_account_key(email_key))
