"""`flask copy-media-to-bucket`: move uploads kept in a folder into the configured bucket."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from marketplace.storage.store import storage
from marketplace.storage.local import LocalStorage


@click.command("copy-media-to-bucket")
@click.option("--source", type=click.Path(file_okay=False), default=None,
              help="The folder to copy from (default: MEDIA_ROOT).")
@with_appcontext
def copy_media_command(source: str | None) -> None:
    """Copy every file of the local media folder into the bucket (those already there are skipped)."""
    target = storage()
    if target.name != "s3":
        raise click.ClickException("Set STORAGE_BACKEND=s3 and the S3_* settings first: the bucket is the target.")
    folder = LocalStorage(source or current_app.config["MEDIA_ROOT"])
    copied = skipped = 0
    for key in folder.keys():
        if target.exists(key):
            skipped += 1
            continue
        content_type = "image/jpeg" if key.endswith(".jpg") else "application/octet-stream"
        target.put(key, folder.get(key), content_type)
        copied += 1
    click.echo(f"{copied} file(s) copied, {skipped} already in the bucket.")
