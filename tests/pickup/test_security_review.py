"""Security review, from the attacker's side: an order or slot number in the query string
beyond the database integer is a 404, not a 500 (PostgreSQL's integer is 32 bits)."""
import pytest

from tests.pickup.helpers import Day


@pytest.fixture
def d(ctx):
    return Day()


def test_labels_with_an_order_or_slot_number_beyond_the_database_integer_are_a_404(client, login, d):
    d.order()
    login(d.organizer.email)
    base = f"/organize/days/{d.day.id}/pickup"
    for number in ("2147483648", "9999999999"):
        assert client.get(f"{base}/labels?order={number}").status_code == 404
        assert client.get(f"{base}/labels?slot={number}").status_code == 404
        assert client.get(f"{base}?slot={number}").status_code == 404
        assert client.get(f"{base}/live?slot={number}").status_code == 404
