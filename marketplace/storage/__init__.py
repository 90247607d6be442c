"""Where uploaded files live: a folder (MEDIA_ROOT, the default) or any S3-compatible bucket.

    store = storage()                      # the current app's
    store.put("images/ab/ab12_400.jpg", data, "image/jpeg")
    store.get(key) -> bytes | None         # None: no such file
    store.delete(key); store.check()       # check() raises when the storage cannot be used

STORAGE_BACKEND="local" keeps files under MEDIA_ROOT (one machine; back it up with the
instance folder). "s3" keeps them in S3_BUCKET through boto3 — AWS S3, MinIO, Yandex Object
Storage, moto in tests — so every host sees every upload. Keys are the same in both, which is
what `flask copy-media-to-bucket` relies on to move a folder into a bucket.
"""
from __future__ import annotations

from flask import Flask

from marketplace.storage.cli import copy_media_command
from marketplace.storage.store import EXTENSION_KEY, Storage, create_storage, storage

__all__ = ["EXTENSION_KEY", "Storage", "create_storage", "init_app", "storage"]


def init_app(app: Flask) -> None:
    if app.config.get("STORAGE_BACKEND", "local") == "s3" and not app.config.get("S3_BUCKET"):
        raise RuntimeError("STORAGE_BACKEND=s3 needs S3_BUCKET (and S3_ENDPOINT_URL for a service other than AWS)")
    app.extensions.pop(EXTENSION_KEY, None)
    app.cli.add_command(copy_media_command)
