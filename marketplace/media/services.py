"""Uploads checked by content, re-encoded without metadata, stored under random names.

Files live in the app's storage (a folder, or an S3-compatible bucket: marketplace.storage)
and follow the database: a file written during a transaction that never commits is deleted
when the transaction ends, and the files of a row deleted in a transaction are removed only
once that transaction has committed.
"""
from __future__ import annotations

import hashlib
import io
import logging
import secrets
import warnings
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError
from sqlalchemy import event
from sqlalchemy.orm import Session as SASession

from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.media.models import Document, Image
from marketplace.media.pdf import UnsafePDF, check_pdf
from marketplace.storage import storage

log = logging.getLogger(__name__)

ALLOWED_IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}
THUMBNAIL_SIZES = (400, 1200)
#: Pixels above this are refused before decoding (a 50-megapixel photo is already huge).
MAX_PIXELS = 50_000_000
DOCUMENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}

#: session.info keys: keys written in the open transaction / keys to remove after commit.
_WRITTEN = "media_written_paths"
_DOOMED = "media_doomed_paths"


class InvalidUpload(DomainError):
    pass


def _track(kind: str, paths) -> None:
    db.session.info.setdefault(kind, []).extend(paths)


def _remove(keys) -> None:
    if not keys or not has_app_context():
        return
    store = storage()
    for key in keys:
        try:
            store.delete(key)
        except Exception:  # noqa: BLE001 - an orphan file costs bytes; a failed request costs more
            log.warning("Could not delete %s from the %s storage", key, store.name, exc_info=True)


def _files_after_commit(session) -> None:
    session.info.pop(_WRITTEN, None)
    _remove(session.info.pop(_DOOMED, []))


