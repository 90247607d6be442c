"""The catalog: what customers browse and search (read-only)."""
from __future__ import annotations

from flask import Flask

from marketplace.catalog import views


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
