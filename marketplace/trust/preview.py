"""Certificate documents previewed inline, beside the decision: pictures re-drawn on the server.

A certificate is a PDF (a scan or a generated page) or a photo. We never hand the original to
the browser to display: a scan's picture is taken out of the PDF (pypdf), opened by Pillow
within a pixel budget and encoded again as a plain JPEG; a generated PDF's text is shown as
text. Anything that cannot be read this way has no preview (the download stays); a hostile
file costs a bounded parse and yields nothing. The access check is the document's own
(`services.can_see_document`), in the view.
"""
from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field

from PIL import Image as PILImage
from pypdf import PdfReader

from marketplace.media.models import Document
from marketplace.media.services import document_key
from marketplace.storage import storage

log = logging.getLogger(__name__)

#: Pages looked at: a certificate is one or two pages; a 500-page "certificate" is not read.
MAX_PREVIEW_PAGES = 3
#: Longest side of a preview picture, and the most pixels a source picture may have.
MAX_SIDE = 1400
MAX_SOURCE_PIXELS = 40_000_000
#: Names of a page's XObjects read when looking for its picture (a scan has one).
MAX_XOBJECTS = 16
#: Text shown per page of a generated PDF.
MAX_TEXT_CHARS = 3000
#: Form drawings a page's text may expand to (forms drawing forms): a generated certificate
#: draws a few; 30 forms each drawing 30, five levels deep, is 24 million, and pypdf walks them.
MAX_FORM_DRAWINGS = 500
MAX_FORM_DEPTH = 4
DRAWING = re.compile(rb"/[^\s/\[\]()<>{}%]+\s+Do\b")
PDF = "application/pdf"
PICTURES = ("image/jpeg", "image/png")


@dataclass
class Preview:
    """What can be shown of a document: page numbers that have a picture, and text per page."""

    pages: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.pages and not any(self.texts)


def _data(document: Document) -> bytes | None:
    try:
        return storage().get(document_key(document.key))
    except Exception:  # noqa: BLE001 - a storage outage means no preview, the page still works
        log.warning("Certificate document %s could not be read for a preview", document.id, exc_info=True)
        return None


def _reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data), strict=False)


def _declared_pixels(xobject) -> int:
    try:
        return int(xobject.get("/Width", 0)) * int(xobject.get("/Height", 0))
    except (TypeError, ValueError):
        return 0


def _largest_picture_name(page) -> str | None:
    """The name of the page's largest picture by the size it declares, read without decoding any.

    Decoding every picture pypdf lists cost about half a second per large one, and a 50 KB PDF
    can name one large picture hundreds of times: minutes of a worker per page view. So each
    picture is counted once (by its object), only the first MAX_XOBJECTS names are read, and
    only the chosen picture is decoded.
    """
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    if xobjects is None:
        return None
    best, best_pixels, seen = None, 0, set()
    for name, reference in list(xobjects.get_object().items())[:MAX_XOBJECTS]:
        identity = getattr(reference, "idnum", None) or id(reference)
        if identity in seen:
            continue
        seen.add(identity)
        xobject = reference.get_object()
        if xobject.get("/Subtype") != "/Image":
            continue
        pixels = _declared_pixels(xobject)
        if 0 < pixels <= MAX_SOURCE_PIXELS and pixels > best_pixels:
            best, best_pixels = name, pixels
    return best


def _largest_picture(page) -> PILImage.Image | None:
    name = _largest_picture_name(page)
    if name is None:
        return None
    image = page.images[name].image
    if image is None or image.width * image.height > MAX_SOURCE_PIXELS:
        return None
    return image


def _forms(resources) -> list:
    """The form XObjects a content stream may draw (the first MAX_XOBJECTS names)."""
    resources = resources.get_object() if resources is not None else None
    xobjects = resources.get("/XObject") if resources is not None else None
    if xobjects is None:
        return []
    named = [reference.get_object() for _, reference in list(xobjects.get_object().items())[:MAX_XOBJECTS]]
    return [xobject for xobject in named if xobject.get("/Subtype") == "/Form"]


def _drawings(content: bytes, resources, depth: int = 0) -> int:
    """How many form drawings showing this content expands to, at most: each drawing (`/Name Do`)
    times the costliest form it could be. Past MAX_FORM_DEPTH it counts as too many."""
    calls = len(DRAWING.findall(content))
    forms = _forms(resources) if calls else []
    if not forms:
        return calls
    if depth >= MAX_FORM_DEPTH:
        return MAX_FORM_DRAWINGS + 1
    inner = max(_drawings(form.get_data(), form.get("/Resources"), depth + 1) for form in forms)
    return calls * max(1, inner)


def _page_text(page) -> str:
    """The text of a generated page, unless its forms would have pypdf walk them for seconds."""
    contents = page.get_contents()
    if contents is not None and _drawings(contents.get_data(), page.get("/Resources")) > MAX_FORM_DRAWINGS:
        return ""
    return (page.extract_text() or "").strip()[:MAX_TEXT_CHARS]


def preview_of(document: Document | None) -> Preview:
    """Which pages of the document have a picture to show, and the text of a generated PDF."""
    preview = Preview()
    if document is None:
        return preview
    data = _data(document)
    if not data:
        return preview
    if document.content_type in PICTURES:
        preview.pages.append(1)
        return preview
    if document.content_type != PDF:
        return preview
    try:
        reader = _reader(data)
        for number, page in enumerate(reader.pages[:MAX_PREVIEW_PAGES], start=1):
            if _largest_picture(page) is not None:
                preview.pages.append(number)
            else:
                preview.texts.append(_page_text(page))
    except Exception:  # noqa: BLE001 - any unreadable or hostile PDF: no preview, the download stays
        log.info("No preview for certificate document %s", document.id, exc_info=True)
        return Preview()
    return preview


def certificate_preview(certification) -> Preview:
    """The preview of a certification's document (a template global: the organizer's vendor page)."""
    return preview_of(certification.document)


def page_picture(document: Document, page: int) -> bytes | None:
    """A JPEG of the document's picture on page `page` (1-based), or None when there is none."""
    if not 1 <= page <= MAX_PREVIEW_PAGES:
        return None
    data = _data(document)
    if not data:
        return None
    try:
        if document.content_type in PICTURES:
            if page != 1:
                return None
            image = PILImage.open(io.BytesIO(data))
            if image.width * image.height > MAX_SOURCE_PIXELS:
                return None
            image.load()
        elif document.content_type == PDF:
            pages = _reader(data).pages
            if page > len(pages):
                return None
            image = _largest_picture(pages[page - 1])
            if image is None:
                return None
        else:
            return None
        image = image.convert("RGB")
        image.thumbnail((MAX_SIDE, MAX_SIDE))
        out = io.BytesIO()
        # A new encode: nothing of the original file (metadata, scripts, other objects) goes along.
        image.save(out, "JPEG", quality=80)
        return out.getvalue()
    except Exception:  # noqa: BLE001 - see preview_of
        log.info("No preview picture for certificate document %s page %s", document.id, page, exc_info=True)
        return None