def _files_after_transaction_end(session, transaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint; the outer transaction decides
    # after_commit has already emptied these on success, so what is left was rolled back.
    _remove(session.info.pop(_WRITTEN, []))
    session.info.pop(_DOOMED, None)


def connect_receivers() -> None:
    """Files written or doomed in a transaction follow its outcome (every session).

    Connected by `register(app)`, once however many apps a process makes."""
    if not event.contains(SASession, "after_commit", _files_after_commit):
        event.listen(SASession, "after_commit", _files_after_commit)
        event.listen(SASession, "after_transaction_end", _files_after_transaction_end)


def read_limited(stream, limit: int) -> bytes:
    """Read at most `limit` bytes; more than that is refused, not truncated."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InvalidUpload(str(_l("The file is larger than %(mb)s MB.", mb=limit // (1024 * 1024))))
    if not data:
        raise InvalidUpload(str(_l("The file is empty.")))
    return data


def _open_checked_image(data: bytes) -> PILImage.Image:
    """Open an image, trusting only its content; bombs and other formats are refused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            probe = PILImage.open(io.BytesIO(data))
            if probe.format not in ALLOWED_IMAGE_FORMATS:
                raise InvalidUpload(str(_l("Upload a JPEG, PNG or WebP image.")))
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidUpload(str(_l("The image has too many pixels.")))
            probe.verify()  # checks the structure; the image must be reopened after
            image = PILImage.open(io.BytesIO(data))
            image.load()
    except InvalidUpload:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise InvalidUpload(str(_l("The image has too many pixels."))) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidUpload(str(_l("This file is not an image we can read. Upload a JPEG, PNG or WebP image."))) from None
    return image


def _flatten(image: PILImage.Image) -> PILImage.Image:
    """Upright (from the EXIF orientation, before EXIF is dropped) RGB on white."""
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block only loses the rotation
        pass
    if image.mode in ("RGBA", "LA", "PA", "P"):
        image = image.convert("RGBA")
        background = PILImage.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def image_key(key: str, size: int) -> str:
    """Where a thumbnail is stored (the same key in a folder and in a bucket)."""
    return f"images/{key[:2]}/{key}_{size}.jpg"


def image_path(key: str, size: int) -> Path:
    """The thumbnail's file with the local storage (tests and tools look at it)."""
    return Path(current_app.config["MEDIA_ROOT"]) / image_key(key, size)


def save_image(stream, owner_id: int | None, alt: str = "") -> Image:
    """Store an uploaded image as metadata-free JPEG thumbnails; returns the new Image row.

    The uploaded file name is never looked at: the key is random, and the content alone
    decides whether this is an image we accept.
    """
    data = read_limited(stream, current_app.config["MAX_IMAGE_BYTES"])
    image = _flatten(_open_checked_image(data))
    key = secrets.token_hex(16)
    store = storage()
    written = []
    try:
        for size in THUMBNAIL_SIZES:
            copy = image.copy()
            copy.thumbnail((size, size), PILImage.Resampling.LANCZOS)
            encoded = io.BytesIO()
            # A new encode carries no EXIF (GPS included), ICC or XMP unless we pass it; we do not.
            copy.save(encoded, "JPEG", quality=82, optimize=True, progressive=True)
            written.append(image_key(key, size))
            store.put(image_key(key, size), encoded.getvalue(), "image/jpeg")
    finally:
        _track(_WRITTEN, written)
    width, height = image.size
    row = Image(key=key, owner_id=owner_id, width=width, height=height, alt=(alt or "")[:200])
    db.session.add(row)
    db.session.flush()
    return row


def delete_image(image: Image) -> None:
    """Delete the row now and its files once the transaction commits."""
    _track(_DOOMED, [image_key(image.key, size) for size in THUMBNAIL_SIZES])
    db.session.delete(image)
    db.session.flush()


def thumbnail_size(image: Image, size: int) -> tuple[int, int]:
    """Width and height of a stored thumbnail, for the img tag's attributes."""
    scale = min(1.0, size / max(image.width, image.height))
    return max(1, round(image.width * scale)), max(1, round(image.height * scale))


# --- Private documents -----------------------------------------------------------

def sniff_document_type(data: bytes) -> str | None:
    """'pdf', 'jpeg' or 'png' by content, else None (the name and declared type are ignored)."""
    if data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]:
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff"):
        try:
            image = _open_checked_image(data)
        except InvalidUpload:
            return None
        return {"PNG": "png", "JPEG": "jpeg"}.get(image.format)
    return None


def document_key(key: str) -> str:
    return f"documents/{key[:2]}/{key}"


def save_document(stream, owner_id: int | None, display_name: str) -> Document:
    """Store a certificate file (PDF, JPEG or PNG by content) as it is, under a random key.

    A PDF must pass media/pdf.py (parsed, no scripts or attachments, no bytes outside the
    PDF). The SHA-256 of the bytes checked and stored is kept with the row, so a decision on
    the document names exactly what was looked at.
    """
    data = read_limited(stream, current_app.config["MAX_DOCUMENT_BYTES"])
    kind = sniff_document_type(data)
    if kind is None:
        raise InvalidUpload(str(_l("Upload the certificate as a PDF, JPEG or PNG file.")))
    if kind == "pdf":
        try:
            check_pdf(data)
        except UnsafePDF as exc:
            raise InvalidUpload(exc.message) from None
    key = secrets.token_hex(16)
    _track(_WRITTEN, [document_key(key)])
    storage().put(document_key(key), data, DOCUMENT_TYPES[kind])
    safe_name = "".join(ch for ch in (display_name or "") if ch.isprintable() and ch not in '\\/:*?"<>|')
    stem = safe_name.rsplit(".", 1)[0][:150] or "certificate"
    row = Document(key=key, owner_id=owner_id, content_type=DOCUMENT_TYPES[kind],
                   display_name=f"{stem}.{'jpg' if kind == 'jpeg' else kind}", size_bytes=len(data),
                   sha256=hashlib.sha256(data).hexdigest())
    db.session.add(row)
    db.session.flush()
    return row
