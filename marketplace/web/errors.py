"""Error pages in the site's design; never a stack trace."""
from __future__ import annotations

import logging
import time

from flask import Flask, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from marketplace.core.extensions import db, limiter

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please check what you entered and try again.")),
    403: (_l("Not allowed"), _l("You do not have permission to do that.")),
    404: (_l("Page not found"), _l("There is nothing here. The link may be old or mistyped.")),
    405: (_l("Not allowed"), _l("That action is not possible on this page.")),
    413: (_l("Too large"), _l("The file or form you sent is too large. Images may be up to 8 MB, documents up to 10 MB.")),
    429: (_l("Too many attempts"), _l("Please wait a minute before trying again.")),
    500: (_l("Something went wrong"), _l("We could not complete your request. Nothing was changed; please try again later.")),
}


def render_error(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, MESSAGES[500])
    return render_template("errors/error.html", code=code, title=title,
                           message=detail or message, request_id=g.get("request_id")), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, str(_l("Your form expired or was sent from elsewhere. Please reload the page and try again.")))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if error.code not in MESSAGES:
            return render_error(error.code) if error.code >= 500 else (
                render_template("errors/error.html", code=error.code, title=error.name,
                                message=error.description), error.code)
        return render_error(error.code, _wait_to_retry() if error.code == 429 else None)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_error(500)


def _wait_to_retry() -> str | None:
    """How long the refused visitor must wait, in whole minutes: the limiter's window ends at
    reset_at (registration and password-reset windows are ten minutes; "a minute" sent people
    back too early)."""
    current = limiter.current_limit
    if current is None:
        return None
    minutes = max(1, int(current.reset_at - time.time() + 59) // 60)
    return ngettext("Too many requests. Please try again in %(num)s minute.",
                    "Too many requests. Please try again in %(num)s minutes.", minutes)
