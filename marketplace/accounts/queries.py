"""Read-only queries for account lists."""
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from marketplace.accounts.models import RoleChange, User
from marketplace.core.extensions import db
from marketplace.core.periods import week_bucket
from marketplace.core.text import folded, like_pattern, normalize_text, words
from marketplace.core.translit import sound_key


def search_users(text: str, page: int, per_page: int = 50) -> Pagination:
    """Users whose email or name holds the text, normalised as the catalog's search is
    (case-folded in every alphabet, ё = е), or whose words sound like every word of it
    (core.translit.sound_key: "гулмира" and "gulmira" find "Гүлмира"), newest first."""
    query = select(User).order_by(User.created_at.desc(), User.id.desc())
    text = normalize_text((text or "")[:200])
    if text:
        pattern = like_pattern(text)
        held = [User.email.like(pattern, escape="\\"), folded(User.name).like(pattern, escape="\\")]
        keys = [key for key in (sound_key(word) for word in words(text)) if key]
        if keys:
            held.append(and_(*(User.search_key.like(like_pattern(key), escape="\\") for key in keys)))
        query = query.where(or_(*held))
    return db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False)


def role_history(user_id: int, limit: int = 50) -> list[RoleChange]:
    """Role changes of a user, newest first, with the admin who made them."""
    return list(db.session.scalars(
        select(RoleChange).where(RoleChange.user_id == user_id).options(joinedload(RoleChange.changed_by))
        .order_by(RoleChange.created_at.desc(), RoleChange.id.desc()).limit(limit)))


def new_users_per_week(starts: list[datetime]) -> list[int]:
    """Accounts created in each of these weeks (one query)."""
    bucket = week_bucket(User.created_at, starts)
    counts = dict(db.session.execute(select(bucket, func.count(User.id)).where(User.created_at >= starts[0])
                                     .group_by(bucket)).all())
    return [counts.get(index, 0) for index in range(len(starts))]
