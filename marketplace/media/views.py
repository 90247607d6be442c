"""Serving stored files: images public and cached for a year (a key's content never changes);
documents only through the view that checked who may see them."""
import re

from flask import Blueprint, abort, current_app, request, url_for

from marketplace.media.models import Document
from marketplace.media.services import THUMBNAIL_SIZES, document_key, image_key
from marketplace.storage import storage
from marketplace.web.headers import public_asset

bp = Blueprint("media", __name__, url_prefix="/media")
_KEY = re.compile(r"^[0-9a-f]{32}$")


@bp.route("/i/<key>_<int:size>.jpg")
@public_asset
def image(key: str, size: int):
    if not _KEY.match(key) or size not in THUMBNAIL_SIZES:
        abort(404)
    # From the folder or the bucket alike; the key names one content forever, so the ETag is
    # the key and a browser or proxy that has it never asks the storage again.
    etag = f"{key}-{size}"
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        data = storage().get(image_key(key, size))
        if data is None:
            abort(404)
        response = current_app.response_class(data, mimetype="image/jpeg")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def document_response(document: Document):
    """The document as a download, never cached: call it only after the access check."""
    data = storage().get(document_key(document.key))
    if data is None:
        abort(404)
    response = current_app.response_class(data, mimetype=document.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=document.display_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def image_url(image, size: int = 400) -> str:
    """The address of an image's thumbnail of about `size` pixels ('' for no image)."""
    return url_for("media.image", key=image.key, size=size) if image is not None else ""
