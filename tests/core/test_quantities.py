"""Quantities as people read them: a counted unit agrees with its number (tryout of issue 21).

The pick list, the pickup point and the dashboard read "Укроп — 2 пучок", "3 банка", "2 bunch":
the unit's name stays in the singular whatever the number.
"""
from __future__ import annotations

import pytest
from flask_babel import force_locale

from marketplace.core.quantities import format_quantity


@pytest.mark.parametrize("locale, milli, unit, expected", [
    ("ru", 1_000, "bunch", "1\u00a0пучок"),
    ("ru", 2_000, "bunch", "2\u00a0пучка"),
    ("ru", 5_000, "bunch", "5\u00a0пучков"),
    ("ru", 3_000, "jar", "3\u00a0банки"),
    ("ru", 2_000, "dozen", "2\u00a0дюжины"),
    ("en", 2_000, "bunch", "2\u00a0bunches"),
    ("en", 3_000, "jar", "3\u00a0jars"),
    ("ru", 1_500, "kg", "1,5\u00a0кг"),  # abbreviations do not change
    ("ru", 21_000, "jar", "21\u00a0банка"),
    ("ru", 1_500, "bunch", "1,5\u00a0пучка"),  # a fraction takes the genitive singular
    ("kk", 5_000, "bunch", "5\u00a0бау"),  # Kazakh and Kyrgyz nouns stay singular after a number
    ("ky", 3_000, "jar", "3\u00a0банка"),
])
def test_a_counted_unit_agrees_with_its_number(app, locale, milli, unit, expected):
    with app.test_request_context(), force_locale(locale):
        assert format_quantity(milli, unit) == expected
