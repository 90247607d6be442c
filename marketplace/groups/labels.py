"""Words for the groups feature's states, shown in four languages."""
from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "organic_district": _l("Organic district"),
    "pgs_group": _l("PGS group"),
    "agroecology_school": _l("Agroecology school"),
}
MEMBERSHIP_LABELS = {
    "applied": _l("Applied"),
    "active": _l("Member"),
    "suspended": _l("Suspended"),
    "removed": _l("Removed"),
    "refused": _l("Not accepted"),
}
ROLE_LABELS = {
    "member": _l("Member of the group"),
    "consumer": _l("Consumer"),
    "adviser": _l("Adviser"),
}
ANSWER_LABELS = {
    "complies": _l("Complies"),
    "not": _l("Does not comply"),
    "na": _l("Not applicable"),
}
OUTCOME_LABELS = {
    "approved": _l("Approved"),
    "conditions": _l("Approved with conditions"),
    "refused": _l("Refused"),
}
VISIT_LABELS = {
    "scheduled": _l("Being filled in"),
    "signed": _l("Signed, waiting for the decision"),
    "decided": _l("Decided"),
    "cancelled": _l("Cancelled"),
}


def _label(table: dict, value) -> str:
    key = getattr(value, "value", value)
    return str(table.get(key, key or ""))


def kind_label(value) -> str:
    return _label(KIND_LABELS, value)


def membership_label(value) -> str:
    return _label(MEMBERSHIP_LABELS, value)


def role_label(value) -> str:
    return _label(ROLE_LABELS, value)


def answer_label(value) -> str:
    return _label(ANSWER_LABELS, value)


def outcome_label(value) -> str:
    return _label(OUTCOME_LABELS, value)


def visit_label(value) -> str:
    return _label(VISIT_LABELS, value)
