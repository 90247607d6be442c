"""The fault proxy forwards faithfully and fails exactly the calls it was told to.

Forwarding is checked byte for byte against a small echo server; the faults against
localstripe with the real stripe client, reading localstripe's state directly (not
through the proxy) to see what really happened at "Stripe".
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import stripe

from marketplace.cli import create_app
from marketplace.payments import gateway
from tests.standins.fault_proxy import FaultProxy
from tests.stripe_server import SECRET_KEY

INTENTS = r"/v1/payment_intents"
CAPTURE = r"/v1/payment_intents/[^/]+/capture"


class _Echo(BaseHTTPRequestHandler):
    """Answers every request with what it received, as JSON, and a header of its own."""

    protocol_version = "HTTP/1.1"

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = {"method": self.command, "path": self.path, "headers": self.headers.items(),
                "body": body.decode("latin-1")}
        payload = json.dumps(seen).encode()
        self.send_response(201 if self.command == "PUT" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Echo", "yes")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _echo

    def log_message(self, format, *args) -> None:
        pass


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


@pytest.fixture(scope="module")
def echo_url():
    server = _EchoServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def stripe_client(base_url: str, timeout: float = 5) -> stripe.StripeClient:
    """The client as marketplace/payments/gateway.py builds it: no retries of its own."""
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": base_url},
                               http_client=stripe.RequestsClient(timeout=timeout), max_network_retries=0)


def new_intent(client: stripe.StripeClient, amount: int = 5000) -> str:
    return client.v1.payment_intents.create({"amount": amount, "currency": "kzt", "capture_method": "manual",
                                             "payment_method": "pm_card_visa", "confirm": True}).id


def intent_at_stripe(localstripe, intent_id: str) -> dict:
    """Read straight from localstripe, bypassing the proxy."""
    return localstripe.intent(intent_id)


# -- forwarding ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_forwards_method_path_query_headers_and_body_unchanged(fault_proxy_factory, echo_url, method):
    proxy = fault_proxy_factory(echo_url)
    body = "amount=100&metadata[order]=7&note=%D0%BC%D1%91%D0%B4" if method != "GET" else None
    response = requests.request(method, f"{proxy.url}/v1/things/th_1?expand%5B%5D=x&limit=3", data=body,
                                headers={"Authorization": "Bearer sk_test_x", "Idempotency-Key": "key-1",
                                         "Stripe-Version": "2024-06-20",
                                         "Content-Type": "application/x-www-form-urlencoded"}, timeout=5)
    assert response.status_code == (201 if method == "PUT" else 200)
    assert response.headers["X-Echo"] == "yes"
    seen = response.json()
    headers = dict(seen["headers"])
    assert seen["method"] == method
    assert seen["path"] == "/v1/things/th_1?expand%5B%5D=x&limit=3"
    assert headers["Authorization"] == "Bearer sk_test_x"
    assert headers["Idempotency-Key"] == "key-1"
    assert headers["Stripe-Version"] == "2024-06-20"
    assert seen["body"] == (body or "")
    [call] = proxy.calls()
    assert (call.method, call.path, call.query, call.idempotency_key) == (method, "/v1/things/th_1",
                                                                         "expand%5B%5D=x&limit=3", "key-1")
    assert call.outcome == "forwarded" and call.status == call.upstream_status == response.status_code


def test_forwards_headers_exactly_repeated_ones_included(fault_proxy_factory, echo_url):
    proxy = fault_proxy_factory(echo_url)
    connection = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]), timeout=5)
    connection.putrequest("GET", "/v1/x", skip_accept_encoding=True)
    sent = [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-For", "10.0.0.1"), ("Idempotency-Key", "k")]
    for name, value in sent:
        connection.putheader(name, value)
    connection.endheaders()
    seen = json.loads(connection.getresponse().read())
    connection.close()
    assert [tuple(pair) for pair in seen["headers"] if pair[0] != "Host"] == sent


def test_forwards_a_chunked_body_and_answers_head(fault_proxy_factory, echo_url):
    proxy = fault_proxy_factory(echo_url)
    response = requests.post(f"{proxy.url}/upload", data=iter([b"first,", b"second"]), timeout=5)
    assert response.json()["body"] == "first,second"
    head = requests.head(f"{proxy.url}/anything", timeout=5)
    assert head.status_code == 200 and head.headers["X-Echo"] == "yes" and head.content == b""


def test_a_target_under_a_path_keeps_its_prefix(fault_proxy_factory, echo_url):
    proxy = fault_proxy_factory(f"{echo_url}/api")
    assert requests.get(f"{proxy.url}/v1/x", timeout=5).json()["path"] == "/api/v1/x"


def test_an_unreachable_target_is_a_502_in_the_log(fault_proxy_factory):
    with FaultProxy("http://127.0.0.1:9") as dead:  # port 9 (discard) is closed here
        target = dead.url
    proxy = fault_proxy_factory(target)
    assert requests.get(f"{proxy.url}/v1/x", timeout=5).status_code == 502
    assert proxy.calls()[0].outcome == "upstream_unreachable"


def test_the_stripe_client_works_through_the_proxy_and_every_call_is_logged(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url)
    client = stripe_client(proxy.url)
    intent = client.v1.payment_intents.create({"amount": 5000, "currency": "kzt", "capture_method": "manual"},
                                              {"idempotency_key": "aimak-payment-1-create"})
    client.v1.payment_intents.retrieve(intent.id)
    create, retrieve = proxy.calls()
    assert (create.method, create.path, create.idempotency_key, create.status) == ("POST", INTENTS,
                                                                                 "aimak-payment-1-create", 200)
    assert create.form == {"amount": "5000", "currency": "kzt", "capture_method": "manual"}
    assert (retrieve.method, retrieve.path, retrieve.status) == ("GET", f"{INTENTS}/{intent.id}", 200)
    assert proxy.calls("GET") == [retrieve] and proxy.calls(path=CAPTURE) == []


# -- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "error_type", "exception"), [
    (400, None, stripe.InvalidRequestError),
    (400, "idempotency_error", stripe.IdempotencyError),
    (401, None, stripe.AuthenticationError),
    (402, None, stripe.CardError),
    (403, None, stripe.PermissionError),
    (404, None, stripe.InvalidRequestError),
    (429, None, stripe.RateLimitError),
    (500, None, stripe.APIError),
    (503, None, stripe.APIError),
])
def test_fail_answers_a_stripe_error_the_client_recognises(fault_proxy_factory, localstripe, status, error_type,
                                                           exception):
    proxy = fault_proxy_factory(localstripe.url)
    proxy.fail("POST", INTENTS, status=status, type=error_type, message="Stripe is having a bad day")
    with pytest.raises(exception) as raised:
        new_intent(stripe_client(proxy.url))
    assert raised.value.http_status == status and "Stripe is having a bad day" in str(raised.value)
    [call] = proxy.calls()
    assert (call.outcome, call.status, call.reached_upstream) == ("failed", status, False)


def test_fail_hits_only_the_nth_matching_call(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url)
    client = stripe_client(proxy.url)
    intents = [new_intent(client) for _ in range(2)]
    rule = proxy.fail("POST", CAPTURE, nth=2, status=500)
    client.v1.payment_intents.capture(intents[0])
    client.v1.payment_intents.retrieve(intents[1])  # a GET on the same intent does not count
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.capture(intents[1])
    assert intent_at_stripe(localstripe, intents[1])["status"] == "requires_capture"  # Stripe never saw it
    client.v1.payment_intents.capture(intents[1])  # the third capture call goes through
    assert intent_at_stripe(localstripe, intents[1])["status"] == "succeeded"
    assert rule.fired == 1
    assert [call.outcome for call in proxy.calls("POST", CAPTURE)] == ["forwarded", "failed", "forwarded"]


def test_times_none_fails_every_matching_call_until_reset(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url)
    client = stripe_client(proxy.url)
    rule = proxy.fail("*", r"/v1/.*", status=503, times=None)
    for _ in range(3):
        with pytest.raises(stripe.APIError):
            client.v1.payment_intents.list()
    assert rule.fired == 3
    proxy.reset()
    assert proxy.calls() == []
    client.v1.payment_intents.list()


def test_drop_is_a_network_error_and_stripe_never_acts(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url)
    client = stripe_client(proxy.url)
    intent_id = new_intent(client)
    proxy.drop("POST", CAPTURE)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.capture(intent_id)
    assert intent_at_stripe(localstripe, intent_id)["status"] == "requires_capture"
    dropped = proxy.calls("POST", CAPTURE)[0]
    assert (dropped.outcome, dropped.status, dropped.upstream_status) == ("dropped", None, None)


def test_drop_response_is_a_network_error_after_stripe_acted(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url)
    client = stripe_client(proxy.url)
    intent_id = new_intent(client)
    proxy.drop_response("POST", CAPTURE)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.capture(intent_id, {"amount_to_capture": 4000})
    captured = intent_at_stripe(localstripe, intent_id)
    # localstripe has no amount_received: a partial capture is the full charge less a refund.
    charge = captured["latest_charge"]
    assert captured["status"] == "succeeded" and charge["amount"] - charge["amount_refunded"] == 4000
    call = proxy.calls("POST", CAPTURE)[0]
    assert (call.outcome, call.status, call.upstream_status) == ("response_dropped", None, 200)


def test_delay_before_forwarding_slows_the_call_down(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url)
    client = stripe_client(proxy.url)
    proxy.delay("GET", INTENTS, 0.5)
    started = time.monotonic()
    client.v1.payment_intents.list()
    assert time.monotonic() - started >= 0.5
    started = time.monotonic()
    client.v1.payment_intents.list()  # only the first call was delayed
    assert time.monotonic() - started < 0.5


def test_delay_longer_than_the_client_timeout_still_reaches_stripe(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url)
    intent_id = new_intent(stripe_client(proxy.url))
    proxy.delay("POST", CAPTURE, 1.5)
    with pytest.raises(stripe.APIConnectionError):  # read timeout
        stripe_client(proxy.url, timeout=0.5).v1.payment_intents.capture(intent_id)
    assert intent_at_stripe(localstripe, intent_id)["status"] == "requires_capture"  # not yet
    proxy.wait_idle()
    assert intent_at_stripe(localstripe, intent_id)["status"] == "succeeded"  # the request was on its way
    assert proxy.calls("POST", CAPTURE)[0].outcome == "client_gone"


def test_delay_after_forwarding_times_out_a_call_that_succeeded(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url)
    intent_id = new_intent(stripe_client(proxy.url))
    proxy.delay("POST", CAPTURE, 1.5, after_forwarding=True)
    with pytest.raises(stripe.APIConnectionError):
        stripe_client(proxy.url, timeout=0.5).v1.payment_intents.capture(intent_id)
    assert intent_at_stripe(localstripe, intent_id)["status"] == "succeeded"


def test_stop_ends_a_delayed_call_at_once_without_forwarding_it(localstripe):
    proxy = FaultProxy(localstripe.url).start()
    intent_id = new_intent(stripe_client(proxy.url))
    proxy.delay("POST", CAPTURE, 60)
    errors = []
    caller = threading.Thread(target=lambda: errors.append(_capture_error(proxy.url, intent_id)))
    caller.start()
    while not proxy.calls("POST", CAPTURE):
        time.sleep(0.01)
    started = time.monotonic()
    proxy.stop()
    caller.join(5)
    assert time.monotonic() - started < 5
    assert isinstance(errors[0], stripe.APIConnectionError)
    assert intent_at_stripe(localstripe, intent_id)["status"] == "requires_capture"


def _capture_error(base_url: str, intent_id: str) -> Exception | None:
    try:
        stripe_client(base_url).v1.payment_intents.capture(intent_id)
    except stripe.StripeError as exc:
        return exc
    return None


def test_concurrent_calls_count_each_call_once(fault_proxy_factory, echo_url):
    proxy = fault_proxy_factory(echo_url)
    rule = proxy.fail("POST", r"/v1/refunds", nth=7, status=500)
    statuses: list[int] = []

    def post() -> None:
        statuses.append(requests.post(f"{proxy.url}/v1/refunds", data="a=1", timeout=10).status_code)

    threads = [threading.Thread(target=post) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 23 + [500]
    assert rule.fired == 1 and len(proxy.calls()) == 24


# -- Stripe's idempotency, emulated ----------------------------------------------------------


def test_localstripe_alone_ignores_idempotency_keys(localstripe):
    """Why the proxy can emulate them: a retried create at localstripe makes a second intent."""
    client = stripe_client(localstripe.url)
    params = {"amount": 5000, "currency": "kzt", "capture_method": "manual"}
    first = client.v1.payment_intents.create(params, {"idempotency_key": "same-key"})
    second = client.v1.payment_intents.create(params, {"idempotency_key": "same-key"})
    assert first.id != second.id


def test_a_retry_after_a_lost_answer_is_replayed_not_repeated(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url, stripe_idempotency=True)
    client = stripe_client(proxy.url)
    intent_id = new_intent(client, amount=5000)
    proxy.drop_response("POST", CAPTURE)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.capture(intent_id, {"amount_to_capture": 3000}, {"idempotency_key": "cap-1"})
    retried = client.v1.payment_intents.capture(intent_id, {"amount_to_capture": 3000},
                                                {"idempotency_key": "cap-1"})
    assert retried.status == "succeeded" and retried.latest_charge["amount_refunded"] == 2000
    assert retried.last_response.headers["Idempotent-Replayed"] == "true"
    first, replay = proxy.calls("POST", CAPTURE)
    assert (first.outcome, replay.outcome, replay.reached_upstream) == ("response_dropped", "replayed", False)
    assert replay.status == 200


def test_a_key_reused_with_other_parameters_is_an_idempotency_error(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url, stripe_idempotency=True)
    client = stripe_client(proxy.url)
    intent_id = new_intent(client)
    client.v1.payment_intents.capture(intent_id, {}, {"idempotency_key": "cap"})
    client.v1.refunds.create({"payment_intent": intent_id, "amount": 100}, {"idempotency_key": "refund-1"})
    with pytest.raises(stripe.IdempotencyError) as raised:
        client.v1.refunds.create({"payment_intent": intent_id, "amount": 200}, {"idempotency_key": "refund-1"})
    assert "refund-1" in str(raised.value)
    assert proxy.calls("POST", r"/v1/refunds")[-1].outcome == "idempotency_error"


def test_a_double_submit_refunds_once_at_stripe(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url, stripe_idempotency=True)
    client = stripe_client(proxy.url)
    intent_id = new_intent(client, amount=5000)
    client.v1.payment_intents.capture(intent_id)
    refunds = [client.v1.refunds.create({"payment_intent": intent_id, "amount": 1000}, {"idempotency_key": "r-9"})
               for _ in range(2)]
    assert refunds[0].id == refunds[1].id
    assert sum(1 for call in proxy.calls("POST", r"/v1/refunds") if call.reached_upstream) == 1


def test_a_retry_while_the_first_is_running_is_a_409(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url, stripe_idempotency=True)
    client = stripe_client(proxy.url)
    intent_id = new_intent(client)
    proxy.delay("POST", CAPTURE, 1.0)
    slow = threading.Thread(target=lambda: client.v1.payment_intents.capture(intent_id, {},
                                                                             {"idempotency_key": "cap-2"}))
    slow.start()
    while not proxy.calls("POST", CAPTURE):
        time.sleep(0.01)
    with pytest.raises(stripe.APIError) as raised:
        client.v1.payment_intents.capture(intent_id, {}, {"idempotency_key": "cap-2"})
    slow.join()
    assert raised.value.http_status == 409
    assert intent_at_stripe(localstripe, intent_id)["status"] == "succeeded"


def test_injected_failures_and_drops_are_not_remembered_for_the_key(fault_proxy_factory, localstripe):
    proxy = fault_proxy_factory(localstripe.url, stripe_idempotency=True)
    client = stripe_client(proxy.url)
    intent_id = new_intent(client)
    proxy.fail("POST", CAPTURE, status=500)
    proxy.drop("POST", CAPTURE, nth=2)
    for error in (stripe.APIError, stripe.APIConnectionError):
        with pytest.raises(error):
            client.v1.payment_intents.capture(intent_id, {}, {"idempotency_key": "cap-3"})
    assert client.v1.payment_intents.capture(intent_id, {}, {"idempotency_key": "cap-3"}).status == "succeeded"
    assert [call.outcome for call in proxy.calls("POST", CAPTURE)] == ["failed", "dropped", "forwarded"]


# -- the recipe for our payments tests (README.md), with our own gateway ------------------------


@pytest.fixture
def gateway_app(localstripe, fault_proxy_factory):
    """Our app configured for localstripe behind the proxy; the gateway needs no database."""
    proxy = fault_proxy_factory(localstripe.url, stripe_idempotency=True)
    app = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      **localstripe.config(), "STRIPE_API_BASE": proxy.url, "STRIPE_TIMEOUT_SECONDS": 2})
    with app.app_context():
        yield proxy
    gateway.mark_available()


def test_our_gateway_retries_a_lost_capture_with_its_key_and_captures_once(gateway_app, localstripe):
    proxy = gateway_app
    intent = gateway.create_intent(5000, "KZT", idempotency_key="aimak-payment-1-create", metadata={"order": 1})
    token = localstripe.card_token()
    assert gateway.confirm_with_card_token(intent.id, token, "a@example.test", "aimak-payment-1-card").status \
        == "requires_capture"
    proxy.drop_response("POST", CAPTURE)
    with pytest.raises(gateway.GatewayUnavailable):
        gateway.capture(intent.id, 4000, idempotency_key="aimak-payment-1-capture")
    assert gateway.capture(intent.id, 4000, idempotency_key="aimak-payment-1-capture").status == "succeeded"
    assert [call.outcome for call in proxy.calls("POST", CAPTURE)] == ["response_dropped", "replayed"]
    assert [call.idempotency_key for call in proxy.calls("POST")] == [
        "aimak-payment-1-create", "aimak-payment-1-card-customer", "aimak-payment-1-card-attach",
        "aimak-payment-1-card-confirm", "aimak-payment-1-capture", "aimak-payment-1-capture"]
