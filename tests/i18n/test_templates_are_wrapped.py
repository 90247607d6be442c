"""Every user-facing string in a template goes through gettext."""
import re
from pathlib import Path

import pytest
from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
#: Words that are the same in every language (the brand, symbols).
ALLOWED = {"Aimak", "Aimak —", "№", "·", "×", "–", "—", "/", "|", "*", ":", "%", "+", "−", "-", "✓", "✕", "★", "☆",
           "…", "(", ")", "«", "»", "→", "←", "&times;", "&middot;", "&nbsp;", "&#9733;", "&#9734;", "&mdash;", "&ndash;",
           "&rarr;", "&larr;", "&hellip;", "&laquo;", "&raquo;", "&copy;", "₸"}
TEXT_ATTRIBUTES = ("placeholder", "title", "alt", "aria-label")
TAG = re.compile(r"<[^>]*>", re.S)
ATTRIBUTE = re.compile(r'\b(' + "|".join(TEXT_ATTRIBUTES) + r')="([^"]*)"')
LETTER = re.compile(r"[^\W\d_]", re.U)
#: Not prose: CSS class names in blocks (kebab-case) and URL paths.
NOT_PROSE = re.compile(r"^([a-z0-9]+(-[a-z0-9]+)+|/[\w/.-]*)$")


def is_prose(text: str) -> bool:
    if NOT_PROSE.match(text.strip()):
        return False
    for word in sorted(ALLOWED, key=len, reverse=True):
        text = text.replace(word, " ")
    text = text.strip()
    return bool(text) and bool(LETTER.search(text))


def template_files():
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".txt"))


def unwrapped_strings(source: str) -> list[str]:
    """Literal text outside Jinja expressions: between tags, and in text attributes."""
    # Rebuild the template with every Jinja construct replaced by a marker, so tags
    # split around `{{ ... }}` are whole again; a marker counts as translated text.
    parts, in_jinja = [], False
    for _lineno, token_type, value in Environment(extensions=["jinja2.ext.do"]).lex(source):
        if token_type == "data":
            parts.append(value)
            in_jinja = False
        elif not in_jinja:
            parts.append("\x00")
            in_jinja = True
    text = "".join(parts)
    found = []
    for _name, value in ATTRIBUTE.findall(text):
        value = value.replace("\x00", "").strip()
        if is_prose(value):
            found.append(value)
    for chunk in TAG.sub("\n", text).replace("\x00", "\n").split("\n"):
        chunk = chunk.strip()
        if is_prose(chunk):
            found.append(chunk)
    return found


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_no_unwrapped_text(path):
    assert unwrapped_strings(path.read_text(encoding="utf-8")) == []


def test_the_checker_finds_an_unwrapped_string():
    assert unwrapped_strings('<p>{{ _("Fine") }}</p><p>Not fine</p><input placeholder="Search">') == [
        "Search", "Not fine"]
