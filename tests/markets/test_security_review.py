"""Security review, from the attacker's side: a page number too large for the database is a
page like any other (empty), not a 500."""
from tests.conftest import PASSWORD

HUGE_PAGES = ("99999999999999999999", "9223372036854775807", str(2**63 // 20 + 1))


def test_market_and_vendor_lists_with_a_page_number_beyond_the_database_integer_are_not_a_500(
        client, organized):
    market, organizer = organized
    client.post("/login", data={"email": organizer.email, "password": PASSWORD})
    for page in HUGE_PAGES:
        assert client.get(f"/organize/markets/{market.id}?page={page}").status_code == 200
        assert client.get(f"/organize/markets/{market.id}/vendors?page={page}").status_code == 200
