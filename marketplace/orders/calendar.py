"""An order's pickup as an iCalendar event (RFC 5545), for "Add to calendar".

Written by hand: one VEVENT needs escaping of text values, CRLF line ends and lines folded
at 75 octets, and nothing else a library would bring.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask_babel import gettext as _

from marketplace.core.quantities import format_quantity
from marketplace.orders.models import LineStatus, Order


def escape(text: str) -> str:
    """A TEXT value: backslash, semicolon, comma and line breaks escaped (RFC 5545 3.3.11)."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    # Other control characters (DEL too: RFC 5545's CONTROL) have no place in a calendar line.
    return "".join(ch for ch in text if (ch >= " " or ch == "\t") and ch != "\x7f")


def fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space, never inside a character."""
    out, current = [], b""
    for ch in line:
        encoded = ch.encode()
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def order_event(order: Order, stalls: dict[int, str], url: str, now: datetime | None = None) -> str:
    """The pickup of `order` as a VCALENDAR text with one VEVENT (times in UTC)."""
    market = order.market_day.market
    slot = order.pickup_slot
    lines = []
    for line in order.lines:
        if line.status in (LineStatus.CANCELLED, LineStatus.MISSING):
            continue
        stall = stalls.get(line.producer_id)
        where = " — " + _("stall %(stall)s", stall=stall) if stall else ""
        lines.append(f"{line.product_name}: {format_quantity(line.quantity_milli, line.unit)}{where}")
    description = "\n".join([_("Pickup code: %(code)s", code=order.pickup_code), *lines, url])
    fields = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Aimak//Orders//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:order-{order.id}-{order.pickup_code}@aimak",
        f"DTSTAMP:{_stamp(now or datetime.now(timezone.utc))}",
        f"DTSTART:{_stamp(slot.starts_at)}",
        f"DTEND:{_stamp(slot.ends_at)}",
        "SUMMARY:" + escape(_("Pick up order %(code)s at %(market)s", code=order.pickup_code, market=market.name)),
        "LOCATION:" + escape(market.address or market.name),
        "DESCRIPTION:" + escape(description),
        # URL is a URI, not TEXT: nothing to escape, only line breaks kept out.
        "URL:" + "".join(ch for ch in url if " " <= ch != "\x7f"),
    ]
    if market.lat is not None and market.lon is not None:
        fields.append(f"GEO:{market.lat:.6f};{market.lon:.6f}")
    fields += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(fold(field) for field in fields) + "\r\n"
