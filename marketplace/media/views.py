"""Serving stored images (public, cached for a year: a key's content never changes)."""
import re

from flask import Blueprint, abort, send_file, url_for

from marketplace.media.services import THUMBNAIL_SIZES, image_path

bp = Blueprint("media", __name__, url_prefix="/media")
_KEY = re.compile(r"^[0-9a-f]{32}$")


@bp.route("/i/<key>_<int:size>.jpg")
def image(key: str, size: int):
    if not _KEY.match(key) or size not in THUMBNAIL_SIZES:
        abort(404)
    path = image_path(key, size)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", conditional=True, max_age=365 * 24 * 3600)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def image_url(image, size: int = 400) -> str:
    """The address of an image's thumbnail of about `size` pixels ('' for no image)."""
    return url_for("media.image", key=image.key, size=size) if image is not None else ""
