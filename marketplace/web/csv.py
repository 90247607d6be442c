"""CSV downloads whose cells a spreadsheet cannot run as formulas."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response

#: A spreadsheet runs a cell starting with one of these as a formula; names and notes are typed by others.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The cell's text, with a leading quote where a spreadsheet would read a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Iterable, rows: Iterable[Iterable]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def csv_response(text: str, filename: str) -> Response:
    """A download (UTF-8, with a byte-order mark so Excel opens Cyrillic names correctly)."""
    return Response("\ufeff" + text, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
