"""Forms of the trust feature: certificates, decisions, reviews, replies, reports, moderation."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    HiddenField,
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
    Optional,
    ValidationError,
)

from marketplace.trust.labels import SCHEME_LABELS
from marketplace.trust.services import (
    REPLY_TEXT_MAX,
    REPORT_REASON_MAX,
    REVIEW_TEXT_MAX,
)


class CertificateForm(FlaskForm):
    scheme = SelectField(_l("Scheme"), choices=list(SCHEME_LABELS.items()), validators=[DataRequired()])
    issuer = StringField(_l("Issued by"), validators=[DataRequired(), Length(max=160)],
                         description=_l("The certification body, PGS group or district association."))
    number = StringField(_l("Certificate number"), validators=[Optional(), Length(max=80)])
    scope = StringField(_l("What it covers"), validators=[Optional(), Length(max=255)],
                        description=_l("For example: honey, vegetables, the whole farm."))
    valid_from = DateField(_l("Valid from"), validators=[InputRequired(message=_l("Enter a date."))])
    valid_until = DateField(_l("Valid until"), validators=[InputRequired(message=_l("Enter a date."))])
    document = FileField(_l("Certificate document (PDF, JPEG or PNG, up to 10 MB)"),
                         validators=[FileRequired(message=_l("Attach the certificate."))])
    submit = SubmitField(_l("Send for verification"))

    def validate_valid_until(self, field):
        if self.valid_from.data and field.data and field.data < self.valid_from.data:
            raise ValidationError(_l("The end of validity must not be before its start."))


class EditCertificateForm(CertificateForm):
    document = FileField(_l("Replace the document (optional)"))
    submit = SubmitField(_l("Save and send for verification again"))


class DecisionForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=[("verify", _l("Verify: the document is genuine and valid")),
                                                   ("reject", _l("Reject"))],
                          validators=[DataRequired(message=_l("Choose a decision."))])
    reason = TextAreaField(_l("Reason (required when rejecting)"), validators=[Optional(), Length(max=255)])
    #: The SHA-256 of the document shown: the decision is about those bytes.
    document_sha256 = HiddenField(validators=[Optional(), Length(max=64)])
    submit = SubmitField(_l("Record decision"))

    def validate_reason(self, field):
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the certificate is rejected."))


class ReviewForm(FlaskForm):
    rating = RadioField(_l("Your rating"), choices=[("5", _l("5 — excellent")), ("4", _l("4 — good")),
                                                     ("3", _l("3 — all right")), ("2", _l("2 — poor")),
                                                     ("1", _l("1 — bad"))],
                        validators=[DataRequired(message=_l("Choose from 1 to 5 stars."))])
    text = TextAreaField(_l("Your review (optional)"), validators=[Optional(), Length(max=REVIEW_TEXT_MAX)],
                         render_kw={"maxlength": REVIEW_TEXT_MAX, "rows": 5, "data-counter": "true"})
    submit = SubmitField(_l("Publish review"))


class ReplyForm(FlaskForm):
    text = TextAreaField(_l("Your reply"), validators=[DataRequired(message=_l("Write a reply.")),
                                                       Length(max=REPLY_TEXT_MAX)],
                         render_kw={"maxlength": REPLY_TEXT_MAX, "rows": 3, "data-counter": "true"})
    submit = SubmitField(_l("Publish reply"))


class ReportForm(FlaskForm):
    reason = TextAreaField(_l("What is wrong with this review?"),
                           validators=[Optional(), Length(max=REPORT_REASON_MAX)],
                           render_kw={"maxlength": REPORT_REASON_MAX, "rows": 2})
    submit = SubmitField(_l("Report review"))


class ModerationForm(FlaskForm):
    action = RadioField(_l("Action"), choices=[("hide", _l("Hide")), ("unhide", _l("Publish again")),
                                               ("dismiss", _l("Keep published, close the reports"))],
                        validators=[DataRequired(message=_l("Choose an action."))])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=255)])
    submit = SubmitField(_l("Apply"))

    def validate_reason(self, field):
        if self.action.data == "hide" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the review is hidden."))


class CustomerLookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    email = StringField(_l("Customer's email"), validators=[DataRequired(), Length(max=254)])
