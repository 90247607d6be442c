"""Certificate documents from the attacker's side (#18, item 6): a PDF is parsed by pypdf and
refused when it does not parse, carries scripts or attachments, or has bytes outside the PDF;
the SHA-256 of the stored bytes is kept."""
from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.media.models import Document
from marketplace.media.pdf import UnsafePDF, check_pdf
from marketplace.media.services import InvalidUpload, save_document
from tests.media import pdfdata
from tests.trust.helpers import tiny_pdf

REAL_PDFS = [path for path in (Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),
                               Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf")) if path.exists()]


@pytest.mark.parametrize("make", [pdfdata.plain_pdf, lambda: pdfdata.plain_pdf(pages=3), tiny_pdf,
                                  pdfdata.incrementally_updated_pdf, lambda: pdfdata.plain_pdf() + b"\r\n\n"],
                         ids=["plain", "three-pages", "hand-made", "saved-twice", "trailing-newlines"])
def test_ordinary_pdfs_pass(app, make):
    with app.test_request_context():
        check_pdf(make())


@pytest.mark.parametrize("path", REAL_PDFS, ids=[p.name for p in REAL_PDFS])
def test_real_world_pdfs_with_object_streams_pass(app, path):
    with app.test_request_context():
        check_pdf(path.read_bytes())


@pytest.mark.parametrize("make, message", [
    (pdfdata.polyglot_html_appended, "extra data outside the document"),
    (pdfdata.polyglot_html_first, "extra data outside the document"),
    (pdfdata.polyglot_html_between_objects, "extra data outside the document"),
    (pdfdata.polyglot_html_in_a_comment, "extra data outside the document"),
    (pdfdata.pdf_with_javascript, "scripts or attached files"),
    (pdfdata.pdf_with_escaped_javascript_name, "scripts or attached files"),
    (pdfdata.pdf_with_attachment, "scripts or attached files"),
    (pdfdata.pdf_with_launch_action, "scripts or attached files"),
    (lambda: pdfdata.plain_pdf()[:300], "could not be read"),
    (lambda: b"%PDF-1.7\n%%EOF\n", "could not be read"),
    (lambda: b"%PDF-1.4\n" + b"[" * 50_000, "could not be read"),
], ids=["html-after", "html-before", "html-between-objects", "html-in-comment", "javascript", "escaped-name",
        "attachment", "launch", "truncated", "empty-shell", "deep-nesting"])
def test_hostile_pdfs_are_refused(app, make, message):
    with app.test_request_context(), pytest.raises(UnsafePDF, match=message):
        check_pdf(make())


def test_the_old_check_let_this_polyglot_through(app):
    """What the review found: `%PDF-` at the start and `%%EOF` near the end was all it took."""
    data = pdfdata.polyglot_html_between_objects()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]
    with app.test_request_context(), pytest.raises(UnsafePDF):
        check_pdf(data)


def test_a_refused_pdf_stores_nothing_and_a_good_one_keeps_its_sha256(ctx):
    with pytest.raises(InvalidUpload, match="scripts or attached files"):
        save_document(io.BytesIO(pdfdata.pdf_with_javascript()), None, "cert.pdf")
    db.session.rollback()
    assert db.session.scalar(select(func.count(Document.id))) == 0
    data = pdfdata.plain_pdf()
    document = save_document(io.BytesIO(data), None, "cert.pdf")
    assert document.sha256 == hashlib.sha256(data).hexdigest()


def test_a_zip_bomb_in_object_streams_is_refused_before_it_is_inflated(app):
    """Found by attacking #18: six 40 MB object streams in a 250 KB upload were all inflated and
    kept (a 9.5 MB one took two minutes and 9.6 GB of memory); now the first is cut short."""
    data = pdfdata.pdf_with_object_stream_bombs(streams=6, inflated_bytes=40_000_000)
    assert len(data) < 300_000
    started = time.monotonic()
    with app.test_request_context(), pytest.raises(UnsafePDF, match="could not be read"):
        check_pdf(data)
    assert time.monotonic() - started < 2


def test_object_streams_have_a_budget_all_together(app):
    """Each stream under the limit, all of them over the PDF's budget."""
    data = pdfdata.pdf_with_object_stream_bombs(streams=6, inflated_bytes=7_000_000)
    with app.test_request_context(), pytest.raises(UnsafePDF, match="could not be read"):
        check_pdf(data)


def test_a_javascript_link_is_refused_and_a_web_link_is_kept(app):
    with app.test_request_context():
        check_pdf(pdfdata.pdf_with_web_link())
        with pytest.raises(UnsafePDF, match="scripts or attached files"):
            check_pdf(pdfdata.pdf_with_javascript_link())


def test_a_long_chain_of_cross_reference_streams_is_refused_unread(app):
    """Each incremental save adds one cross-reference stream; no certificate is saved 65 times."""
    data = pdfdata.pdf_with_chained_xref_streams(streams=80, inflated_bytes=100_000)
    with app.test_request_context(), pytest.raises(UnsafePDF, match="could not be read"):
        check_pdf(data)
