"""Names of the standard category tree, in every language.

Category rows keep their English name; templates show `_(category.name)`. Listing the
names here puts them in the translation catalogues, and search finds a product by its
category in any language ("овощи", "көкөніс", "vegetables").
"""
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

CATEGORY_NAMES = [
    _l("Vegetables"), _l("Fruit"), _l("Dairy"), _l("Meat"), _l("Honey"), _l("Bread"), _l("Preserves"),
    _l("Seeds and seedlings"), _l("Felt and textiles"), _l("Ceramics"), _l("Wood"), _l("Herbs and tea"),
]


def category_names_in_all_languages(name: str, languages: list[str]) -> list[str]:
    names = []
    for language in languages:
        with force_locale(language):
            translated = gettext(name)
        if translated not in names:
            names.append(translated)
    return names
