import threading
import uuid

import pytest
from werkzeug.serving import make_server

from marketplace.accounts.models import Role
from tests.factories import MarketDayFactory, UserFactory, add_organizer
from tests.stripe_server import LocalStripe, free_port


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    server = LocalStripe(tmp_path_factory.mktemp("localstripe"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_url(app):
    """The test app served on a loopback port, so localstripe can deliver webhooks to it."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture
def stripe_on(app, localstripe, monkeypatch):
    """Card payments configured against localstripe for this test."""
    for key, value in localstripe.config().items():
        monkeypatch.setitem(app.config, key, value)
    # No webhook deliveries unless a test asks for them (webhooks_on): a test of a
    # "lost webhook" must not get one from an earlier test's registration.
    localstripe.register_webhook("http://127.0.0.1:9/nowhere")
    return localstripe


@pytest.fixture
def webhooks_on(stripe_on, live_url):
    stripe_on.register_webhook(f"{live_url}/payments/webhook")
    return stripe_on


@pytest.fixture(autouse=True)
def _stripe_seems_available():
    """Each test starts with no memory of an earlier test's Stripe outage."""
    from marketplace.payments import gateway

    gateway.mark_available()
    yield
    gateway.mark_available()


# The fault-injecting proxy (tests/standins) in front of localstripe, with Stripe's idempotency
# replayed (localstripe has none): "drop / fail the Nth call", "succeeded upstream, answer lost".
from tests.standins.fault_proxy import fault_proxy_factory  # noqa: F401 (a fixture)


@pytest.fixture
def stripe_proxy(app, stripe_on, fault_proxy_factory, monkeypatch):  # noqa: F811
    """The app talks to localstripe through a fault proxy; the test sets its faults."""
    proxy = fault_proxy_factory(stripe_on.url, stripe_idempotency=True)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", proxy.url)
    monkeypatch.setitem(app.config, "STRIPE_TIMEOUT_SECONDS", 3)
    return proxy


@pytest.fixture
def day(ctx):
    """A market day with an organizer of its market (`day.organizer`), for the cancellation tests."""
    market_day = MarketDayFactory()
    organizer = UserFactory(email=f"org-{uuid.uuid4().hex[:6]}@example.test", roles=[Role.ORGANIZER])
    add_organizer(market_day.market, organizer)
    market_day.organizer = organizer
    return market_day
