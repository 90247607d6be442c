"""One hand-over through the pickup point's page makes one access check and one payment
lookup (issue 16: it used to check access three times and ask for the card hold three times)."""
from __future__ import annotations

import re

from marketplace.core.extensions import db
from marketplace.orders.models import Order, OrderStatus
from tests.pickup.helpers import Day
from tests.pickup.test_card import authorised, organizer_of
from tests.query_counter import count_queries

#: The organizer check (markets.can_manage) and any read of the payment table (not payment_refund).
ACCESS_CHECK = re.compile(r'^\s*SELECT\b.*\bFROM\s+"?market_organizer"?\s', re.S | re.I)
PAYMENT_READ = re.compile(r'^\s*SELECT\b.*\bFROM\s+"?payment"?(\s|$)', re.S | re.I)
#: Finding the order's payment (payments.current_payment), as opposed to re-reading a known row.
PAYMENT_LOOKUP = re.compile(r'\bWHERE\s+payment\.order_id\s*=', re.I)


def hand_over_counting(app, client, login, organizer, order, data) -> tuple[list[str], list[str]]:
    """The access checks and payment reads of one hand-over POST (the redirect not followed)."""
    login(organizer.email)
    url = f"/organize/days/{order.market_day_id}/pickup/orders/{order.id}/hand-over"
    with count_queries(app) as statements:
        response = client.post(url, data=data)
    assert response.status_code == 302, response.text
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.PICKED_UP
    return ([s for s in statements if ACCESS_CHECK.search(s)], [s for s in statements if PAYMENT_READ.search(s)])


def test_a_cash_hand_over_checks_access_once_and_looks_the_payment_up_once(app, client, login, ctx):
    d = Day()
    order = d.order()
    checks, payment_reads = hand_over_counting(app, client, login, d.organizer, order,
                                               {"cash_received": "", "confirm": ["early"]})
    assert len(checks) == 1, checks
    # Read once all the same: a cash order may keep the refund of an earlier undo pending.
    assert len(payment_reads) == 1 and PAYMENT_LOOKUP.search(payment_reads[0]), payment_reads


def test_a_card_hand_over_checks_access_once_and_looks_the_payment_up_once(app, client, login, ctx, stripe_on):
    order = authorised(stripe_on, by_weight=False, quantity_milli=2000, price_minor=100_000)
    organizer = organizer_of(order)
    db.session.commit()
    checks, payment_reads = hand_over_counting(app, client, login, organizer, order, {"confirm": ["early"]})
    assert len(checks) == 1, checks
    lookups = [s for s in payment_reads if PAYMENT_LOOKUP.search(s)]
    assert len(lookups) == 1, payment_reads
    # The only other read is the capture's own: its conditional UPDATE of the status, then the
    # row re-read by its id (payments._advance), which finds nothing anew.
    assert len(payment_reads) == 2 and "WHERE payment.id = " in payment_reads[1], payment_reads
