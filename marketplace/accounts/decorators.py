"""Access checks for views."""
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from marketplace.accounts.models import Role


def role_required(role: Role):
    """Log in first; then a user without the role gets 404 (we do not reveal the page)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.has_role(role):
                abort(404)
            return view(*args, **kwargs)

        return wrapper

    return decorator
