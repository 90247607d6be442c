"""Uploaded pictures and documents: checked, stripped of metadata, thumbnailed, served."""
from __future__ import annotations

from flask import Flask

from marketplace.media import services, views
from marketplace.web.templating import add_template_globals


def register(app: Flask) -> None:
    app.register_blueprint(views.bp)
    services.connect_receivers()
    add_template_globals(app, image_url=views.image_url, thumbnail_size=services.thumbnail_size)
