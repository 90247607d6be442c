"""PDFs made for the tests: a plain one, and what an attacker would upload instead."""
from __future__ import annotations

import io
import re
import zlib

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


def _hand_made(objects: list[tuple[int, bytes]]) -> bytes:
    """A PDF written object by object, with a correct cross-reference table (the catalog is 1)."""
    out = b"%PDF-1.7\n"
    offsets = {}
    for number, body in objects:
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start, count = len(out), max(offsets) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % count + b"".join(
        b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 65535 f \n"
        for number in range(1, count))
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, start)


_ONE_PAGE = [(1, b"<< /Type /Catalog /Pages 2 0 R >>"), (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
             (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")]


def pdf_with_object_stream_bombs(streams: int, inflated_bytes: int) -> bytes:
    """Object streams of spaces that inflate a thousand times (a zip bomb): the parser must
    give up early instead of inflating (and keeping) every one of them."""
    bomb = zlib.compress(b" " * inflated_bytes, 9)
    stream = b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream" % (
        len(bomb), bomb)
    return _hand_made([*_ONE_PAGE, *((4 + i, stream) for i in range(streams))])


def pdf_with_javascript_link() -> bytes:
    """A link whose URI is a `javascript:` URL: a viewer that follows it runs the script."""
    return _hand_made([*_ONE_PAGE[:2],
                       (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>"),
                       (4, b"<< /Type /Annot /Subtype /Link /Rect [0 0 595 842] "
                           b"/A << /S /URI /URI (JavaScript:app.alert\\(1\\)) >> >>")])


def pdf_with_web_link() -> bytes:
    """A link to the issuer's register, as real certificates have."""
    return _hand_made([*_ONE_PAGE[:2],
                       (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>"),
                       (4, b"<< /Type /Annot /Subtype /Link /Rect [0 0 595 842] "
                           b"/A << /S /URI /URI (https://register.example.org/cert/123) >> >>")])


def pdf_with_chained_xref_streams(streams: int, inflated_bytes: int) -> bytes:
    """Cross-reference streams chained by /Prev, each inflating a thousand times: the reader
    inflates every one while it opens the file (a 9 MB upload of them kept a worker 12 s)."""
    body = b"%PDF-1.7\n"
    for number, text in _ONE_PAGE:
        body += b"%d 0 obj\n%s\nendobj\n" % (number, text)
    zeros = zlib.compress(b"\x00" * inflated_bytes, 9)
    previous = None
    for number in range(4, 4 + streams):
        offset = len(body)
        chain = b" /Prev %d" % previous if previous is not None else b""
        body += (b"%d 0 obj\n<< /Type /XRef /Size 4 /W [1 4 2] /Index [0 4] /Root 1 0 R /Filter /FlateDecode"
                 b"%s /Length %d >>\nstream\n%s\nendstream\nendobj\n") % (number, chain, len(zeros), zeros)
        previous = offset
    return body + b"startxref\n%d\n%%%%EOF\n" % previous
