"""Access checks for views: sign in first; a user without the role, or without the object, gets 404."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def role_required(*roles):
    """Any one of the roles lets the user in (the page is not revealed to others)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not any(current_user.has_role(role) for role in roles):
                abort(404)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def object_required(roles: tuple, loader: Callable, name: str):
    """Like role_required, then `loader(current_user)` must find the user's object, passed as `name`.

    For example the producer of the signed-in user: `producer_required` in producers.
    """

    def decorator(view):
        @wraps(view)
        @role_required(*roles)
        def wrapper(*args, **kwargs):
            found = loader(current_user)
            if found is None:
                abort(404)
            return view(*args, **{name: found}, **kwargs)

        return wrapper

    return decorator
