"""Read-only trust queries used by the catalog and producer pages."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select

from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.trust.models import Certification, CertificationStatus


def active_badges(producer_ids, on: date | None = None) -> dict[int, list[Certification]]:
    """Verified certificates valid today, per producer (one query for a whole page).

    A badge disappears by itself the day after `valid_until`: validity is checked here,
    not by a job that might not run.
    """
    ids = list(set(producer_ids))
    result: dict[int, list[Certification]] = defaultdict(list)
    if not ids:
        return result
    day = on or utcnow().date()
    rows = db.session.scalars(
        select(Certification)
        .where(Certification.producer_id.in_(ids), Certification.status == CertificationStatus.VERIFIED,
               Certification.valid_from <= day, Certification.valid_until >= day)
        .order_by(Certification.scheme, Certification.valid_until.desc())
    )
    for certification in rows:
        result[certification.producer_id].append(certification)
    return result
