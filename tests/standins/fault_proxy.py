"""A fault-injecting HTTP proxy on a free loopback port, to put in front of localstripe
(or any HTTP service a test runs).

It forwards every request unchanged (method, path, query, headers such as Authorization
and Idempotency-Key, body) to the target and relays the answer, except where a rule the
test set says otherwise for the Nth call matching a method and a path:

- ``fail``: answer status S with a Stripe-shaped JSON error; the target never sees the call.
- ``drop``: close the connection without answering; the target never sees the call
  (the client gets a network error).
- ``drop_response``: forward the call, let the target act, then close the connection
  without answering — the classic "timed out, but Stripe did it".
- ``delay``: wait X seconds before forwarding (or, with ``after_forwarding=True``, after
  the target acted and before answering: the client's read timeout fires after success).

``calls()`` is the log: method, path, idempotency key, what the target answered and what
the client got, in the order the calls arrived.

localstripe ignores Idempotency-Key (a retry with the same key acts twice). With
``stripe_idempotency=True`` the proxy keeps the answers to POSTs by key and replays them as
Stripe does, so "retry with the same key after a lost answer" can be tested for real.
"""
from __future__ import annotations

import http.client
import json
import re
import select
import socket
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

#: Headers that describe one connection, not the request: never forwarded as they came.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                         "trailers", "transfer-encoding", "upgrade", "host", "content-length"})

#: What Stripe calls the error type for a status, when the test does not say.
_STRIPE_ERROR_TYPE = {402: "card_error"}
_STRIPE_ERROR_CODE = {402: "card_declined", 404: "resource_missing", 429: "rate_limit"}


