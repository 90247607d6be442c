"""Read-only queries for account lists."""
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import or_, select

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.core.text import folded, like_pattern, normalize_text


def search_users(text: str, page: int, per_page: int = 50) -> Pagination:
    """Users whose email or name holds the text, normalised as the catalog's search is
    (case-folded in every alphabet, ё = е), newest first."""
    query = select(User).order_by(User.created_at.desc(), User.id.desc())
    text = normalize_text((text or "")[:200])
    if text:
        pattern = like_pattern(text)
        query = query.where(or_(User.email.like(pattern, escape="\\"), folded(User.name).like(pattern, escape="\\")))
    return db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False)
