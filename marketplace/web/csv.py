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
    """A header and rows as CSV text, every cell formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def csv_response(text: str, filename: str) -> Response:
    """`text` as a UTF-8 download, kept by no cache (a CSV here is someone's orders, products or money).

    The text is sent as it is: a file that needs a byte-order mark for Excel starts with one
    (the product list, which producers edit and upload again, does; pick lists and settlements do not).
    """
    return Response(text, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})
