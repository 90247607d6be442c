"""The PGS badge has one name across the site in each language: the product card's label and the
group pages' "until <date>" phrases must not call it two different things (ru had both
"Органика PGS" and "PGS органик")."""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "marketplace" / "translations"
PHRASES = ("PGS organic from %(group)s until %(d)s", "PGS organic until %(d)s",
           "PGS organic until %(d)s: the public record", "PGS organic, valid until %(d)s")


def _catalog(lang):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=lang)


@pytest.mark.parametrize("lang", ["ru", "kk", "ky", "en"])
def test_every_phrase_uses_the_badge_name_of_the_product_card(lang):
    catalog = _catalog(lang)
    name = catalog["PGS organic"].string
    assert name
    for phrase in PHRASES:
        translated = catalog[phrase].string
        assert name in translated, (lang, phrase, translated, name)
