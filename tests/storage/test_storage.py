"""Uploads in object storage: the folder and an S3 bucket (moto's S3 server on loopback) behave alike."""
from __future__ import annotations

import io

import pytest
import requests

from marketplace.core.extensions import db
from marketplace.media.services import THUMBNAIL_SIZES, delete_image, image_key, save_image
from marketplace.storage import EXTENSION_KEY, storage
from marketplace.storage.local import LocalStorage
from tests.factories import ProducerFactory
from tests.media.imagedata import picture
from tests.standins.s3_server import moto_s3, s3_config  # noqa: F401 (fixtures)
from tests.trust.helpers import tiny_pdf
from tests.trust.test_certificates import _certificate


@pytest.fixture
def in_bucket(app, s3_config):  # noqa: F811
    """The session's app with its uploads in an empty moto bucket for this test."""
    saved = {key: app.config.get(key) for key in (*s3_config, "STORAGE_BACKEND")}
    app.config.update(s3_config, STORAGE_BACKEND="s3")
    app.extensions.pop(EXTENSION_KEY, None)
    yield app
    app.config.update(saved)
    app.extensions.pop(EXTENSION_KEY, None)


def test_the_folder_storage_keeps_keys_inside_its_root(tmp_path):
    store = LocalStorage(str(tmp_path))
    store.put("images/ab/x.jpg", b"data", "image/jpeg")
    assert store.get("images/ab/x.jpg") == b"data" and list(store.keys()) == ["images/ab/x.jpg"]
    assert store.get("images/ab/missing.jpg") is None
    with pytest.raises(ValueError):
        store.put("../outside", b"x", "text/plain")
    store.delete("images/ab/x.jpg")
    assert not store.exists("images/ab/x.jpg")


def test_an_uploaded_image_goes_to_the_bucket_and_is_served_with_caching_headers(in_bucket, moto_s3, client):  # noqa: F811
    with in_bucket.app_context():
        row = save_image(io.BytesIO(picture("PNG", size=(900, 600))), None)
        db.session.commit()
        key = row.key
    assert moto_s3.keys("images/") == sorted(image_key(key, size) for size in THUMBNAIL_SIZES)
    response = client.get(f"/media/i/{key}_400.jpg")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = client.get(f"/media/i/{key}_400.jpg", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(f"/media/i/{'0' * 32}_400.jpg").status_code == 404


def test_files_follow_the_database_in_the_bucket_too(in_bucket, moto_s3):  # noqa: F811
    with in_bucket.app_context():
        save_image(io.BytesIO(picture("PNG")), None)
        db.session.rollback()  # never committed: its files are removed
        assert moto_s3.keys() == []
        row = save_image(io.BytesIO(picture("PNG")), None)
        db.session.commit()
        delete_image(row)
        assert len(moto_s3.keys()) == 2  # still there until the delete commits
        db.session.commit()
        assert moto_s3.keys() == []


def test_a_certificate_document_in_the_bucket_is_served_only_through_the_app(in_bucket, moto_s3, client, login):  # noqa: F811
    with in_bucket.app_context():
        producer = ProducerFactory()
        certification = _certificate(producer)
        db.session.commit()
        cert_id, email = certification.id, producer.user.email
    [key] = moto_s3.keys("documents/")
    # The bucket is private: an anonymous GET of the object is refused.
    assert requests.get(f"{moto_s3.url}/{moto_s3.bucket}/{key}", timeout=5).status_code == 403
    assert client.get(f"/trust/certificates/{cert_id}/document").status_code == 404
    login(email)
    response = client.get(f"/trust/certificates/{cert_id}/document")
    assert response.status_code == 200 and response.data == tiny_pdf()
    assert "no-store" in response.headers["Cache-Control"]


def test_copy_media_to_bucket_copies_the_folder_once(in_bucket, moto_s3, tmp_path):  # noqa: F811
    folder = LocalStorage(str(tmp_path))
    folder.put("images/ab/ab_400.jpg", b"one", "image/jpeg")
    folder.put("documents/cd/cd", b"two", "application/pdf")
    runner = in_bucket.test_cli_runner()
    result = runner.invoke(args=["copy-media-to-bucket", "--source", str(tmp_path)])
    assert "2 file(s) copied, 0 already in the bucket" in result.output, result.output
    assert moto_s3.keys() == ["documents/cd/cd", "images/ab/ab_400.jpg"]
    result = runner.invoke(args=["copy-media-to-bucket", "--source", str(tmp_path)])
    assert "0 file(s) copied, 2 already in the bucket" in result.output
    with in_bucket.app_context():
        assert storage().get("documents/cd/cd") == b"two"


def test_the_bucket_check_fails_when_the_bucket_is_missing(in_bucket, moto_s3):  # noqa: F811
    with in_bucket.app_context():
        storage().check()
        moto_s3.client().delete_bucket(Bucket=moto_s3.bucket)
        with pytest.raises(Exception):
            storage().check()
