"""Images are checked by content, re-encoded without metadata, and files follow the database."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask_login import current_user
from PIL import Image as PILImage
from sqlalchemy import func, select

from marketplace.cli import create_app
from marketplace.core.extensions import db
from marketplace.media.models import Image
from marketplace.media.services import (
    THUMBNAIL_SIZES,
    InvalidUpload,
    delete_image,
    image_path,
    save_image,
)
from tests.conftest import PASSWORD
from tests.factories import UserFactory
from tests.media.imagedata import jpeg_with_gps, picture, png_bomb, png_header_only


def stored_files(app) -> list[Path]:
    return sorted(p for p in (Path(app.config["MEDIA_ROOT"]) / "images").rglob("*") if p.is_file())


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats_become_two_jpeg_thumbnails(ctx, fmt):
    row = save_image(io.BytesIO(picture(fmt, size=(2400, 1600))), None, alt="Морковь")
    db.session.commit()
    assert (row.width, row.height) == (2400, 1600)
    assert len(row.key) == 32
    for size in THUMBNAIL_SIZES:
        with PILImage.open(image_path(row.key, size)) as stored:
            assert stored.format == "JPEG"
            assert max(stored.size) == size


def test_transparent_png_is_flattened_on_white(ctx):
    row = save_image(io.BytesIO(picture("PNG", size=(50, 50), color=(0, 0, 0, 0), mode="RGBA")), None)
    db.session.commit()
    with PILImage.open(image_path(row.key, 400)) as stored:
        assert stored.mode == "RGB"
        assert stored.getpixel((25, 25)) >= (250, 250, 250)


def test_gps_and_other_exif_are_gone_from_every_stored_file(ctx):
    upload = jpeg_with_gps()
    with PILImage.open(io.BytesIO(upload)) as original:  # the upload really carries a position
        assert original.getexif().get_ifd(0x8825)[2] == (42.0, 52.0, 28.56)
    row = save_image(io.BytesIO(upload), None)
    db.session.commit()
    for size in THUMBNAIL_SIZES:
        data = image_path(row.key, size).read_bytes()
        assert b"Exif" not in data and b"PhoneCam" not in data
        with PILImage.open(io.BytesIO(data)) as stored:
            assert len(stored.getexif()) == 0
            assert stored.getexif().get_ifd(0x8825) == {}


def test_text_file_named_png_is_refused(ctx, app):
    before = stored_files(app)
    with pytest.raises(InvalidUpload) as refused:
        save_image(io.BytesIO(b"just some text, honestly\n" * 20), None)
    assert "not an image" in refused.value.message
    assert stored_files(app) == before


def test_gif_is_refused_even_though_it_is_an_image(ctx):
    with pytest.raises(InvalidUpload, match="JPEG, PNG or WebP"):
        save_image(io.BytesIO(picture("GIF")), None)


@pytest.mark.parametrize("data", [
    pytest.param(png_bomb(), id="valid-144-megapixel-png"),
    pytest.param(png_header_only(60_000, 60_000), id="claims-3.6-gigapixels"),
    pytest.param(png_header_only(8_000, 7_000), id="56-megapixels-over-our-limit"),
])
def test_decompression_bombs_are_refused_before_decoding(ctx, app, data):
    with pytest.raises(InvalidUpload, match="too many pixels"):
        save_image(io.BytesIO(data), None)
    assert db.session.scalar(select(func.count(Image.id))) == 0


def test_truncated_image_is_refused(ctx):
    data = picture("JPEG", size=(800, 600))
    with pytest.raises(InvalidUpload):
        save_image(io.BytesIO(data[: len(data) // 2]), None)


def test_empty_and_oversized_files_are_refused(ctx, app):
    with pytest.raises(InvalidUpload, match="empty"):
        save_image(io.BytesIO(b""), None)
    with pytest.raises(InvalidUpload, match="larger than 8 MB"):
        save_image(io.BytesIO(b"\xff\xd8\xff" + b"0" * app.config["MAX_IMAGE_BYTES"]), None)


def test_files_of_a_rolled_back_upload_are_deleted(ctx, app):
    before = stored_files(app)
    row = save_image(io.BytesIO(picture()), None)
    paths = [image_path(row.key, size) for size in THUMBNAIL_SIZES]
    assert all(p.is_file() for p in paths)
    db.session.rollback()
    assert not any(p.exists() for p in paths)
    assert stored_files(app) == before


def test_deleted_image_keeps_its_files_until_commit(ctx):
    row = save_image(io.BytesIO(picture()), None)
    db.session.commit()
    paths = [image_path(row.key, size) for size in THUMBNAIL_SIZES]
    delete_image(row)
    db.session.rollback()
    assert all(p.is_file() for p in paths)  # the row is still there, so are its files
    delete_image(db.session.get(Image, row.id))
    db.session.commit()
    assert not any(p.exists() for p in paths)


def test_images_are_served_with_long_cache_headers(ctx, client):
    row = save_image(io.BytesIO(picture()), None)
    db.session.commit()
    response = client.get(f"/media/i/{row.key}_400.jpg")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    assert client.get(f"/media/i/{row.key}_300.jpg").status_code == 404
    assert client.get(f"/media/i/{'0' * 32}_400.jpg").status_code == 404
    assert client.get("/media/i/..%2F..%2Fconfig_400.jpg").status_code == 404


def test_a_browser_that_has_the_image_gets_304(ctx, client):
    row = save_image(io.BytesIO(picture()), None)
    db.session.commit()
    first = client.get(f"/media/i/{row.key}_1200.jpg")
    again = client.get(f"/media/i/{row.key}_1200.jpg", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_an_image_stays_public_on_a_request_that_knows_who_is_signed_in(app, ctx):
    """A signed-in user's pages are never stored (`no-store`), but images are the same for
    everyone (web.headers.public_asset), even on a request that loaded the user."""
    UserFactory(email="sees-pictures@example.test")
    row = save_image(io.BytesIO(picture()), None)
    db.session.commit()
    knowing = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                          "MEDIA_ROOT": app.config["MEDIA_ROOT"]})

    @knowing.before_request
    def _load_the_user():
        current_user.is_authenticated  # noqa: B018 - Flask-Login loads the signed-in user here

    client = knowing.test_client()
    client.post("/login", data={"email": "sees-pictures@example.test", "password": PASSWORD})
    assert client.get("/account").headers["Cache-Control"] == "no-store"
    response = client.get(f"/media/i/{row.key}_400.jpg")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
