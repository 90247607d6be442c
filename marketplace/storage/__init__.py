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

from typing import Protocol

from flask import Flask, current_app

from marketplace.storage.local import LocalStorage
from marketplace.storage.s3 import S3Storage

EXTENSION_KEY = "aimak.storage"


class Storage(Protocol):
    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes | None: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def keys(self, prefix: str = ""): ...
    def check(self) -> None: ...


def create_storage(config) -> Storage:
    backend = config.get("STORAGE_BACKEND", "local")
    if backend == "local":
        return LocalStorage(config["MEDIA_ROOT"])
    if backend == "s3":
        return S3Storage.from_config(config)
    raise RuntimeError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}")


def storage(app: Flask | None = None) -> Storage:
    """The app's storage (the current app's by default)."""
    app = app or current_app
    store = app.extensions.get(EXTENSION_KEY)
    if store is None:
        store = app.extensions[EXTENSION_KEY] = create_storage(app.config)
    return store


def init_app(app: Flask) -> None:
    # Imported here, not at the top: the command module uses storage(), defined above.
    from marketplace.storage.cli import copy_media_command

    if app.config.get("STORAGE_BACKEND", "local") == "s3" and not app.config.get("S3_BUCKET"):
        raise RuntimeError("STORAGE_BACKEND=s3 needs S3_BUCKET (and S3_ENDPOINT_URL for a service other than AWS)")
    app.extensions.pop(EXTENSION_KEY, None)
    app.cli.add_command(copy_media_command)
