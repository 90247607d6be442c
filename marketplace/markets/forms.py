"""Forms of the organizer's pages; the rules themselves are checked again in services."""
from __future__ import annotations

from datetime import time

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from marketplace.accounts.forms import MaxLength
from marketplace.core.money import InvalidAmount, parse_decimal
from marketplace.markets import services
from marketplace.markets.models import VendorStatus

WEEKDAYS = [("MO", _l("Monday")), ("TU", _l("Tuesday")), ("WE", _l("Wednesday")), ("TH", _l("Thursday")),
            ("FR", _l("Friday")), ("SA", _l("Saturday")), ("SU", _l("Sunday"))]
POSITIONS = [("1", _l("First")), ("2", _l("Second")), ("3", _l("Third")), ("4", _l("Fourth")), ("-1", _l("Last"))]
#: The first is what a datetime-local input understands; the others are accepted too.
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
RULE_KINDS = [("weekly", _l("Every week on")), ("monthly", _l("Once a month, on the")),
              ("rrule", _l("Advanced rule (RRULE)"))]


class MarketForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)],
                          description=_l("Shown as text on the market page, also when the map does not load."))
    lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)],
                     description=_l("e.g. 43.2389 (decimal degrees)"))
    lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)],
                     description=_l("e.g. 76.8897"))
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)], default="Asia/Almaty",
                           description=_l("An IANA time zone such as Asia/Almaty or Asia/Bishkek."))
    currency = StringField(_l("Currency"), validators=[DataRequired(), Length(min=3, max=3)], default="KZT",
                           description=_l("ISO code: KZT, KGS, ..."))
    commission = StringField(_l("Commission (%)"), validators=[DataRequired(), Length(max=10)], default="0",
                             description=_l("Taken from each producer's sales, e.g. 5 or 7.5."))
    accepts_cash = BooleanField(_l("Customers may pay cash at pickup"), default=True)
    ordering_opens_days_before = IntegerField(_l("Ordering opens (days before the market day)"), default=6,
                                              validators=[InputRequired(), NumberRange(0, 60)])
    cutoff_days_before = IntegerField(_l("Orders close (days before the market day)"), default=1,
                                      validators=[InputRequired(), NumberRange(0, 60)])
    cutoff_local_time = TimeField(_l("Orders close at (local time)"), validators=[InputRequired()],
                                  default=time(20, 0))
    photo = FileField(_l("Photo"), description=_l("JPEG, PNG or WebP, up to 8 MB."))
    submit = SubmitField(_l("Save"))

    def validate_timezone(self, field):
        try:
            field.data = services.validate_timezone(field.data)
        except services.MarketError as exc:
            raise ValidationError(exc.message) from None

    def validate_currency(self, field):
        try:
            field.data = services.validate_currency(field.data)
        except services.MarketError as exc:
            raise ValidationError(exc.message) from None

    def validate_commission(self, field):
        try:
            self.commission_bp = services.percent_to_bp(parse_decimal(field.data))
        except InvalidAmount as exc:
            raise ValidationError(str(exc)) from None
        except services.MarketError as exc:
            raise ValidationError(exc.message) from None

    def market_data(self) -> services.MarketData:
        return services.MarketData(
            name=self.name.data, description=self.description.data or "", address=self.address.data or "",
            lat=self.lat.data, lon=self.lon.data, timezone=self.timezone.data, currency=self.currency.data,
            commission_bp=self.commission_bp, accepts_cash=self.accepts_cash.data,
            ordering_opens_days_before=self.ordering_opens_days_before.data,
            cutoff_days_before=self.cutoff_days_before.data, cutoff_local_time=self.cutoff_local_time.data)

    def photo_stream(self):
        upload = self.photo.data
        return upload.stream if upload and getattr(upload, "filename", "") else None


class OrganizerForm(FlaskForm):
    email = EmailField(_l("Email of their account"), validators=[DataRequired(), MaxLength(max=254), Email()])
    submit = SubmitField(_l("Add organizer"))


