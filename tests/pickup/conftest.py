# localstripe and the card fixtures of the payments tests, for the card hand-overs here.
from tests.payments.conftest import (  # noqa: F401
    _stripe_seems_available,
    live_url,
    localstripe,
    stripe_on,
)
