"""Access checks for views: log in first; a user without the role gets 404 (the page is not revealed)."""
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from marketplace.accounts.models import Role


def role_required(*roles: Role):
    """Any one of the roles lets the user in."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not any(current_user.has_role(role) for role in roles):
                abort(404)
            return view(*args, **kwargs)

        return wrapper

    return decorator


#: Organizers run markets and check certificates; admins may do everything they do.
organizer_required = role_required(Role.ORGANIZER, Role.ADMIN)
