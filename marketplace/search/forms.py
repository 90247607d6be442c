from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

#: The vocabulary's languages as the admin's forms name them.
LANGUAGE_CHOICES = [("ru", _l("Russian")), ("kk", _l("Kazakh")), ("ky", _l("Kyrgyz")), ("en", _l("English")),
                    ("latin", _l("In Latin letters (as people type it)"))]
#: The demo's category keys a new group may belong to (core/vocabulary.tsv's `category` column).
CATEGORY_CHOICES = [("", _l("None")), ("vegetables", _l("Vegetables")), ("fruit", _l("Fruit")),
                    ("dairy", _l("Dairy")), ("meat", _l("Meat")), ("honey", _l("Honey")), ("bread", _l("Bread")),
                    ("preserves", _l("Preserves")), ("seeds", _l("Seeds and seedlings")),
                    ("textiles", _l("Felt and textiles")), ("ceramics", _l("Ceramics")), ("wood", _l("Wood")),
                    ("herbs", _l("Herbs and tea"))]


def strip(value):
    return value.strip() if isinstance(value, str) else value


class AddWordForm(FlaskForm):
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="ru")
    word = StringField(_l("Word or phrase"), filters=[strip], validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Add the word"))


class NewGroupForm(FlaskForm):
    ru = StringField(_l("Russian"), filters=[strip], validators=[Optional(), Length(max=100)])
    kk = StringField(_l("Kazakh"), filters=[strip], validators=[Optional(), Length(max=100)])
    ky = StringField(_l("Kyrgyz"), filters=[strip], validators=[Optional(), Length(max=100)])
    en = StringField(_l("English"), filters=[strip], validators=[DataRequired(), Length(max=100)])
    latin = StringField(_l("In Latin letters (as people type it)"), filters=[strip],
                        validators=[Optional(), Length(max=100)])
    category = SelectField(_l("Category"), choices=CATEGORY_CHOICES, default="")
    submit = SubmitField(_l("Add the group"))
