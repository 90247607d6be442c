"""An organizer who confirms the reasons to hand over one at a time (tryout of issue 17,
screenshot tryout/o3-ky-pingpong.png): what they confirmed first must still be confirmed when
the page asks about the rest, or the two questions take turns for ever."""
from __future__ import annotations

import re

import pytest

from marketplace.core.extensions import db
from marketplace.orders.models import Order, OrderStatus
from tests.pickup.helpers import Day


@pytest.fixture
def d(ctx):
    return Day()


def confirmations_sent_by(page: str) -> list[str]:
    """What the hand-over form on `page` sends as `confirm` when submitted as it stands:
    hidden inputs and ticked boxes (a box the organizer ticks next is added by the test)."""
    form = re.search(r'<form action="[^"]*/hand-over".*?</form>', page, re.S).group(0)
    sent = []
    for tag in re.findall(r"<input[^>]*>", form):
        if 'name="confirm"' not in tag:
            continue
        if 'type="hidden"' in tag or re.search(r"\bchecked\b", tag):
            sent.append(re.search(r'value="([^"]*)"', tag).group(1))
    return sent


def test_a_reason_confirmed_first_stays_confirmed_while_the_other_is_asked(client, login, d):
    order = d.order({d.honey: 1000})  # before the day opens, honey never weighed: two reasons
    login(d.organizer.email)
    url = f"/organize/days/{d.day.id}/pickup/orders/{order.id}/hand-over"

    # The organizer ticks only "before the day opens" and presses Hand over.
    asked = client.post(url, data={"cash_received": "3000", "confirm": ["early"]})
    assert asked.status_code == 409 and "Not weighed: Honey" in asked.text
    # Then ticks "without weighing" on the page that asks, and presses again.
    sent = confirmations_sent_by(asked.text) + ["unweighed"]
    done = client.post(url, data={"cash_received": "3000", "confirm": sent}, follow_redirects=True)

    db.session.rollback()
    assert db.session.get(Order, order.id).status == OrderStatus.PICKED_UP, (
        "the second press was refused again: the first confirmation was dropped")
    assert "is handed over" in done.text
