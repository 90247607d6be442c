"""A message from the organizers to everyone of a market day: its vendors or its customers.

Each recipient gets one email through the outbox, in the same transaction. The form carries a
nonce, and each email's dedupe key holds it, so a double submit (or a retried request) sends
nothing twice; a day takes at most MAX_MESSAGES_PER_DAY messages, so the form cannot be used
to flood people.
"""
from __future__ import annotations

import enum
import hashlib
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.extensions import db
from marketplace.markets import queries as markets
from marketplace.markets.models import MarketDay
from marketplace.markets.services import can_manage
from marketplace.notifications.models import OutboxEmail
from marketplace.notifications.services import queue_email
from marketplace.orders.queries import customer_emails_of_day

MAX_SUBJECT = 120
MAX_BODY = 2000
MAX_MESSAGES_PER_DAY = 10
NONCE = re.compile(r"^[0-9a-f]{16}$")


class Audience(str, enum.Enum):
    VENDORS = "vendors"
    CUSTOMERS = "customers"


def _digest(email: str) -> str:
    # A dedupe key is at most 160 characters; an email address may be 254.
    return hashlib.sha256(email.encode()).hexdigest()[:24]


def _prefix(market_day: MarketDay) -> str:
    return f"day-message:{market_day.id}:"


def messages_sent(market_day: MarketDay) -> int:
    """How many messages (not emails) the organizers sent about this day."""
    prefix = _prefix(market_day)
    return db.session.scalar(
        select(func.count(func.distinct(func.substr(OutboxEmail.dedupe_key, 1, len(prefix) + 16))))
        .where(OutboxEmail.dedupe_key.like(prefix + "%"))) or 0


def recipients(market_day: MarketDay, audience: Audience) -> list[tuple[str, str | None]]:
    if audience == Audience.VENDORS:
        return markets.vendor_emails(market_day.market_id)
    return customer_emails_of_day(market_day.id)


def message_day(actor: User, market_day: MarketDay, audience: Audience, subject: str, body: str,
                nonce: str) -> int:
    """Email `body` to the day's vendors or customers; returns how many emails were queued (0: sent before)."""
    if not can_manage(actor, market_day.market):
        raise NotAllowed()
    subject, body = subject.strip(), body.strip()
    if not subject or not body or len(subject) > MAX_SUBJECT or len(body) > MAX_BODY or not NONCE.match(nonce):
        raise DomainError(str(_l("Write a subject and a message (at most %(n)s characters).", n=MAX_BODY)))
    prefix = _prefix(market_day)
    # One message of a day at a time: without it, messages sent together each counted the others
    # as unsent and all went (14 of a limit of 10 on PostgreSQL), and one form's double submit
    # relied on the dedupe key alone. NO KEY UPDATE: checkouts inserting orders of the day (a key
    # share lock on it) do not wait for a message being written.
    db.session.execute(select(MarketDay.id).where(MarketDay.id == market_day.id).with_for_update(key_share=True))
    already = db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.dedupe_key.like(f"{prefix}{nonce}:%"))
                                .limit(1))
    if already is not None:
        return 0
    if messages_sent(market_day) >= MAX_MESSAGES_PER_DAY:
        raise DomainError(str(_l("This market day has had %(n)s messages already; talk to people at the market.",
                                 n=MAX_MESSAGES_PER_DAY)))
    market = market_day.market
    queued = 0
    for email, locale in recipients(market_day, audience):
        if queue_email(email, "day_message", f"{market.name}: {subject}", locale=locale,
                       dedupe_key=f"{prefix}{nonce}:{_digest(email)}", market=market, market_day=market_day,
                       body=body, sender=actor.name):
            queued += 1
    return queued
