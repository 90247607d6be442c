"""Markets' scheduled job: each recurring schedule keeps its weeks ahead of market days."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.markets.models import MarketSchedule
from marketplace.markets.services import extend_schedule
from marketplace.tasks import daily, periodic


@periodic(daily(hour=2))
def extend_schedules() -> str:
    total = 0
    for schedule in db.session.scalars(select(MarketSchedule).where(MarketSchedule.active.is_(True))):
        total += len(extend_schedule(None, schedule).created)
    db.session.commit()
    return f"{total} market day(s) added"
