"""Alerts' scheduled jobs: each runs once per slot across hosts, and telling twice is refused by the
notices' unique constraint, so a rerun after a crash tells only whom the first run did not reach."""
from __future__ import annotations

from marketplace.alerts import services
from marketplace.core.extensions import db
from marketplace.tasks import every, periodic


@periodic(every(minutes=5))
def tell_ordering_open() -> str:
    """Followers of a market: ordering for a day is open."""
    count = services.tell_ordering_open()
    db.session.commit()
    return f"{count} follower(s) told ordering is open"


@periodic(every(minutes=15))
def tell_order_by() -> str:
    """Followers of a market who have not ordered: the day's ordering closes in a few hours."""
    count = services.tell_order_by()
    db.session.commit()
    return f"{count} follower(s) reminded to order"


@periodic(every(minutes=5))
def tell_producer_news() -> str:
    """Followers of a producer: what the producer added for a day whose ordering is open."""
    count = services.tell_producer_news()
    db.session.commit()
    return f"{count} follower(s) told what is new"


@periodic(every(minutes=1))
def tell_producers_of_orders() -> str:
    """Producers: each new order with their products."""
    count = services.tell_producers_of_orders()
    db.session.commit()
    return f"{count} producer(s) told of a new order"


@periodic(every(minutes=15))
def send_producer_summaries() -> str:
    """Producers, the evening before a market day: how many orders and how much of each product."""
    count = services.send_producer_summaries()
    db.session.commit()
    return f"{count} producer summary(ies) sent"


@periodic(every(minutes=5))
def tell_organizers() -> str:
    """Organizers: certificates waiting for verification, vendors' applications."""
    count = services.tell_organizers()
    db.session.commit()
    return f"{count} organizer message(s)"


@periodic(every(minutes=5))
def tell_refunds() -> str:
    """Customers: a refund to their card went through."""
    count = services.tell_refunds()
    db.session.commit()
    return f"{count} refund message(s)"
