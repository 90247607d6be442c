"""Customer reliability: repeated no-shows take away cash at pickup.

Lives in orders (it is about orders) so checkout can ask it without importing trust.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.orders.models import Order, OrderStatus

NO_SHOW_WINDOW_DAYS = 90


def recent_no_shows(customer_id: int, now=None) -> int:
    """No-shows of this customer in the last 90 days."""
    since = (now or utcnow()) - timedelta(days=NO_SHOW_WINDOW_DAYS)
    return db.session.scalar(
        select(func.count(Order.id)).where(
            Order.customer_id == customer_id, Order.status == OrderStatus.NO_SHOW, Order.no_show_at >= since)
    ) or 0


def cash_refusal_reason(customer_id: int, now=None) -> str | None:
    """Why cash at pickup is not offered to this customer, or None when it is."""
    limit = current_app.config["NO_SHOW_LIMIT"]
    count = recent_no_shows(customer_id, now)
    if count >= limit:
        return str(_l("Cash at pickup is not available because %(count)s of your orders in the last "
                      "90 days were not picked up. You can still pay by card.", count=count))
    return None
