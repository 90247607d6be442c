"""Security review, from the attacker's side: a page number too large for the database is a
page like any other (empty), not a 500."""
from tests.conftest import PASSWORD
from tests.factories import UserFactory

HUGE_PAGES = ("99999999999999999999", "9223372036854775807", str(2**63 // 50 + 1))


def test_my_orders_with_a_page_number_beyond_the_database_integer_is_not_a_500(client, ctx):
    UserFactory(email="c@example.test")
    client.post("/login", data={"email": "c@example.test", "password": PASSWORD})
    for page in HUGE_PAGES:
        assert client.get(f"/orders?page={page}").status_code == 200


def test_a_product_or_market_day_number_beyond_the_database_integer_in_the_basket_forms_is_a_400(client, ctx):
    # Anyone, logged in or not, can post these forms.
    huge = "99999999999999999999"
    for data in ({"product_id": huge, "market_day_id": "1", "quantity": "1"},
                 {"product_id": "1", "market_day_id": huge, "quantity": "1"},
                 {"product_id": "-1", "market_day_id": "1", "quantity": "1"}):
        assert client.post("/basket/add", data=data).status_code == 400
    assert client.post("/basket/1/move", data={"market_day_id": huge}).status_code == 400
    assert client.get("/basket").status_code == 200
