"""Test data for trust: orders in any state built straight from the models, tiny documents."""
from __future__ import annotations

import io
import itertools
from datetime import datetime, timedelta, timezone

from marketplace.core.extensions import db
from marketplace.orders.models import (
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)
from tests.factories import MarketDayFactory

_codes = itertools.count(1)


def make_order(customer, products, *, market_day=None, status=OrderStatus.PICKED_UP, picked_up_at=None,
               line_statuses=None, cancelled_by=None, no_show_at=None) -> Order:
    """An order of `customer` with one line per product, committed, in `status`."""
    market_day = market_day or MarketDayFactory()
    now = datetime.now(timezone.utc)
    market_day.slots[0].used = True  # as checkout leaves it
    order = Order(customer_id=customer.id, market_day_id=market_day.id, pickup_slot_id=market_day.slots[0].id,
                  pickup_code=f"T{next(_codes):05d}", payment_method=PaymentMethod.CASH, status=status,
                  currency="KZT", subtotal_minor=0, total_minor=0)
    if status == OrderStatus.PICKED_UP:
        order.picked_up_at = picked_up_at or now
    if status == OrderStatus.CANCELLED:
        order.cancelled_at = now
        order.cancelled_by_id = cancelled_by.id if cancelled_by else None
    if status == OrderStatus.NO_SHOW:
        order.no_show_at = no_show_at or now
    statuses = line_statuses or [LineStatus.PACKED] * len(products)
    for product, line_status in zip(products, statuses):
        order.lines.append(OrderLine(producer_id=product.producer_id, product_id=product.id,
                                     product_name=product.name, unit=product.unit.value,
                                     quantity_milli=1000, unit_price_minor=product.price_minor,
                                     line_total_minor=product.price_minor, status=line_status))
    order.subtotal_minor = order.total_minor = sum(line.line_total_minor for line in order.lines)
    db.session.add(order)
    db.session.commit()
    return order


def tiny_pdf() -> bytes:
    """A small, valid one-page PDF (correct xref offsets), made without any library."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = b"BT /F1 12 Tf 20 50 Td (Organic certificate) Tj ET"
    objects[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def days_ago(n: int) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=n)
