"""Forms of the groups feature. The visit checklist is read field by field in the views
(answer-<item id>, note-<item id>): its items come from the visit's version of the standard."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from marketplace.groups.labels import KIND_LABELS, OUTCOME_LABELS
from marketplace.groups.services import MAX_VALIDITY_MONTHS, REASONS_MAX
from marketplace.producers.forms import country_choices


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class GroupCreateForm(FlaskForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("Kind of group"), choices=list(KIND_LABELS.items()))
    country = SelectField(_l("Country"))
    region = StringField(_l("Region"), filters=[_strip], validators=[Optional(), Length(max=120)])
    standing_until = DateField(_l("Recognised until (optional)"), validators=[Optional()],
                               description=_l("After this day the group's badges are no longer shown."))
    validity_months = IntegerField(_l("Months a PGS certificate is valid"), default=12,
                                   validators=[InputRequired(), NumberRange(1, MAX_VALIDITY_MONTHS)])
    submit = SubmitField(_l("Create group"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()


class StandingForm(FlaskForm):
    status = RadioField(_l("Standing"), choices=[("active", _l("Active: its badges show")),
                                                 ("suspended", _l("Suspended: its badges are hidden"))],
                        validators=[DataRequired()])
    standing_until = DateField(_l("Recognised until (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Save standing"))


class CoordinatorForm(FlaskForm):
    email = EmailField(_l("Email of the coordinator's account"), filters=[_strip],
                       validators=[DataRequired(), Length(max=254)])
    shown_name = StringField(_l("Name shown on the group's page"), filters=[_strip],
                             validators=[Optional(), Length(max=80)],
                             description=_l("Leave empty to show the account's name."))
    submit = SubmitField(_l("Add coordinator"))


class GroupPageForm(FlaskForm):
    region = StringField(_l("Region"), filters=[_strip], validators=[Optional(), Length(max=120)])
    story = TextAreaField(_l("The group's story"), validators=[Optional(), Length(max=8000)],
                          render_kw={"rows": 8})
    lat = StringField(_l("Centre of the area: latitude"), filters=[_strip], validators=[Optional(), Length(max=20)],
                      description=_l("For example 42.52. On the map below you can tap the centre instead."))
    lon = StringField(_l("Centre of the area: longitude"), filters=[_strip], validators=[Optional(), Length(max=20)])
    radius_km = IntegerField(_l("How far the area reaches (km)"), validators=[Optional(), NumberRange(1, 300)])
    validity_months = IntegerField(_l("Months a PGS certificate is valid"),
                                   validators=[InputRequired(), NumberRange(1, MAX_VALIDITY_MONTHS)])
    submit = SubmitField(_l("Save the page"))

    def coordinates(self) -> tuple[float | None, float | None]:
        """(lat, lon) as numbers, or (None, None); a wrong number is an error on its field."""
        values = []
        for field in (self.lat, self.lon):
            text = (field.data or "").replace(",", ".")
            if not text:
                values.append(None)
                continue
            try:
                values.append(float(text))
            except ValueError:
                field.errors = list(field.errors) + [_l("Enter degrees as a number, such as 42.87.")]
                values.append(None)
        return values[0], values[1]


class PhotoForm(FlaskForm):
    photo = FileField(_l("Add a photo (JPEG, PNG or WebP, up to 8 MB)"),
                      validators=[FileRequired(message=_l("Choose a photo."))])
    submit = SubmitField(_l("Upload"))


class StandardForm(FlaskForm):
    title = StringField(_l("Name of the standard"), filters=[_strip], validators=[DataRequired(), Length(max=160)])
    items = TextAreaField(_l("Requirements, one per line"), validators=[DataRequired(), Length(max=60000)],
                          render_kw={"rows": 14},
                          description=_l("What reviewers should look at can follow a vertical bar, for example: "
                                         "“No synthetic fertiliser | ask to see the compost heap”."))
    submit = SubmitField(_l("Save as a new version"))


class ApplyForm(FlaskForm):
    message = TextAreaField(_l("Message to the coordinators"), validators=[Optional(), Length(max=1000)],
                            description=_l("What you grow or make, and since when you farm this way."),
                            render_kw={"rows": 4, "maxlength": 1000})
    submit = SubmitField(_l("Apply to join"))


class ChooseGroupForm(FlaskForm):
    """On the producer's profile: the organic district or PGS group is chosen, not typed."""

    group = SelectField(_l("Organic district or PGS group"), validators=[DataRequired()])
    submit = SubmitField(_l("Apply to join"))


class MembershipActionForm(FlaskForm):
    reason = StringField(_l("Reason (needed to refuse, suspend or remove; the producer is told)"),
                         filters=[_strip], validators=[Optional(), Length(max=255)])


class VisitForm(FlaskForm):
    scheduled_for = DateField(_l("Date of the visit"), validators=[InputRequired(message=_l("Enter a date."))])
    consumer_email = EmailField(_l("A consumer: email of their account (optional)"), filters=[_strip],
                                validators=[Optional(), Length(max=254)])
    consumer_shown_name = StringField(_l("Name to show publicly for the consumer (optional)"), filters=[_strip],
                                      validators=[Optional(), Length(max=80)])
    adviser_email = EmailField(_l("An adviser: email of their account (optional)"), filters=[_strip],
                               validators=[Optional(), Length(max=254)])
    adviser_shown_name = StringField(_l("Name to show publicly for the adviser (optional)"), filters=[_strip],
                                     validators=[Optional(), Length(max=80)])
    submit = SubmitField(_l("Schedule the visit"))


class DecisionForm(FlaskForm):
    outcome = RadioField(_l("The group's decision"), choices=list(OUTCOME_LABELS.items()),
                         validators=[DataRequired(message=_l("Choose a decision."))])
    reasons = TextAreaField(_l("Reasons"), validators=[DataRequired(message=_l("Write the reasons for the decision.")),
                                                       Length(max=REASONS_MAX)], render_kw={"rows": 4})
    conditions = TextAreaField(_l("Conditions (only when approving with conditions)"),
                               validators=[Optional(), Length(max=REASONS_MAX)], render_kw={"rows": 3})
    conditions_due = DateField(_l("Deadline for the conditions"), validators=[Optional()])
    valid_until = DateField(_l("Certificate valid until"), validators=[Optional()])
    submit = SubmitField(_l("Record the decision"))

    def validate_conditions(self, field):
        if self.outcome.data == "conditions" and not (field.data or "").strip():
            raise ValidationError(_l("Write the conditions."))
