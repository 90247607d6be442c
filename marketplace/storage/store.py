"""The storage interface and the app's storage (see the package's docstring)."""
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
