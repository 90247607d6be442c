"""The stand-ins' own tests: real clients (stripe, python-telegram-bot, boto3) against them."""
from __future__ import annotations

import pytest

from tests.standins.fault_proxy import fault_proxy_factory  # noqa: F401 (a fixture)
from tests.stripe_server import LocalStripe


@pytest.fixture(autouse=True)
def _empty_tables():
    """Replaces the suite's autouse fixture: these tests use no database, so they need no app."""
    yield


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    server = LocalStripe(tmp_path_factory.mktemp("standins-localstripe"))
    yield server
    server.stop()
