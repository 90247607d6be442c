"""Certificate PDFs checked by a real PDF parser (pypdf) before they are stored.

A PDF is refused when:
- it does not parse, is encrypted, or has no page;
- it carries JavaScript, actions that launch or submit, XFA forms, rich media or embedded
  files (anywhere: object streams included, and objects no cross-reference table lists);
- its object streams inflate past MAX_STREAM_BYTES each or MAX_INFLATED_BYTES together (a
  zip bomb: a few hundred kilobytes that inflate to gigabytes, kept in memory by the parser);
- it has more than MAX_XREF_STREAMS cross-reference streams (each is inflated as the file
  is opened: a chain of them is a zip bomb too);
- a link's URI is a `javascript:` (or `data:`, `vbscript:`, `file:`) URL;
- any byte lies outside the PDF structure: nothing before `%PDF-`, nothing but whitespace
  after the last `%%EOF`, and between them only the header, objects, cross-reference
  sections, trailers, `startxref` and comments without markup. This is what a PDF/HTML
  polyglot needs and a real certificate never has.

Nothing is rewritten: a signed PDF keeps its signature, and the bytes checked are the bytes
stored (their SHA-256 goes with the document and with a verifier's decision).
"""
from __future__ import annotations

import io
import logging
import re

from flask_babel import lazy_gettext as _l
from pypdf import PdfReader, apply_configuration
from pypdf.errors import PdfReadError, PyPdfError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    StreamObject,
    read_object,
)

from marketplace.core.errors import DomainError

#: Dictionary keys that carry scripts, automatic actions, forms with scripts or attachments.
REFUSED_KEYS = frozenset({"/JS", "/JavaScript", "/AA", "/EmbeddedFiles", "/EF", "/XFA", "/RichMediaContent"})
#: Action types (/S) that run code, open other files (/GoToR: a UNC path leaks NTLM credentials)
#: or programs, or send data away. /URI stays: a certificate may link to its issuer's register.
REFUSED_ACTIONS = frozenset({"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToE", "/GoToR",
                             "/RichMediaExecute", "/Rendition"})
#: /Type and /Subtype values of embedded files and media.
REFUSED_TYPES = frozenset({"/EmbeddedFile", "/FileAttachment", "/RichMedia", "/Movie", "/Sound", "/Screen"})

_HEADER = re.compile(rb"%PDF-[12]\.\d[ \t]*(?:\r\n|\r|\n)")
_OBJECT = re.compile(rb"(\d{1,10})[ \t\r\n\f\x00]+(\d{1,5})[ \t\r\n\f\x00]+obj(?![A-Za-z])")
_ENDOBJ = re.compile(rb"[ \t\r\n\f\x00]*endobj")
_XREF_SECTION = re.compile(rb"[ \t\r\n\f\x00]*(\d{1,10})[ \t]+(\d{1,10})[ \t]*(?:\r\n|\r|\n)")
_XREF_ENTRY = re.compile(rb"\d{10}[ \t]\d{5}[ \t][fn](?:\r\n|[ \t]\r|[ \t]\n|\r|\n|[ \t])")
_STARTXREF = re.compile(rb"startxref[ \t\r\n\f\x00]+\d{1,20}[ \t\r\n\f\x00]+%%EOF")
_WHITESPACE = b" \t\r\n\f\x00"
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_ACTIVE_NAME = re.compile(rb"/(?:" + b"|".join(
    re.escape(name[1:].encode()) for name in sorted(REFUSED_KEYS | REFUSED_ACTIONS | REFUSED_TYPES, key=len, reverse=True)
) + rb")(?![A-Za-z0-9])")
#: Objects walked at most (a 10 MB certificate has a few thousand).
MAX_OBJECTS = 200_000
#: What one stream may inflate to while the PDF is read. Only object and cross-reference
#: streams are inflated (they hold a certificate's small dictionaries, kilobytes); pypdf's own
#: default, 75 MB a stream, let a 250 KB upload make the worker inflate and keep gigabytes.
MAX_STREAM_BYTES = 8 * 1024 * 1024
#: What all object streams of one PDF may inflate to together.
MAX_INFLATED_BYTES = 32 * 1024 * 1024
_PARSER_LIMITS = {name: MAX_STREAM_BYTES for name in (
    "zlib_maximum_output_length", "lzw_maximum_output_length", "run_length_maximum_output_length",
    "brotli_maximum_output_length", "jbig2_maximum_output_length", "array_based_stream_maximum_output_length")}
_PARSER_LIMITS["stream_decoding_work_maximum_length"] = MAX_INFLATED_BYTES
#: Cross-reference streams in one PDF at most (one per save; counted before pypdf reads them).
MAX_XREF_STREAMS = 64
#: `/XRef` as a name, letters possibly written as `#xx` escapes.
_XREF_NAME = re.compile(rb"/(?:X|#58)(?:R|#52)(?:e|#65)(?:f|#66)(?![A-Za-z0-9#])")
#: URI schemes a link may not use: a viewer following one runs a script or opens a local file.
_SCRIPT_URI = re.compile(r"^\s*(?:javascript|vbscript|data|file)\s*:", re.IGNORECASE)


class UnsafePDF(DomainError):
    """The PDF was refused; the message says why, in words for the producer."""


def _unreadable() -> UnsafePDF:
    return UnsafePDF(str(_l("This PDF could not be read. Save or scan the certificate again as a PDF and upload that.")))


