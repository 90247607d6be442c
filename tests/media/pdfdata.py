"""PDFs made for the tests: a plain one, and what an attacker would upload instead."""
from __future__ import annotations

import io
import re

from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _writer(pages: int = 1) -> PdfWriter:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    return writer


def plain_pdf(pages: int = 1) -> bytes:
    return _written(_writer(pages))


def pdf_with_javascript() -> bytes:
    writer = _writer()
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('x')")})
    return _written(writer)


def pdf_with_escaped_javascript_name() -> bytes:
    """`/J#53` is `/JS` to a PDF reader."""
    return with_fixed_xref(plain_pdf().replace(
        b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /J#53 (app.alert(1)) >>"))


def pdf_with_attachment() -> bytes:
    writer = _writer()
    writer.add_attachment("invoice.exe", b"MZ not really a program")
    return _written(writer)


def pdf_with_launch_action() -> bytes:
    writer = _writer()
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")})
    return _written(writer)


def with_fixed_xref(data: bytes) -> bytes:
    """Recompute the cross-reference table, so bytes added between objects leave a PDF that
    readers open without complaint (as a careful attacker's polyglot would)."""
    offsets = {int(m.group(1)): m.start() for m in re.finditer(rb"(?m)^(\d+) 0 obj", data)}
    count = max(offsets) + 1
    table = b"xref\n0 %d\n0000000000 65535 f \n" % count + b"".join(
        b"%010d 00000 n \n" % offsets[number] for number in range(1, count))
    body = data[:data.rindex(b"\nxref\n") + 1]
    trailer = re.sub(rb"startxref\n\d+", b"startxref\n%d" % len(body), data[data.rindex(b"trailer"):])
    return body + table + trailer


HTML = b"<html><body><script>fetch('/account').then(r => r.text()).then(alert)</script></body></html>"


def polyglot_html_appended() -> bytes:
    return plain_pdf() + HTML


def polyglot_html_first() -> bytes:
    return HTML + b"\n" + plain_pdf()


def polyglot_html_between_objects() -> bytes:
    data = plain_pdf()
    return with_fixed_xref(data.replace(b"2 0 obj", HTML + b"\n2 0 obj", 1))


def polyglot_html_in_a_comment() -> bytes:
    data = plain_pdf()
    return with_fixed_xref(data.replace(b"2 0 obj", b"%" + HTML + b"\n2 0 obj", 1))


def incrementally_updated_pdf() -> bytes:
    """A PDF saved twice (an incremental update appends objects, a new xref and %%EOF)."""
    data = plain_pdf()
    previous = int(data[data.rindex(b"startxref\n") + len(b"startxref\n"):].split(b"\n")[0])
    body = data + b"\n"
    start = len(body)
    body += b"5 0 obj\n<< /Producer (second save) >>\nendobj\n"
    return body + (b"xref\n5 1\n%010d 00000 n \ntrailer\n<< /Size 6 /Root 3 0 R /Info 5 0 R /Prev %d >>\n"
                   b"startxref\n%d\n%%%%EOF\n") % (start, previous, len(body))