class ScheduleForm(FlaskForm):
    kind = RadioField(_l("Repeats"), choices=RULE_KINDS, default="weekly")
    position = SelectField(_l("Week of the month"), choices=POSITIONS, default="1")
    weekday = SelectField(_l("Weekday"), choices=WEEKDAYS, default="SA")
    raw = StringField(_l("Rule (RFC 5545 RRULE)"), validators=[Optional(), Length(max=255)],
                      description=_l("For example FREQ=WEEKLY;INTERVAL=2;BYDAY=SA (every other Saturday)."))
    opens_local = TimeField(_l("Opens at"), validators=[InputRequired()], default=time(8, 0))
    closes_local = TimeField(_l("Closes at"), validators=[InputRequired()], default=time(13, 0))
    weeks_ahead = IntegerField(_l("Weeks to plan ahead"), default=8,
                               validators=[InputRequired(), NumberRange(1, services.MAX_WEEKS_AHEAD)])
    slot_minutes = IntegerField(_l("Pickup slot length (minutes)"), default=30,
                                validators=[InputRequired(), NumberRange(5, 24 * 60)])
    slot_capacity = IntegerField(_l("Orders per slot"), default=20,
                                 validators=[InputRequired(), NumberRange(0, services.MAX_SLOT_CAPACITY)])
    submit = SubmitField(_l("Save schedule"))

    def rule(self) -> str:
        return services.rule_from_choice(self.kind.data, self.weekday.data, int(self.position.data),
                                         self.raw.data or "")


class OneOffDayForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=120)],
                        description=_l("e.g. Autumn organic fair"))
    date = DateField(_l("Date"), validators=[InputRequired()])
    opens_local = TimeField(_l("Opens at"), validators=[InputRequired()], default=time(8, 0))
    closes_local = TimeField(_l("Closes at"), validators=[InputRequired()], default=time(13, 0))
    slot_minutes = IntegerField(_l("Pickup slot length (minutes)"), default=30,
                                validators=[InputRequired(), NumberRange(5, 24 * 60)])
    slot_capacity = IntegerField(_l("Orders per slot"), default=20,
                                 validators=[InputRequired(), NumberRange(0, services.MAX_SLOT_CAPACITY)])
    submit = SubmitField(_l("Add market day"))


class MarketDayForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=120)])
    opens_local = TimeField(_l("Opens at"), validators=[InputRequired()], default=time(8, 0))
    closes_local = TimeField(_l("Closes at"), validators=[InputRequired()], default=time(13, 0))
    ordering_opens_local = DateTimeLocalField(_l("Ordering opens"), validators=[InputRequired()], format=LOCAL_FORMATS)
    cutoff_local = DateTimeLocalField(_l("Orders close (cutoff)"), validators=[InputRequired()], format=LOCAL_FORMATS)
    submit = SubmitField(_l("Save market day"))


class CancelDayForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(message=_l("Tell people why the market day is cancelled.")),
                                                   Length(max=255)],
                         description=_l("Sent to producers and customers, e.g. storm warning."))
    submit = SubmitField(_l("Cancel this market day"))


class SlotTemplateForm(FlaskForm):
    start_local = TimeField(_l("First slot starts"), validators=[InputRequired()])
    end_local = TimeField(_l("Last slot ends"), validators=[InputRequired()])
    slot_minutes = IntegerField(_l("Slot length (minutes)"), default=30,
                                validators=[InputRequired(), NumberRange(5, 24 * 60)])
    capacity = IntegerField(_l("Orders per slot"), default=20,
                            validators=[InputRequired(), NumberRange(0, services.MAX_SLOT_CAPACITY)])
    submit = SubmitField(_l("Generate slots"))


class SlotCapacityForm(FlaskForm):
    capacity = IntegerField(_l("Capacity"), validators=[InputRequired(), NumberRange(0, services.MAX_SLOT_CAPACITY)])
    submit = SubmitField(_l("Save"))


class VendorDecisionForm(FlaskForm):
    action = SelectField(_l("Decision"), choices=[(a.value, a.value) for a in services.VendorAction])
    reason = StringField(_l("Reason (sent to the producer)"), validators=[Optional(), Length(max=255)])
    stall = StringField(_l("Stall number or place"), validators=[Optional(), Length(max=60)])
    submit = SubmitField(_l("Save"))


class StallForm(FlaskForm):
    stall = StringField(_l("Stall number or place"), validators=[Optional(), Length(max=60)])
    submit = SubmitField(_l("Save stall"))


VENDOR_FILTERS = [("", _l("All"))] + [(s.value, services.VENDOR_STATUS_LABELS[s]) for s in VendorStatus]