def _active_content() -> UnsafePDF:
    return UnsafePDF(str(_l("This PDF contains scripts or attached files, which we do not accept. "
                            "Print it to a new PDF (or scan the paper) and upload that.")))


def _stray_bytes() -> UnsafePDF:
    return UnsafePDF(str(_l("This PDF has extra data outside the document. "
                            "Print it to a new PDF (or scan the paper) and upload that.")))


def check_pdf(data: bytes) -> None:
    """Raise UnsafePDF unless `data` is a plain, readable PDF (see the module's docstring)."""
    # pypdf logs a warning for each repair it makes; a refused upload is reason enough.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not _HEADER.match(data):
        raise _stray_bytes() if b"%PDF-" in data[:1024] else _unreadable()
    if len(_XREF_NAME.findall(data)) > MAX_XREF_STREAMS:
        raise _unreadable()
    with apply_configuration(**_PARSER_LIMITS):
        _check_parsed(data)


def _check_parsed(data: bytes) -> None:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UnsafePDF(str(_l("This PDF is protected with a password. Upload a copy without one.")))
        if len(reader.pages) == 0:
            raise _unreadable()
        for page in reader.pages:
            page.mediabox  # noqa: B018 - reading it checks the page tree is sound
        top_level = _walk_structure(data, reader)
        inflated = 0
        for obj in top_level:
            _refuse_active(obj)
            if isinstance(obj, StreamObject) and obj.get("/Type") == "/ObjStm":
                contents = obj.get_data()
                inflated += len(contents)
                if inflated > MAX_INFLATED_BYTES:
                    raise _unreadable()
                _refuse_active_names(contents)  # objects no table lists are looked at too
        for number in list(reader.xref_objStm):
            _refuse_active(reader.get_object(IndirectObject(number, 0, reader)))
    except UnsafePDF:
        raise
    except (PyPdfError, PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            AssertionError, RecursionError, OverflowError, UnicodeError, ZeroDivisionError) as exc:
        raise _unreadable() from exc


def _skip_whitespace(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos] in _WHITESPACE:
        pos += 1
    return pos


def _walk_structure(data: bytes, reader: PdfReader) -> list:
    """Every byte from the header to the end belongs to the PDF's grammar; returns the objects read."""
    objects = []
    stream = io.BytesIO(data)
    pos = _HEADER.match(data).end()
    end = len(data)
    while True:
        pos = _skip_whitespace(data, pos)
        if pos >= end:
            return objects
        if data.startswith(b"%", pos):
            line_end = min([i for i in (data.find(b"\r", pos), data.find(b"\n", pos)) if i >= 0] or [end])
            if b"<" in data[pos:line_end] or b">" in data[pos:line_end]:
                raise _stray_bytes()  # markup hiding in a comment
            pos = line_end
            continue
        found = _OBJECT.match(data, pos)
        if found:
            if len(objects) >= MAX_OBJECTS:
                raise _unreadable()
            stream.seek(_skip_whitespace(data, found.end()))
            objects.append(read_object(stream, reader))
            closing = _ENDOBJ.match(data, stream.tell())
            if not closing:
                raise _stray_bytes()
            pos = closing.end()
            continue
        if data.startswith(b"xref", pos):
            pos = _xref_table_end(data, pos + 4)
            continue
        if data.startswith(b"trailer", pos):
            stream.seek(_skip_whitespace(data, pos + 7))
            if not isinstance(read_object(stream, reader), DictionaryObject):
                raise _stray_bytes()
            pos = stream.tell()
            continue
        found = _STARTXREF.match(data, pos)
        if found:
            pos = found.end()
            continue
        raise _stray_bytes()


def _xref_table_end(data: bytes, pos: int) -> int:
    """After `xref`: subsections of `first count` and 20-byte entries."""
    while True:
        section = _XREF_SECTION.match(data, pos)
        if not section:
            return pos
        pos = section.end()
        for _ in range(int(section.group(2))):
            entry = _XREF_ENTRY.match(data, _skip_whitespace(data, pos))
            if not entry:
                raise _stray_bytes()
            pos = entry.end()


def _refuse_active_names(raw: bytes) -> None:
    """The refused names in an object stream's text (`#4A#53` spells /JS too)."""
    if _ACTIVE_NAME.search(_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)):
        raise _active_content()


def _refuse_active(obj, depth: int = 0) -> None:
    """Look through one object (not following references: every object is looked at once)."""
    if depth > 100:
        raise _unreadable()
    if isinstance(obj, IndirectObject):
        return
    if isinstance(obj, DictionaryObject):
        for key, value in obj.items():
            if key in REFUSED_KEYS:
                raise _active_content()
            if key == "/S" and isinstance(value, NameObject) and value in REFUSED_ACTIONS:
                raise _active_content()
            if key in ("/Type", "/Subtype") and isinstance(value, NameObject) and value in REFUSED_TYPES:
                raise _active_content()
            if key == "/URI" and _SCRIPT_URI.match(_uri_text(value)):
                raise _active_content()
            _refuse_active(value, depth + 1)
    elif isinstance(obj, ArrayObject):
        for item in obj:
            _refuse_active(item, depth + 1)


def _uri_text(value) -> str:
    """A link's URI as text (a PDF string is bytes or text; anything else is not a URI)."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else ""
