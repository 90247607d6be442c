"""Certificate documents previewed inline beside the decision, behind the document's own access check."""
from __future__ import annotations

import io
import secrets
import zlib

import pytest
from PIL import Image as PILImage

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.markets.models import VendorStatus
from marketplace.media.models import Document
from marketplace.media.services import document_key, save_document
from marketplace.storage import storage
from marketplace.trust import preview
from tests.factories import MarketFactory, ProducerFactory, UserFactory, VendorFactory, add_organizer
from tests.trust.helpers import tiny_pdf
from tests.trust.test_certificates import _certificate


def scanned_pdf(width=300, height=200) -> bytes:
    """A one-page PDF holding one picture, as a scanner makes it (Pillow writes the JPEG into it)."""
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), (40, 120, 40)).save(out, "PDF")
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (120, 80), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def bomb_pdf() -> bytes:
    """A valid-looking PDF whose picture claims 100 000 × 100 000 pixels of a tiny flate stream."""
    data = zlib.compress(b"\x00" * 10_000)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << /XObject << /Im1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n" % len(data) + data + b"\nendstream",
        b"<< /Length 22 >>\nstream\nq 200 0 0 100 0 0 cm /Im1 Do Q\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")  # io.BytesIO(initial) would write the objects over it: no PDF at all
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def garbage_pdf() -> bytes:
    """Passes the upload's sniffing (a %PDF- header, an %%EOF trailer) and is nothing else."""
    return b"%PDF-1.7\n" + b"<<" * 5000 + b"\x00\xff" * 1000 + b"\n%%EOF\n"


@pytest.fixture
def world(ctx):
    market = MarketFactory()
    organizer = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(market, organizer)
    applicant = ProducerFactory(name="Talas Honey")
    vendor = VendorFactory(market=market, producer=applicant, status=VendorStatus.APPLIED)
    stranger = UserFactory(roles=[Role.ORGANIZER])
    add_organizer(MarketFactory(), stranger)
    db.session.commit()
    return dict(organizer=organizer, applicant=applicant, vendor=vendor, stranger=stranger,
                other_producer=ProducerFactory(), customer=UserFactory())


def with_document(producer, data: bytes, name: str):
    return _certificate(producer, document_id=save_document(io.BytesIO(data), producer.user_id, name).id)


def with_raw_document(producer, data: bytes, content_type="application/pdf"):
    """A document stored as it is, whatever the upload checks of the day would say of it."""
    key = secrets.token_hex(16)
    storage().put(document_key(key), data, content_type)
    document = Document(key=key, owner_id=producer.user_id, content_type=content_type, display_name="evil.pdf",
                        size_bytes=len(data))
    db.session.add(document)
    db.session.flush()
    return _certificate(producer, document_id=document.id)


def test_a_scanned_pdf_is_shown_as_a_picture_beside_the_decision(client, login, world):
    certification = with_document(world["applicant"], scanned_pdf(), "scan.pdf")
    login(world["organizer"].email)
    page = client.get(f"/trust/verification/{certification.id}").get_data(as_text=True)
    picture_url = f"/trust/certificates/{certification.id}/preview/1.jpg"
    assert picture_url in page
    response = client.get(picture_url)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert "no-store" in response.headers["Cache-Control"]
    assert PILImage.open(io.BytesIO(response.data)).size == (300, 200)  # drawn again, not the original bytes
    assert client.get(f"/trust/certificates/{certification.id}/preview/2.jpg").status_code == 404
    # The vendor page shows it too, with the applicant's products and the decision.
    vendor_page = client.get(f"/organize/vendors/{world['vendor'].id}").get_data(as_text=True)
    assert picture_url in vendor_page and "Approve" in vendor_page and "Talas Honey" in vendor_page


def test_a_generated_pdf_is_shown_as_its_text(client, login, world):
    certification = with_document(world["applicant"], tiny_pdf(), "cert.pdf")
    login(world["organizer"].email)
    page = client.get(f"/trust/verification/{certification.id}").get_data(as_text=True)
    assert "Organic certificate" in page  # the PDF's own text, escaped like any text
    assert client.get(f"/trust/certificates/{certification.id}/preview/1.jpg").status_code == 404


def test_a_photo_of_the_certificate_is_shown_too(client, login, world):
    certification = with_document(world["applicant"], png_bytes(), "photo.png")
    login(world["organizer"].email)
    response = client.get(f"/trust/certificates/{certification.id}/preview/1.jpg")
    assert response.status_code == 200 and response.data[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize("make", [bomb_pdf, garbage_pdf])
def test_a_hostile_pdf_has_no_preview_and_breaks_nothing(client, login, world, make):
    certification = with_raw_document(world["applicant"], make())
    login(world["organizer"].email)
    page = client.get(f"/trust/verification/{certification.id}")
    assert page.status_code == 200 and "cannot be previewed" in page.get_data(as_text=True)
    assert client.get(f"/trust/certificates/{certification.id}/preview/1.jpg").status_code == 404
    assert client.get(f"/organize/vendors/{world['vendor'].id}").status_code == 200
    assert preview.preview_of(certification.document).empty


@pytest.mark.parametrize("who", ["stranger", "other_producer", "customer", None])
def test_previews_are_as_private_as_the_document(client, login, world, who):
    certification = with_document(world["applicant"], scanned_pdf(), "scan.pdf")
    if who:
        user = world[who]
        login(getattr(user, "user", user).email)
    for page in (1, 2, 99):
        assert client.get(f"/trust/certificates/{certification.id}/preview/{page}.jpg").status_code == 404
    assert client.get("/trust/certificates/2147483648/preview/1.jpg").status_code == 404
