"""Every message in use is translated in every language, with the same placeholders."""
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "marketplace" / "translations"
LOCALES = ["ru", "kk", "ky", "en"]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2)}
METHODS = [("marketplace/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.fixture(scope="module")
def messages_in_use() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=METHODS, keywords=KEYWORDS,
            options_map={"templates/**.html": {"extensions": "jinja2.ext.do"},
                         "templates/**.txt": {"extensions": "jinja2.ext.do"}}):
        found.add(message[0] if isinstance(message, tuple) else message)
    assert len(found) > 100
    return found


def catalogue(locale: str):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_in_use_is_translated(messages_in_use, locale):
    po = catalogue(locale)
    missing = []
    for msgid in sorted(messages_in_use):
        message = po.get(msgid)
        strings = message.string if message is not None else None
        if isinstance(strings, tuple):
            complete = all(strings)
        else:
            complete = bool(strings)
        if message is None or not complete or message.fuzzy:
            missing.append(msgid)
    assert missing == [], f"{len(missing)} message(s) without a {locale} translation, e.g. {missing[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_every_placeholder(locale):
    """A translation that drops or renames %(name)s would crash the page that shows it."""
    broken = []
    for message in catalogue(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[0])) | (set(PLACEHOLDER.findall(ids[-1])) if len(ids) > 1 else set())
        for text in strings:
            if text and set(PLACEHOLDER.findall(text)) - wanted:
                broken.append((ids[0], text))
            elif text and len(ids) == 1 and set(PLACEHOLDER.findall(text)) != wanted:
                broken.append((ids[0], text))
    assert broken == []


#: Sentences a customer reads as a message or a notice of its own (Telegram, email, a flash).
CUSTOMER_SENTENCES = [
    "Back in your basket for %(day)s: %(names)s.",
    "Review your order of %(day)s",
    "Your order %(code)s at %(market)s on %(day)s was not picked up.",
    "Your order %(code)s for %(market)s on %(day)s is cancelled.",
]


@pytest.mark.parametrize("locale", ["kk", "ky"])
def test_a_customer_sentence_does_not_begin_with_the_date(locale):
    """Kazakh and Kyrgyz write weekdays in lower case ("сенбі 5 желтоқсан"): a sentence that begins
    with the date would begin with a small letter ("❌ жексенбі 6 желтоқсан күні ... болдырылмады")."""
    po = catalogue(locale)
    starting_with_date = [msgid for msgid in CUSTOMER_SENTENCES if po.get(msgid).string.startswith("%(day)s")]
    assert starting_with_date == []
