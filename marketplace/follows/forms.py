from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """Only the CSRF token: the follow and favourite buttons."""
