import pytest


@pytest.fixture
def card(app):
    """Card payment offered at checkout (through the seam payments uses), for one test."""
    from marketplace.orders.signals import payment_methods_requested
    from tests.orders.helpers import enable_card

    receiver = enable_card(app)
    yield
    payment_methods_requested.disconnect(receiver)
