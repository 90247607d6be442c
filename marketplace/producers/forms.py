"""Forms of the producer's shop; money and quantities are parsed exactly (marketplace.core.money)."""
from __future__ import annotations

import re
from decimal import Decimal

from babel import Locale
from babel.numbers import get_currency_name
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from marketplace.accounts.forms import PRODUCER_KINDS
from marketplace.producers.models import StockMode, Unit
from marketplace.producers.services import (
    ProductData,
    parse_inventory_field,
    parse_price_field,
)

#: Currencies of the markets we serve first, then the common ones.
CURRENCIES = ["KZT", "KGS", "UZS", "TJS", "RUB", "MNT", "TRY", "USD", "EUR"]
FIRST_COUNTRIES = ["KZ", "KG", "UZ", "TJ"]
UNIT_CHOICES = [(Unit.KG.value, _l("kilogram (kg)")), (Unit.G.value, _l("gram (g)")), (Unit.L.value, _l("litre (l)")),
                (Unit.PIECE.value, _l("piece")), (Unit.BUNCH.value, _l("bunch")), (Unit.JAR.value, _l("jar")),
                (Unit.DOZEN.value, _l("dozen"))]
STOCK_CHOICES = [(StockMode.PER_MARKET_DAY.value, _l("I say how much I bring to each market day (harvest)")),
                 (StockMode.INVENTORY.value, _l("I have a standing stock (crafts, honey, preserves)"))]
_COORDINATE = re.compile(r"^-?[0-9]{1,3}(?:[.,][0-9]{1,8})?$")  # ASCII digits, as every number field


#: Two-letter territories of the locale data that are no country one lives in: unions and zones
#: ("European Union", "Eurozone", "United Nations"), Antarctica, outlying and pseudo-regions, and
#: islands with nobody living on them for good (Bouvet, Heard & McDonald, the US Minor Outlying
#: Islands, the French Southern Territories, South Georgia, the British Indian Ocean Territory).
NOT_COUNTRIES = frozenset({"AC", "AQ", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ",
                           "BV", "HM", "UM", "TF", "GS", "IO"})


def country_choices(first: list[str] | None = None) -> list[tuple[str, str]]:
    """Real countries by their name in the user's language; `first` (the markets' countries) and
    our four countries lead."""
    names = Locale.parse(str(get_locale() or "en")).territories
    codes = sorted((code for code in names if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES),
                   key=lambda c: names[c])
    leading = list(dict.fromkeys(c for c in (first or []) + FIRST_COUNTRIES if c in names and c not in NOT_COUNTRIES))
    ordered = leading + [code for code in codes if code not in leading]
    return [(code, names.get(code, code)) for code in ordered]


def currency_choices() -> list[tuple[str, str]]:
    locale = str(get_locale() or "en")
    return [(code, f"{code} — {get_currency_name(code, locale=locale)}") for code in CURRENCIES]


def _coordinate(field, low: int, high: int) -> Decimal | None:
    text = (field.data or "").strip()
    if not text:
        return None
    if not _COORDINATE.match(text):
        field.errors.append(_l("Enter degrees as a number, such as 42.87."))
        return None
    value = Decimal(text.replace(",", "."))
    if not low <= value <= high:
        field.errors.append(_l("Enter a value between %(low)s and %(high)s.", low=low, high=high))
        return None
    return value


class ProfileForm(FlaskForm):
    name = StringField(_l("Farm or workshop name"), validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("What you do"), choices=PRODUCER_KINDS)
    story = TextAreaField(_l("Your story"), validators=[Optional(), Length(max=4000)],
                          description=_l("How you grow or make things; customers read this on your page."))
    district = StringField(_l("District"), validators=[Optional(), Length(max=120)])
    country = SelectField(_l("Country"))
    currency = SelectField(_l("Currency of your prices"),
                           description=_l("New products are priced in it; existing products keep theirs."))
    lat = StringField(_l("Latitude (optional)"), validators=[Optional(), Length(max=20)],
                      description=_l("Rounded to about a kilometre: your village, never your house."))
    lon = StringField(_l("Longitude (optional)"), validators=[Optional(), Length(max=20)])
    #: Not named "photo": Producer.photo (the Image) would fill it from the object.
    photo_file = FileField(_l("Profile photo (JPEG, PNG or WebP, up to 8 MB)"))
    remove_photo = BooleanField(_l("Remove the current photo"))
    submit = SubmitField(_l("Save profile"))

    def __init__(self, *args, first_countries: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices(first_countries)
        self.currency.choices = currency_choices()
        self.lat_value: Decimal | None = None
        self.lon_value: Decimal | None = None

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self.lat_value = _coordinate(self.lat, -90, 90)
        self.lon_value = _coordinate(self.lon, -180, 180)
        if self.lat.errors or self.lon.errors:
            return False
        if (self.lat_value is None) != (self.lon_value is None):
            self.lat.errors.append(_l("Enter both latitude and longitude, or neither."))
            return False
        return ok


class ProductForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    category_id = SelectField(_l("Category"), coerce=int, validate_choice=True)
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    unit = SelectField(_l("Sold per"), choices=UNIT_CHOICES)
    price = StringField(_l("Price per unit"), validators=[DataRequired(message=_l("Enter a price."))],
                        description=_l("For example 450 or 12,50."))
    sold_by_weight = BooleanField(_l("Sold by weight (weighed when packed; the price follows the weight)"))
    stock_mode = RadioField(_l("Stock"), choices=STOCK_CHOICES, default=StockMode.PER_MARKET_DAY.value)
    inventory = StringField(_l("Quantity in stock"), validators=[Optional(), Length(max=20)],
                            description=_l("Only for standing stock."))
    photo = FileField(_l("Add a photo (JPEG, PNG or WebP, up to 8 MB)"))
    submit = SubmitField(_l("Save product"))

    def __init__(self, *args, currency: str, categories: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.category_id.choices = [(0, _l("Choose…"))] + categories
        self.parsed: ProductData | None = None

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.category_id.data == 0:
            self.category_id.errors = list(self.category_id.errors) + [_l("Choose a category.")]
            ok = False
        price, message = parse_price_field(self.price.data, self.currency) if self.price.data else (None, None)
        if message:
            self.price.errors = list(self.price.errors) + [message]
            ok = False
        inventory = None
        if self.stock_mode.data == StockMode.INVENTORY.value:
            inventory, message = parse_inventory_field(self.inventory.data, bool(self.sold_by_weight.data))
            if message:
                self.inventory.errors = list(self.inventory.errors) + [message]
                ok = False
        if ok:
            self.parsed = ProductData(
                name=self.name.data.strip(), category_id=self.category_id.data, unit=Unit(self.unit.data),
                price_minor=price, sold_by_weight=bool(self.sold_by_weight.data),
                stock_mode=StockMode(self.stock_mode.data), description=self.description.data or "",
                inventory_milli=inventory)
        return ok


class PhotoForm(FlaskForm):
    photo = FileField(_l("Add a photo (JPEG, PNG or WebP, up to 8 MB)"))
    submit = SubmitField(_l("Upload"))


class ApplyForm(FlaskForm):
    message = TextAreaField(_l("Message to the organizers"), validators=[Optional(), Length(max=2000)],
                            description=_l("What you would bring, and since when you grow or make it."))
    submit = SubmitField(_l("Apply to sell here"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"))
    submit = SubmitField(_l("Import"))
