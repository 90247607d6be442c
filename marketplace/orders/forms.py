"""Forms of the basket, checkout and pick list. Quantities are parsed per product (units.py)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp

from marketplace.web.args import MAX_ID

#: Ids posted in forms fit the database's integer; a larger number is refused, not an overflow.
ID_RANGE = NumberRange(min=1, max=MAX_ID)


def strip(value):
    return value.strip() if isinstance(value, str) else value


class ActionForm(FlaskForm):
    """Only the CSRF token: a POST button (remove, packed, missing)."""


class AddToBasketForm(FlaskForm):
    """Posted by the catalog's product page; the quantity is parsed for the product's unit."""

    product_id = IntegerField(validators=[InputRequired(), ID_RANGE])
    market_day_id = IntegerField(validators=[InputRequired(), ID_RANGE])
    quantity = StringField(_l("Quantity"), filters=[strip], validators=[DataRequired(), Length(max=20)])
    next = HiddenField()


class QuantityForm(FlaskForm):
    quantity = StringField(_l("Quantity"), filters=[strip], validators=[DataRequired(), Length(max=20)])


class ChangeDayForm(FlaskForm):
    market_day_id = IntegerField(_l("Market day"), validators=[InputRequired(), ID_RANGE])


class CheckoutForm(FlaskForm):
    pickup_slot = RadioField(_l("Pickup time"), coerce=int,
                             validators=[InputRequired(message=_l("Choose a pickup time."))])
    payment_method = RadioField(_l("Payment"), validators=[InputRequired(message=_l("Choose how to pay."))])
    phone = StringField(_l("Phone number"), filters=[strip],
                        validators=[DataRequired(message=_l("Enter a phone number so the market can reach you.")),
                                    Length(max=32),
                                    Regexp(r"^\+?[0-9 ()\-]{6,31}$",
                                           message=_l("Enter a phone number such as +7 701 123 45 67."))])
    #: Drawn when the page is shown; the same key twice places one order.
    idempotency_key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    submit = SubmitField(_l("Place order"))


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason (the customer sees it)"), filters=[strip], validators=[Length(max=255)])
    submit = SubmitField(_l("Cancel"))


class WeightForm(FlaskForm):
    weight = StringField(_l("Weighed quantity"), filters=[strip], validators=[DataRequired(), Length(max=20)])
