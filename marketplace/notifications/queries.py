"""What the admin's Emails page reads."""
from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.notifications.models import OutboxEmail

#: The page's filters: name -> condition.
FILTERS = {
    "all": None,
    "failed": OutboxEmail.failed_at.is_not(None),
    "waiting": OutboxEmail.sent_at.is_(None) & OutboxEmail.failed_at.is_(None) & OutboxEmail.expired_at.is_(None),
    #: Reminders unsent by their "send before" (or withdrawn): never sent.
    "expired": OutboxEmail.sent_at.is_(None) & OutboxEmail.expired_at.is_not(None),
    "sent": OutboxEmail.sent_at.is_not(None),
}


def emails(status: str, page: int, per_page: int = 50) -> Pagination:
    query = select(OutboxEmail).order_by(OutboxEmail.id.desc())
    condition = FILTERS.get(status)
    if condition is not None:
        query = query.where(condition)
    return db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False)


def counts() -> dict[str, int]:
    """How many emails are failed, waiting, too late and sent (one query)."""
    names = ("failed", "waiting", "expired", "sent")
    found = db.session.execute(select(*(func.count().filter(FILTERS[name]) for name in names))
                               .select_from(OutboxEmail)).one()
    return dict(zip(names, found, strict=True))