@dataclass(frozen=True)
class Call:
    """One request the proxy received, and what became of it."""

    method: str
    path: str  #: without the query string
    query: str
    idempotency_key: str | None
    body: bytes
    #: forwarded, failed (injected status), dropped (never forwarded), response_dropped
    #: (forwarded, answer withheld), replayed (idempotent replay, not forwarded),
    #: idempotency_error, upstream_unreachable, client_gone, or in_flight
    outcome: str = "in_flight"
    status: int | None = None  #: what the client was sent; None when it got no answer
    upstream_status: int | None = None  #: what the target answered; None when it never saw the call

    @property
    def form(self) -> dict[str, str]:
        """The form-encoded body as a dict (Stripe's request format), last value wins."""
        return dict(urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def reached_upstream(self) -> bool:
        return self.upstream_status is not None


@dataclass
class Rule:
    """A fault for the calls matching ``method`` and ``path``; ``fired`` counts its uses."""

    action: str
    method: str
    path: re.Pattern[str]
    nth: int
    times: int | None  #: None: every matching call from the nth on
    status: int = 0
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    after_forwarding: bool = False
    seen: int = 0
    fired: int = 0

    def _take(self, method: str, path: str) -> bool:
        """Count a call that matches; True when this one is due for the fault (caller holds the lock)."""
        if self.method not in ("*", method) or not self.path.fullmatch(path):
            return False
        self.seen += 1
        due = self.seen >= self.nth and (self.times is None or self.seen < self.nth + self.times)
        if due:
            self.fired += 1
        return due


@dataclass
class _StoredResult:
    fingerprint: tuple
    status: int | None = None  #: None while the first request is still in flight
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class _Plan:
    index: int
    generation: int
    delay_before: float = 0.0
    delay_after: float = 0.0
    action: Rule | None = None


def stripe_error_body(status: int, message: str | None = None, type: str | None = None,
                      code: str | None = None) -> bytes:
    """The JSON Stripe answers with an error; stripe-python picks the exception from status and type."""
    error = {"type": type or _STRIPE_ERROR_TYPE.get(status) or ("api_error" if status >= 500 else
                                                                 "invalid_request_error"),
             "message": message or f"Injected failure: HTTP {status} from the fault proxy."}
    if code or status in _STRIPE_ERROR_CODE:
        error["code"] = code or _STRIPE_ERROR_CODE[status]
    return json.dumps({"error": error}).encode()


class FaultProxy:
    """``with FaultProxy(localstripe.url) as proxy:`` — then point the client at ``proxy.url``."""

    def __init__(self, target: str, *, stripe_idempotency: bool = False, upstream_timeout: float = 30):
        parsed = urllib.parse.urlsplit(target)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"target must be an http:// URL, not {target!r}")
        self.target = target.rstrip("/")
        self._target_host = parsed.hostname
        self._target_port = parsed.port or 80
        self._target_prefix = parsed.path.rstrip("/")
        self.stripe_idempotency = stripe_idempotency
        self.upstream_timeout = upstream_timeout
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._rules: list[Rule] = []
        self._calls: list[Call] = []
        self._generation = 0  #: bumped by reset(), so a call in flight then does not write into the new log
        self._stored: dict[tuple, _StoredResult] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        # A short poll interval: stop() waits for one, and tests start and stop a proxy each.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; calls still waiting on a delay end at once without being forwarded."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()  # joins the handler threads
        self._thread.join()
        self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The proxy's base URL, standing for the target's (same paths)."""
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- rules ----------------------------------------------------------------------

    def fail(self, method: str, path: str, *, status: int = 500, nth: int = 1, times: int | None = 1,
             message: str | None = None, type: str | None = None, code: str | None = None,
             headers: dict[str, str] | None = None) -> Rule:
        """Answer the nth matching call (and ``times - 1`` more) with ``status`` and a Stripe error body."""
        body = stripe_error_body(status, message, type, code)
        return self._add(Rule("fail", method, re.compile(path), nth, times, status=status, body=body,
                              headers={"Content-Type": "application/json", **(headers or {})}))

    def drop(self, method: str, path: str, *, nth: int = 1, times: int | None = 1) -> Rule:
        """Close the nth matching call's connection unanswered; the target never sees it."""
        return self._add(Rule("drop", method, re.compile(path), nth, times))

    def drop_response(self, method: str, path: str, *, nth: int = 1, times: int | None = 1) -> Rule:
        """Forward the nth matching call, then close the connection without relaying the answer."""
        return self._add(Rule("drop_response", method, re.compile(path), nth, times))

    def delay(self, method: str, path: str, seconds: float, *, nth: int = 1, times: int | None = 1,
              after_forwarding: bool = False) -> Rule:
        """Hold the nth matching call ``seconds`` before forwarding it (or after, before answering).

        With ``stripe_idempotency`` the call's key is taken before the wait, as by a slow
        Stripe: a retry with the same key meanwhile gets 409.
        """
        return self._add(Rule("delay", method, re.compile(path), nth, times, seconds=seconds,
                              after_forwarding=after_forwarding))

    def _add(self, rule: Rule) -> Rule:
        if rule.nth < 1 or (rule.times is not None and rule.times < 1):
            raise ValueError("nth and times count from 1")
        rule.method = rule.method.upper()
        with self._lock:
            self._rules.append(rule)
        return rule

    def reset(self) -> None:
        """Forget the rules, the log and the stored idempotent results (for a proxy shared by tests)."""
        with self._lock:
            self._rules.clear()
            self._calls.clear()
            self._stored.clear()
            self._generation += 1

    # -- the log ----------------------------------------------------------------------

    def calls(self, method: str | None = None, path: str | None = None) -> list[Call]:
        """The calls so far, oldest first; optionally those matching a method and a path regex."""
        pattern = re.compile(path) if path else None
        with self._lock:
            return [call for call in self._calls
                    if (method is None or call.method == method.upper())
                    and (pattern is None or pattern.fullmatch(call.path))]

    def wait_idle(self, timeout: float = 10) -> None:
        """Wait until no call is in flight (a delayed or dropped call may outlive the client's wait)."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"{self._in_flight} call(s) still in flight after {timeout} s")

    # -- serving (handler threads) --------------------------------------------------------

    def _plan(self, call: Call) -> _Plan:
        with self._lock:
            self._in_flight += 1
            self._calls.append(call)
            plan = _Plan(index=len(self._calls) - 1, generation=self._generation)
            for rule in self._rules:
                if not rule._take(call.method, call.path):
                    continue
                if rule.action == "delay":
                    if rule.after_forwarding:
                        plan.delay_after += rule.seconds
                    else:
                        plan.delay_before += rule.seconds
                elif plan.action is None:
                    plan.action = rule
            return plan

    def _record(self, plan: _Plan, **changes) -> None:
        with self._lock:
            if plan.generation == self._generation:
                self._calls[plan.index] = replace(self._calls[plan.index], **changes)

    def _serve(self, handler: _Handler, call: Call) -> None:
        plan = self._plan(call)
        try:
            self._serve_planned(handler, call, plan)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _serve_planned(self, handler: _Handler, call: Call, plan: _Plan) -> None:
        action = plan.action.action if plan.action else "forward"
        if action in ("fail", "drop"):
            if plan.delay_before and self._stopping.wait(plan.delay_before):
                self._record(plan, outcome="dropped")
            elif action == "fail":
                self._answer(handler, plan, plan.action.status, list(plan.action.headers.items()),
                             plan.action.body, outcome="failed")
            else:
                self._record(plan, outcome="dropped")
            return
        # The key is taken before the delay: a delayed call stands for a slow Stripe, and a
        # retry sent meanwhile gets 409, as it would from Stripe.
        scope = self._idempotency_scope(handler, call)
        if scope is not None:
            refusal = self._claim_key(scope, call)
            if refusal is not None:
                self._answer(handler, plan, *refusal)
                return
        if plan.delay_before and self._stopping.wait(plan.delay_before):
            if scope is not None:
                self._release_key(scope)
            self._record(plan, outcome="dropped")
            return
        try:
            status, headers, body = self._forward(handler, call)
        except OSError:
            if scope is not None:
                self._release_key(scope)
            self._answer(handler, plan, 502, [("Content-Type", "application/json")],
                         stripe_error_body(502, "The fault proxy could not reach its target."),
                         outcome="upstream_unreachable")
            return
        if scope is not None:
            self._store_result(scope, status, headers, body)
        if action == "drop_response":
            self._record(plan, outcome="response_dropped", upstream_status=status)
            return
        if plan.delay_after and self._stopping.wait(plan.delay_after):
            self._record(plan, outcome="response_dropped", upstream_status=status)
            return
        self._answer(handler, plan, status, headers, body, outcome="forwarded", upstream_status=status)

    def _forward(self, handler: _Handler, call: Call) -> tuple[int, list[tuple[str, str]], bytes]:
        # Headers go out as they came, repeated ones and their order included; request()
        # would add an Accept-Encoding of its own.
        headers = [(name, value) for name, value in handler.headers.items() if name.lower() not in _HOP_BY_HOP]
        headers.insert(0, ("Host", f"{self._target_host}:{self._target_port}"))
        if call.body or call.method in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(call.body))))
        target_path = self._target_prefix + call.path + (f"?{call.query}" if call.query else "")
        connection = http.client.HTTPConnection(self._target_host, self._target_port, timeout=self.upstream_timeout)
        try:
            connection.putrequest(call.method, target_path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.endheaders(call.body or None)
            response = connection.getresponse()
            body = response.read()
            kept = [(name, value) for name, value in response.getheaders()
                    if name.lower() not in _HOP_BY_HOP or (call.method == "HEAD" and name.lower() == "content-length")]
            if self.stripe_idempotency and not any(name.lower() == "request-id" for name, _ in kept):
                # Real Stripe names every answer; localstripe does not. Replays point back to it.
                kept.append(("Request-Id", f"req_{uuid.uuid4().hex[:14]}"))
            return response.status, kept, body
        finally:
            connection.close()

    def _answer(self, handler: _Handler, plan: _Plan, status: int, headers: list[tuple[str, str]], body: bytes,
                outcome: str, upstream_status: int | None = None) -> None:
        if _peer_closed(handler.connection):  # e.g. its read timeout fired during a delay
            self._record(plan, outcome="client_gone", upstream_status=upstream_status)
            return
        # Logged before it is sent: a test reading the log after its call returned sees it.
        self._record(plan, outcome=outcome, status=status, upstream_status=upstream_status)
        try:
            handler.send_response_only(status)
            for name, value in headers:
                handler.send_header(name, value)
            if handler.command != "HEAD" or not any(name.lower() == "content-length" for name, _ in headers):
                handler.send_header("Content-Length", str(len(body)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(body)
        except OSError:
            self._record(plan, outcome="client_gone", status=None, upstream_status=upstream_status)

    # -- Stripe's idempotency, which localstripe lacks -------------------------------------
    # https://docs.stripe.com/api/idempotent_requests: a POST's result is kept per key and
    # account; a retry gets it again (header Idempotent-Replayed), a retry with other
    # parameters gets 400 idempotency_error, a retry while the first is running gets 409.
    # Results are kept only once the endpoint ran: 2xx, 402 (a decline) and 5xx here; a
    # 400/404 from the target is taken as a validation error, which Stripe does not keep.

    def _idempotency_scope(self, handler: _Handler, call: Call) -> tuple | None:
        if not self.stripe_idempotency or call.method != "POST" or not call.idempotency_key:
            return None
        return (handler.headers.get("Authorization", ""), handler.headers.get("Stripe-Account", ""),
                call.idempotency_key)

    @staticmethod
    def _fingerprint(call: Call) -> tuple:
        return call.method, call.path, tuple(sorted(urllib.parse.parse_qsl(call.body.decode("utf-8", "replace"),
                                                                           keep_blank_values=True)))

    def _claim_key(self, scope: tuple, call: Call) -> tuple | None:
        """None: go ahead and forward. Otherwise the answer to send instead (with its outcome)."""
        json_type = [("Content-Type", "application/json")]
        with self._lock:
            stored = self._stored.get(scope)
            if stored is None:
                self._stored[scope] = _StoredResult(self._fingerprint(call))
                return None
            if stored.fingerprint != self._fingerprint(call):
                message = (f"Keys for idempotent requests can only be used with the same parameters they were "
                           f"first used with. Try using a key other than '{call.idempotency_key}' if you meant "
                           f"to execute a different request.")
                return 400, json_type, stripe_error_body(400, message, "idempotency_error"), "idempotency_error"
            if stored.status is None:
                message = ("There is currently another in-progress request using this Idempotent Key (that "
                           "probably means you submitted twice, and the other request is still going "
                           "through): " + call.idempotency_key + ". Please try again later.")
                return 409, json_type, stripe_error_body(409, message, "idempotency_error"), "idempotency_error"
            original = next((value for name, value in stored.headers if name.lower() == "request-id"), "")
            headers = [(name, value) for name, value in stored.headers if name.lower() != "request-id"]
            headers += [("Idempotent-Replayed", "true"), ("Original-Request", original),
                        ("Request-Id", f"req_{uuid.uuid4().hex[:14]}")]
            return stored.status, headers, stored.body, "replayed"

    def _store_result(self, scope: tuple, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        with self._lock:
            stored = self._stored.get(scope)  # gone if the test called reset() meanwhile
            if stored is not None and (status < 300 or status == 402 or status >= 500):
                stored.status, stored.headers, stored.body = status, headers, body
            elif stored is not None:
                del self._stored[scope]

    def _release_key(self, scope: tuple) -> None:
        with self._lock:
            self._stored.pop(scope, None)


def _peer_closed(connection: socket.socket) -> bool:
    """True when the client has hung up (its request was read in full, so any byte now is EOF)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() waits for calls being handled
    block_on_close = True
    request_queue_size = 128  # the default 5 makes a burst of racing calls wait a second for a SYN retry

    def __init__(self, address, handler_class, proxy: FaultProxy):
        super().__init__(address, handler_class)
        self.proxy = proxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that connects and never sends a request does not pin a thread
    server: _Server

    def _handle(self) -> None:
        # One call per connection: a dropped call then never poisons a pooled connection.
        self.close_connection = True
        path, _, query = self.path.partition("?")
        call = Call(method=self.command, path=path, query=query,
                    idempotency_key=self.headers.get("Idempotency-Key"), body=self._read_body())
        self.server.proxy._serve(self, call)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format, *args) -> None:
        pass  # the call log is the record; stderr noise would bury test output


@pytest.fixture
def fault_proxy_factory():
    """fault_proxy_factory(target_url, **options) -> a running FaultProxy, stopped after the test.

    Import it into a conftest (``from tests.standins.fault_proxy import fault_proxy_factory``).
    """
    proxies: list[FaultProxy] = []

    def _make(target: str, **options) -> FaultProxy:
        proxy = FaultProxy(target, **options).start()
        proxies.append(proxy)
        return proxy

    yield _make
    for proxy in proxies:
        proxy.stop()
