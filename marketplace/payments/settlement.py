"""What each producer sold through a market in a period, and what they are owed.

Sales are the final prices of lines handed over (weighed lines re-priced, missing lines
excluded), card and cash alike (the cash a card order's customer paid above the card's hold
is a cash sale); refunds after capture reduce them; the market's
commission is taken from what remains. All sums in integer minor units.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select

from marketplace.core.db import utcnow
from marketplace.core.extensions import db
from marketplace.core.money import minor_units
from marketplace.markets.models import Market, MarketDay
from marketplace.orders.models import (
    LineStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)
from marketplace.payments.models import EXCESS_REFUND_KEY_SUFFIX, Payment, PaymentRefund, RefundStatus
from marketplace.producers.models import Producer
from marketplace.web.csv import safe_cell

SOLD_LINE_STATUSES = (LineStatus.RESERVED, LineStatus.PACKED)


@dataclass
class SettlementRow:
    producer_id: int
    producer_name: str
    currency: str
    card_sales_minor: int = 0
    cash_sales_minor: int = 0
    refunds_minor: int = 0
    commission_bp: int = 0

    @property
    def sales_minor(self) -> int:
        return self.card_sales_minor + self.cash_sales_minor

    @property
    def net_minor(self) -> int:
        return self.sales_minor - self.refunds_minor

    @property
    def commission_minor(self) -> int:
        return commission_of(self.net_minor, self.commission_bp)

    @property
    def owed_minor(self) -> int:
        return self.net_minor - self.commission_minor


@dataclass
class SettlementReport:
    market: Market
    start: date
    end: date
    rows: list[SettlementRow] = field(default_factory=list)

    def total(self, attribute: str) -> int:
        return sum(getattr(row, attribute) for row in self.rows)


def commission_of(amount_minor: int, commission_bp: int) -> int:
    """Commission rounded half up to the minor unit, in integers only."""
    if amount_minor <= 0:
        return 0
    return (amount_minor * commission_bp + 5000) // 10000


def period(start: date | None, end: date | None, latest: date | None = None) -> tuple[date, date]:
    """The chosen period; else the month of the latest market day held (`latest`), else this month so far.

    Opening the report on the calendar month would show "no sales" on the first days of a
    month, right after the market day one wants to settle.
    """
    today = utcnow().date()
    around = latest if latest is not None and latest <= today else today
    month_end = (around.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    start = start or around.replace(day=1)
    end = end or min(month_end, today)
    return (start, end) if start <= end else (end, start)


def latest_sale_day(producer_id: int) -> date | None:
    """The latest market day on which the producer handed over an order (My sales start there)."""
    return db.session.scalar(
        select(func.max(MarketDay.date)).join(Order, Order.market_day_id == MarketDay.id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.producer_id == producer_id, Order.status == OrderStatus.PICKED_UP))


def _sales(market_ids: list[int], start: date, end: date, producer_id: int | None = None):
    query = (
        select(OrderLine.producer_id, MarketDay.market_id, Order.payment_method,
               func.sum(OrderLine.line_total_minor))
        .join(Order, Order.id == OrderLine.order_id)
        .join(MarketDay, MarketDay.id == Order.market_day_id)
        .where(Order.status == OrderStatus.PICKED_UP, OrderLine.status.in_(SOLD_LINE_STATUSES),
               MarketDay.market_id.in_(market_ids), MarketDay.date >= start, MarketDay.date <= end)
        .group_by(OrderLine.producer_id, MarketDay.market_id, Order.payment_method)
    )
    if producer_id is not None:
        query = query.where(OrderLine.producer_id == producer_id)
    return db.session.execute(query).all()


def _cash_of_card_orders(market_ids: list[int], start: date, end: date) -> dict[tuple[int, int], int]:
    """The cash collected at the hand-over of card orders (what the weighed total came to above
    the card's hold), per (producer, market), shared by the lines' values like a refund."""
    rows = db.session.execute(
        select(Order.id, Order.cash_received_minor, MarketDay.market_id)
        .join(MarketDay, MarketDay.id == Order.market_day_id)
        .where(MarketDay.market_id.in_(market_ids), MarketDay.date >= start, MarketDay.date <= end,
               Order.status == OrderStatus.PICKED_UP, Order.payment_method == PaymentMethod.CARD,
               Order.cash_received_minor > 0)).all()
    result: dict[tuple[int, int], int] = defaultdict(int)
    if rows:
        shares = line_shares([order_id for order_id, _, _ in rows])
        for order_id, cash, market_id in rows:
            for producer_id, part in split_by_shares(cash, shares.get(order_id, {})).items():
                result[(producer_id, market_id)] += part
    return result


def _move_card_cash(rows: dict[int, SettlementRow], parts: dict[tuple[int, int], int], key_of) -> None:
    """A card order's sale was paid partly in cash: that part counts as a cash sale."""
    for (producer_id, market_id), amount in parts.items():
        row = rows.get(key_of(producer_id, market_id))
        if row is not None:
            row.card_sales_minor -= amount
            row.cash_sales_minor += amount


def _refunds(market_ids: list[int], start: date, end: date) -> dict[tuple[int, int], int]:
    """Refunds per (producer, market); a whole-order refund is shared by the lines' values."""
    rows = db.session.execute(
        select(PaymentRefund.amount_minor, PaymentRefund.producer_id, Order.id, MarketDay.market_id)
        .join(Payment, Payment.id == PaymentRefund.payment_id)
        .join(Order, Order.id == Payment.order_id)
        .join(MarketDay, MarketDay.id == Order.market_day_id)
        .where(MarketDay.market_id.in_(market_ids), MarketDay.date >= start, MarketDay.date <= end,
               # Refunds reduce card sales only: a card hand-over undone at the pickup point is
               # refunded in full and the order is then paid in cash (or not at all).
               Order.status == OrderStatus.PICKED_UP, Order.payment_method == PaymentMethod.CARD,
               PaymentRefund.status != RefundStatus.FAILED,  # refused by Stripe: nothing went back
               not_excess_refund())
    ).all()
    result: dict[tuple[int, int], int] = defaultdict(int)
    whole_order = [(amount, order_id, market_id) for amount, producer_id, order_id, market_id in rows
                   if producer_id is None]
    for amount, producer_id, _order_id, market_id in rows:
        if producer_id is not None:
            result[(producer_id, market_id)] += amount
    if whole_order:
        shares = line_shares([order_id for _, order_id, _ in whole_order])
        for amount, order_id, market_id in whole_order:
            for producer_id, part in split_by_shares(amount, shares.get(order_id, {})).items():
                result[(producer_id, market_id)] += part
    return result


def not_excess_refund():
    """Refunds that reduce sales: not the refund of an overcharge at the hand-over (the sale is the
    lines' final prices already; see `EXCESS_REFUND_KEY_SUFFIX`)."""
    return or_(PaymentRefund.idempotency_key.is_(None),
               PaymentRefund.idempotency_key.not_like(f"%{EXCESS_REFUND_KEY_SUFFIX}"))


def line_shares(order_ids: list[int]) -> dict[int, dict[int, int]]:
    """What each producer sold on each order (its sold lines' final prices), by order then producer."""
    rows = db.session.execute(
        select(OrderLine.order_id, OrderLine.producer_id, func.sum(OrderLine.line_total_minor))
        .where(OrderLine.order_id.in_(order_ids), OrderLine.status.in_(SOLD_LINE_STATUSES))
        .group_by(OrderLine.order_id, OrderLine.producer_id)
    ).all()
    shares: dict[int, dict[int, int]] = defaultdict(dict)
    for order_id, producer_id, total in rows:
        shares[order_id][producer_id] = total or 0
    return shares


def split_by_shares(amount: int, shares: dict[int, int]) -> dict[int, int]:
    """Split an amount in proportion to shares; the parts always add up to the amount."""
    total = sum(shares.values())
    if total <= 0:
        return {}
    parts = {key: amount * value // total for key, value in shares.items()}
    remainder = amount - sum(parts.values())
    for key in sorted(shares, key=lambda k: -shares[k])[:remainder]:
        parts[key] += 1
    return parts


def market_report(market: Market, start: date, end: date) -> SettlementReport:
    rows: dict[int, SettlementRow] = {}
    names: dict[int, str] = {}
    for producer_id, _market_id, method, total in _sales([market.id], start, end):
        row = rows.setdefault(producer_id, SettlementRow(producer_id, "", market.currency,
                                                         commission_bp=market.commission_bp))
        if method == PaymentMethod.CARD:
            row.card_sales_minor += total or 0
        else:
            row.cash_sales_minor += total or 0
    _move_card_cash(rows, _cash_of_card_orders([market.id], start, end), lambda producer_id, _m: producer_id)
    for (producer_id, _market_id), amount in _refunds([market.id], start, end).items():
        rows.setdefault(producer_id, SettlementRow(producer_id, "", market.currency,
                                                   commission_bp=market.commission_bp)).refunds_minor += amount
    if rows:
        names = dict(db.session.execute(select(Producer.id, Producer.name).where(Producer.id.in_(rows))).all())
    for row in rows.values():
        row.producer_name = names.get(row.producer_id, "")
    report = SettlementReport(market, start, end, sorted(rows.values(), key=lambda r: r.producer_name))
    return report


def producer_report(producer: Producer, start: date, end: date) -> list[tuple[Market, SettlementRow]]:
    """The producer's own settlement, one row per market."""
    market_ids = list(db.session.scalars(
        select(MarketDay.market_id).join(Order, Order.market_day_id == MarketDay.id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(OrderLine.producer_id == producer.id).distinct()))
    if not market_ids:
        return []
    markets = {m.id: m for m in db.session.scalars(select(Market).where(Market.id.in_(market_ids)))}
    rows: dict[int, SettlementRow] = {}
    for _producer_id, market_id, method, total in _sales(market_ids, start, end, producer.id):
        market = markets[market_id]
        row = rows.setdefault(market_id, SettlementRow(producer.id, producer.name, market.currency,
                                                       commission_bp=market.commission_bp))
        if method == PaymentMethod.CARD:
            row.card_sales_minor += total or 0
        else:
            row.cash_sales_minor += total or 0
    _move_card_cash(rows, {key: amount for key, amount in _cash_of_card_orders(market_ids, start, end).items()
                           if key[0] == producer.id}, lambda _p, market_id: market_id)
    for (producer_id, market_id), amount in _refunds(market_ids, start, end).items():
        if producer_id == producer.id:
            market = markets[market_id]
            rows.setdefault(market_id, SettlementRow(producer.id, producer.name, market.currency,
                                                     commission_bp=market.commission_bp)).refunds_minor += amount
    return [(markets[market_id], row) for market_id, row in sorted(rows.items(), key=lambda i: markets[i[0]].name)]


CSV_HEADER = ["producer", "currency", "card_sales", "cash_sales", "refunds", "commission_percent",
              "commission", "owed"]


def _money_text(amount_minor: int, currency: str) -> str:
    digits = minor_units(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10 ** digits)
    return f"{sign}{whole}.{fraction:0{digits}d}" if digits else f"{sign}{whole}"


def _csv_row(name: str, row: SettlementRow) -> list[str]:
    # Only names are typed by others; the amounts we write stay numbers (a refund can make one negative).
    return [safe_cell(name), row.currency, _money_text(row.card_sales_minor, row.currency),
            _money_text(row.cash_sales_minor, row.currency), _money_text(row.refunds_minor, row.currency),
            str((Decimal(row.commission_bp) / 100).normalize()), _money_text(row.commission_minor, row.currency),
            _money_text(row.owed_minor, row.currency)]


def report_csv(report: SettlementReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for row in report.rows:
        writer.writerow(_csv_row(row.producer_name, row))
    return buffer.getvalue()


def producer_csv(rows: list[tuple[Market, SettlementRow]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["market"] + CSV_HEADER[1:])
    for market, row in rows:
        writer.writerow([safe_cell(market.name)] + _csv_row("", row)[1:])
    return buffer.getvalue()
