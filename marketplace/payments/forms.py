from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class CardTokenForm(FlaskForm):
    """Stripe.js puts the card token here; the card number never reaches our server."""

    token = HiddenField(validators=[DataRequired(), Length(max=100), Regexp(r"^tok_[A-Za-z0-9_]+$")])
    submit = SubmitField(_l("Authorise payment"))


class CheckForm(FlaskForm):
    submit = SubmitField(_l("I have confirmed with my bank"))


class RefundForm(FlaskForm):
    #: Made when the form is shown: a double click sends the same key, and refunds once.
    key = HiddenField(validators=[DataRequired(), Length(max=64), Regexp(r"^[A-Za-z0-9_-]{16,64}$")])
    amount = StringField(_l("Amount to refund"), validators=[Optional(), Length(max=20)])
    producer_id = SelectField(_l("Whose sale"), coerce=int, validators=[Optional()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=255)])
    submit = SubmitField(_l("Refund"))


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
