from flask_babel import lazy_gettext as _l

SCHEME_LABELS = {
    "organic_third_party": _l("Certified organic"),
    "organic_pgs": _l("PGS organic"),
    "organic_district": _l("Organic district member"),
    "in_conversion": _l("In conversion to organic"),
    "halal": _l("Halal"),
    "handmade": _l("Handmade"),
}


def scheme_label(scheme) -> str:
    key = getattr(scheme, "value", scheme)
    return str(SCHEME_LABELS.get(key, key))
