"""Image files made in memory for upload tests (no binary fixtures in the repository)."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags
from PIL import Image as PILImage


def picture(fmt: str = "PNG", size=(640, 480), color=(200, 120, 40), mode: str = "RGB", **save_args) -> bytes:
    image = PILImage.new(mode, size, color)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save_args)
    return buffer.getvalue()


def jpeg_with_gps(size=(800, 600)) -> bytes:
    """A JPEG carrying camera EXIF with a GPS position (Bishkek), as a phone writes it."""
    exif = PILImage.Exif()
    exif[ExifTags.Base.Make] = "PhoneCam"
    exif[ExifTags.Base.Model] = "Model X"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (42.0, 52.0, 28.56),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (74.0, 36.0, 43.92),
    }
    return picture("JPEG", size=size, exif=exif.tobytes())


def png_bomb(side: int = 12_000) -> bytes:
    """A valid, tiny PNG whose pixels would take far too much memory once decoded."""
    image = PILImage.new("1", (side, side), 0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions; its data is a few bytes (decoding would explode)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
