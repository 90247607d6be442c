"""The kinds of message people choose to get, and the channels they come by.

A kind is what a person switches on or off, per channel, on their account page or by the
unsubscribe link in a message. Messages that are not a choice (a password reset, a sign-in
warning) have no kind and go by email only, through `queue_email`.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

EMAIL = "email"
TELEGRAM = "telegram"
CHANNELS = (EMAIL, TELEGRAM)
CHANNEL_LABELS = {EMAIL: _l("Email"), TELEGRAM: _l("Telegram")}


@dataclass(frozen=True)
class Kind:
    name: str
    label: object
    #: Who sees the switch on the account page: "customer" (everyone), "producer", "organizer".
    audience: str


ORDERING_OPEN = "ordering_open"
ORDER_BY = "order_by"
NEW_THIS_WEEK = "new_this_week"
ORDER_UPDATES = "order_updates"
PRODUCER_ORDERS = "producer_orders"
PRODUCER_SUMMARY = "producer_summary"
ORGANIZER_TASKS = "organizer_tasks"

KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind(ORDERING_OPEN, _l("Ordering is open at a market you follow"), "customer"),
    Kind(ORDER_BY, _l("Reminder to order before the cutoff"), "customer"),
    Kind(NEW_THIS_WEEK, _l("New this week from producers you follow"), "customer"),
    Kind(ORDER_UPDATES, _l("Updates on your orders"), "customer"),
    Kind(PRODUCER_ORDERS, _l("A new order for your products"), "producer"),
    Kind(PRODUCER_SUMMARY, _l("The evening before: what to bring"), "producer"),
    Kind(ORGANIZER_TASKS, _l("A certificate or a vendor application waits for you"), "organizer"),
)}


def is_kind(name: str) -> bool:
    return name in KINDS


def kinds_for(roles: set[str]) -> list[Kind]:
    """The kinds a person with these roles can choose (everyone is a customer)."""
    audiences = {"customer"} | ({"producer"} if "producer" in roles else set()) \
        | ({"organizer"} if roles & {"organizer", "admin"} else set())
    return [kind for kind in KINDS.values() if kind.audience in audiences]
