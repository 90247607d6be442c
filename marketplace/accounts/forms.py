from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, StopValidation, ValidationError

from marketplace.core.locale import LANGUAGE_NAMES


def strip(value):
    return value.strip() if isinstance(value, str) else value


ACCOUNT_TYPES = [("customer", _l("I buy at markets")), ("producer", _l("I sell what I grow or make"))]
PRODUCER_KINDS = [("farmer", _l("Farmer")), ("craftsman", _l("Craftsman")), ("processor", _l("Small processor"))]



class MaxLength(Length):
    """Length that stops the field's validation: placed before Email(), a 1 MB address is refused
    by its length and never parsed (email-validator's parsing is quadratic)."""

    def __call__(self, form, field):
        try:
            super().__call__(form, field)
        except ValidationError as error:
            raise StopValidation(str(error)) from None


class RegisterForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email"), filters=[strip], validators=[DataRequired(), MaxLength(max=254), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 8 characters."))
    confirm = PasswordField(_l("Repeat password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))])
    account_type = RadioField(_l("Account type"), choices=ACCOUNT_TYPES, default="customer")
    producer_name = StringField(_l("Farm or workshop name"), validators=[Optional(), Length(max=120)])
    producer_kind = SelectField(_l("What you do"), choices=PRODUCER_KINDS, default="farmer")
    submit = SubmitField(_l("Create account"))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.account_type.data == "producer" and not (self.producer_name.data or "").strip():
            self.producer_name.errors.append(_l("Enter the name customers will know you by."))
            ok = False
        return ok


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), filters=[strip], validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me logged in"))
    submit = SubmitField(_l("Log in"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), filters=[strip], validators=[DataRequired(), MaxLength(max=254), Email()])
    submit = SubmitField(_l("Send reset link"))


class ResetPasswordForm(FlaskForm):
    #: From the link's fragment (after `#`), put here by the page's script.
    token = HiddenField(validators=[DataRequired(), Length(max=500)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("Repeat new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))])
    submit = SubmitField(_l("Set new password"))


class VerifyEmailForm(FlaskForm):
    #: From the link's fragment (after `#`), put here by the page's script.
    token = HiddenField(validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Confirm my email"))


class AccountForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    locale = SelectField(_l("Language"), choices=[("", _l("As my browser says"))] + list(LANGUAGE_NAMES.items()))
    submit = SubmitField(_l("Save"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("Repeat new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))])
    submit = SubmitField(_l("Change password"))


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for POST buttons (log out, resend ...)."""

    submit = SubmitField(_l("Confirm"))
