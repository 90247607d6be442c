"""Certificate previews attacked with small PDFs that cost a lot to draw: each passes the upload's
checks (nothing active, nothing outside the grammar), and the page beside the decision must still
answer in about the time of an honest scan. Timings are loose (a loaded machine): a plain scan's
preview answers in well under a second, the limits below are several times that."""
from __future__ import annotations

import io
import time
import zlib

from marketplace.media.services import save_document
from marketplace.trust import preview
from tests.trust.test_certificates import _certificate
from tests.trust.test_preview import world  # noqa: F401 - the fixture

#: Seconds a verification page (its preview) may take with a hostile document; honest ones take < 1.
SLOW = 8.0


def pdf_of(objects: dict[int, bytes]) -> bytes:
    """A PDF of these numbered objects (1 is the catalog), with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = {}
    last = max(objects)
    for number in range(1, last + 1):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + objects.get(number, b"null") + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (last + 1))
    for number in range(1, last + 1):
        out.write(b"%010d 00000 n \n" % offsets[number])
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (last + 1, xref))
    return out.getvalue()


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def one_picture_named_many_times(names=200, side=2000, pages=3) -> bytes:
    """One 2000 × 2000 picture (12 MB decoded, 12 KB compressed), named `names` times on each page."""
    picture = zlib.compress(b"\x00" * (side * side * 3), 9)
    xobjects = b" ".join(b"/Im%d 4 0 R" % i for i in range(names))
    page_ids = range(6, 6 + pages)
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in page_ids) + b"] /Count %d >>" % pages,
        3: b"<< >>",
        4: stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 "
                  b"/Filter /FlateDecode" % (side, side), picture),
        5: stream(b"", b"q 200 0 0 100 0 0 cm /Im0 Do Q"),
    }
    for number in page_ids:
        objects[number] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << /XObject << "
                           + xobjects + b" >> >> /Contents 5 0 R >>")
    return pdf_of(objects)


FONT = b"/Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >>"


def forms_drawing_forms(depth=5, fan=30, pages=3) -> bytes:
    """Text in a form drawn by a form drawn by a form…: `fan`**`depth` drawings of 2.5 KB."""
    first = 10
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
               4: stream(b"", b"/F0 Do\n" * fan)}
    page_ids = list(range(5, 5 + pages))
    objects[2] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in page_ids) + b"] /Count %d >>" % pages
    for number in page_ids:
        objects[number] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << /XObject << /F0 %d 0 R "
                           b">> " % first + FONT + b" >> /Contents 4 0 R >>")
    for level in range(depth):
        number = first + level
        if level < depth - 1:
            content, resources = b"/F0 Do\n" * fan, b"/Resources << /XObject << /F0 %d 0 R >> >>" % (number + 1)
        else:
            content, resources = b"BT /F1 12 Tf 10 10 Td (Organic certificate) Tj ET", b"/Resources << " + FONT + b" >>"
        objects[number] = stream(b"/Type /XObject /Subtype /Form /BBox [0 0 200 100] " + resources, content)
    return pdf_of(objects)


def timed_page(client, url) -> tuple[int, float]:
    started = time.monotonic()
    response = client.get(url)
    return response.status_code, time.monotonic() - started


def test_a_picture_named_hundreds_of_times_is_decoded_once(client, login, world):  # noqa: F811
    """Every name was decoded in turn (half a second each for a large one): a 50 KB upload held
    a worker for minutes on each view of the application, its vendor page and each preview picture."""
    data = one_picture_named_many_times()
    certification = _certificate(world["applicant"],
                                 document_id=save_document(io.BytesIO(data), world["applicant"].user_id, "c.pdf").id)
    login(world["organizer"].email)
    status, seconds = timed_page(client, f"/trust/verification/{certification.id}")
    assert status == 200 and seconds < SLOW, seconds
    status, seconds = timed_page(client, f"/trust/certificates/{certification.id}/preview/1.jpg")
    assert status == 200 and seconds < SLOW, seconds
    assert preview.preview_of(certification.document).pages == [1, 2, 3]


def test_text_in_forms_drawn_by_forms_is_not_extracted_for_minutes(client, login, world):  # noqa: F811
    """A 2.5 KB generated-looking PDF: its text preview walks fan**depth form drawings (pypdf stops
    somewhere, after about four seconds a page), on the verification page and on the vendor page."""
    data = forms_drawing_forms()
    certification = _certificate(world["applicant"],
                                 document_id=save_document(io.BytesIO(data), world["applicant"].user_id, "c.pdf").id)
    login(world["organizer"].email)
    status, seconds = timed_page(client, f"/trust/verification/{certification.id}")
    assert status == 200 and seconds < SLOW, seconds
    status, seconds = timed_page(client, f"/organize/vendors/{world['vendor'].id}")
    assert status == 200 and seconds < SLOW, seconds
