"""One commit per request, at the edge: services flush, the view commits, any error rolls back."""
from __future__ import annotations

from flask import flash

from marketplace.core.errors import DomainError
from marketplace.core.extensions import db


class transaction:  # noqa: N801 - used like a function: `with transaction(form) as tx:`
    """Commit what the block did; on a domain error roll back and show its message.

    The message goes beside the form field the error names (`field=`), else to the top of
    the page as a flash. Any other exception rolls back and propagates (a 500 page).
    After the block, `tx.ok` says whether it committed and `tx.error` holds the refusal.
    """

    def __init__(self, form=None, *, flash_errors: bool = True):
        self.form = form
        self.flash_errors = flash_errors
        self.ok = False
        self.error: DomainError | None = None

    def __enter__(self) -> transaction:
        return self

    def __exit__(self, exc_type, exc, _traceback) -> bool:
        if exc_type is None:
            db.session.commit()
            self.ok = True
            return False
        db.session.rollback()
        if isinstance(exc, DomainError):
            self.error = exc
            show_error(self.form, exc, self.flash_errors)
            return True
        return False


def show_error(form, exc: DomainError, flash_errors: bool = True) -> None:
    """A service's refusal beside the field it is about, else at the top of the page."""
    name = exc.details.get("field") or getattr(exc, "field", None)
    if form is not None and name and name in form._fields:
        form[name].errors = list(form[name].errors) + [exc.message]
    elif flash_errors:
        flash(exc.message, "error")
