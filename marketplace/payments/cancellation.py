"""The money of a cancelled market day: a job that releases every card hold and refunds
every capture in full, and its report, read from the database.

The cancellation itself (the day, its orders, stock, emails) is one transaction of markets
and orders. What talks to Stripe cannot be part of it: this job runs after that commit
(queued by the organizer's page, run at once by `flask cancel-market-day`), one order per
commit, each Stripe call under its per-order, per-operation key (`aimak-payment-<id>-cancel`,
`aimak-payment-<id>-refund-ended`). Running it again retries exactly what failed, with the
same keys, and touches nothing else; `reconcile` does the same hourly.

The report is not a log of the last run: it is what the database says now, so the page and
the command show the same thing, and it is done when nothing is left.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, select

from marketplace.core.events import business_event
from marketplace.core.extensions import db
from marketplace.core.money import money
from marketplace.markets.models import MarketDay, MarketDayStatus
from marketplace.notifications.kinds import ORDER_UPDATES
from marketplace.notifications.models import Notice, OutboxEmail
from marketplace.orders.models import Order, OrderStatus
from marketplace.payments import services
from marketplace.payments.models import (
    Payment,
    PaymentAttempt,
    PaymentRefund,
    PaymentStatus,
    RefundStatus,
)


@dataclass
class MoneyLine:
    """One order's card money in the report."""

    order_id: int
    pickup_code: str
    amount_minor: int
    #: What is left ("card hold not released yet:") or kept, in words.
    what: str = ""
    #: Why, in a plain sentence in the reader's language; Stripe's own words stay in the logs
    #: (and in `PaymentAttempt.error`): an organizer cannot act on a host, port or exception.
    why: str = ""


@dataclass
class DayCancellationReport:
    market_day: MarketDay
    currency: str
    #: Orders of the day that ended cancelled (expired card orders never paid are counted apart).
    cancelled: int = 0
    expired: int = 0
    released: list[MoneyLine] = field(default_factory=list)
    refunded: list[MoneyLine] = field(default_factory=list)
    #: Holds still held or captures still kept whose last release or refund Stripe did not
    #: do (no answer, or a refusal): the next run tries them again.
    failed: list[MoneyLine] = field(default_factory=list)
    #: Holds still held or captures still kept that no run has asked Stripe about yet (the
    #: job is queued, or a run stopped early because Stripe could not be reached).
    not_tried: list[MoneyLine] = field(default_factory=list)
    #: Stripe has no such payment: never retried; an organizer has to look at these.
    missing: list[MoneyLine] = field(default_factory=list)
    #: Orders handed over before the day was cancelled: left as they are, they keep what was charged.
    kept: list[MoneyLine] = field(default_factory=list)
    #: Stripe calls that needed more than one try before they went through (or have not yet).
    retried: int = 0
    customers_told: int = 0
    producers_told: int = 0

    @property
    def complete(self) -> bool:
        return self.market_day.status == MarketDayStatus.CANCELLED and not self.failed and not self.not_tried

    def total(self, name: str) -> int:
        return sum(line.amount_minor for line in getattr(self, name))

    def lines(self) -> list[str]:
        """The report as plain text (the command prints it)."""
        day = self.market_day
        out = [str(_l("Market day %(id)s (%(date)s) of %(market)s is cancelled.", id=day.id,
                      date=day.date.isoformat(), market=day.market.name)),
               str(_l("Orders cancelled: %(n)s; unpaid card orders expired: %(m)s.", n=self.cancelled,
                      m=self.expired)),
               str(_l("Card holds released: %(n)s (%(amount)s).", n=len(self.released),
                      amount=money(self.total("released"), self.currency))),
               str(_l("Card payments refunded in full: %(n)s (%(amount)s).", n=len(self.refunded),
                      amount=money(self.total("refunded"), self.currency))),
               str(_l("Failed, to try again: %(n)s.", n=len(self.failed))),
               str(_l("Not tried yet: %(n)s.", n=len(self.not_tried))),
               str(_l("Missing at Stripe, for an organizer to look at: %(n)s.", n=len(self.missing))),
               str(_l("Handed over before the cancellation, left as they are: %(n)s (%(amount)s kept).",
                      n=len(self.kept), amount=money(self.total("kept"), self.currency))),
               str(_l("Calls retried: %(n)s.", n=self.retried)),
               str(_l("Customers told: %(n)s; producers told: %(m)s.", n=self.customers_told,
                      m=self.producers_told))]
        for line in self.failed + self.not_tried + self.missing + self.kept:
            out.append(f"  {line.pickup_code} (#{line.order_id}): {line.what} "
                       f"{money(line.amount_minor, self.currency)} — {line.why}")
        out.append(self.verdict())
        return out

    def verdict(self) -> str:
        """One sentence: whether any cancelled order still holds or keeps card money, and what else keeps some."""
        if not self.complete:
            return str(_l("Not finished: the card service did not settle some orders yet. They are tried again "
                          "automatically every hour, or now by running the cancellation again."))
        if self.kept:
            return str(_l("Done for the cancelled orders: none holds or keeps card money. %(n)s order(s) handed "
                          "over before the cancellation keep %(amount)s, as listed.",
                          n=len(self.kept), amount=money(self.total("kept"), self.currency)))
        return str(_l("Done: no card holds or keeps money for this day's orders."))


def settle_cancelled_day(market_day_id: int) -> DayCancellationReport | None:
    """Release or refund the card money of every order of a cancelled day, one order per commit;
    safe to run again and again. The report afterwards (None for a day that is not cancelled)."""
    market_day = db.session.get(MarketDay, market_day_id)
    if market_day is None or market_day.status != MarketDayStatus.CANCELLED:
        return None
    counts = services.settle(services.payments_to_settle(market_day.id))
    db.session.expire_all()
    report = day_report(db.session.get(MarketDay, market_day_id))
    business_event("market_day_cancellation_settled", market_day_id=market_day_id,
                   tried=sum(counts.values()) - counts["untried"], untried=counts["untried"],
                   cancelled=report.cancelled, released=len(report.released), refunded=len(report.refunded),
                   failed=len(report.failed), not_tried=len(report.not_tried), missing=len(report.missing),
                   kept=len(report.kept), retried=report.retried, complete=report.complete)
    return report


def day_report(market_day: MarketDay) -> DayCancellationReport:
    """What the cancellation of this day did to orders and card money, as the database has it now."""
    report = DayCancellationReport(market_day, market_day.market.currency)
    orders = db.session.execute(
        select(Order.id, Order.pickup_code, Order.status).where(
            Order.market_day_id == market_day.id,
            Order.status.in_([OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.PICKED_UP]))).all()
    report.cancelled = sum(status == OrderStatus.CANCELLED for _, _, status in orders)
    report.expired = sum(status == OrderStatus.EXPIRED for _, _, status in orders)
    codes = {order_id: code for order_id, code, _ in orders}
    handed_over = {order_id for order_id, _, status in orders if status == OrderStatus.PICKED_UP}
    ended = [order_id for order_id in codes if order_id not in handed_over]
    if not codes:
        return _told(report, [])
    payments = db.session.scalars(select(Payment).where(Payment.order_id.in_(codes)).order_by(Payment.id)).all()
    payment_ids = [p.id for p in payments]
    pending = _pending_sums(payment_ids)
    last_call_failed = _last_call_failed(payment_ids)
    refused = set(db.session.scalars(select(PaymentRefund.payment_id).where(
        PaymentRefund.payment_id.in_(payment_ids), PaymentRefund.status == RefundStatus.FAILED)))
    for payment in payments:
        code = codes[payment.order_id]
        kept = payment.amount_captured_minor - payment.amount_refunded_minor
        if payment.order_id in handed_over:
            if kept > 0:
                report.kept.append(MoneyLine(payment.order_id, code, kept, str(_l("keeps")),
                                             str(_l("handed over before the day was cancelled, so left as it is"))))
            continue
        if payment.status == PaymentStatus.MISSING:
            report.missing.append(MoneyLine(
                payment.order_id, code, kept if payment.amount_captured_minor else payment.amount_authorized_minor,
                str(_l("missing at Stripe, an organizer has to check it:")),
                str(_l("the card service has no record of this payment"))))
            continue
        if payment.status in services.OPEN_STATUSES and payment.provider_intent_id:
            held = payment.status == PaymentStatus.AUTHORIZED
            line = MoneyLine(payment.order_id, code, payment.amount_authorized_minor if held else 0,
                             str(_l("card hold not released yet:")) if held else str(_l("payment not closed yet:")))
        elif kept > 0 or payment.id in pending:
            line = MoneyLine(payment.order_id, code, kept + pending.get(payment.id, 0), str(_l("not refunded yet:")))
        else:
            if payment.amount_captured_minor > 0:
                report.refunded.append(MoneyLine(payment.order_id, code, payment.amount_captured_minor))
            elif payment.status == PaymentStatus.CANCELED and payment.authorized_at is not None:
                report.released.append(MoneyLine(payment.order_id, code, payment.amount_authorized_minor))
            continue
        if last_call_failed.get(payment.id):
            line.why = _why_failed(payment, refused)
            report.failed.append(line)
        else:
            line.why = str(_l("not tried yet: the job is on its way"))
            report.not_tried.append(line)
    if report.failed:
        # A run met Stripe unreachable and stopped: no job is on its way to these any more.
        for line in report.not_tried:
            line.why = str(_l("not tried yet: the last run stopped before it, the card service being out of "
                              "reach; it is tried again every hour, or now with the button below"))
    report.retried = db.session.scalar(
        select(func.count()).select_from(
            select(PaymentAttempt.idempotency_key).where(PaymentAttempt.payment_id.in_(payment_ids))
            .group_by(PaymentAttempt.idempotency_key).having(func.count(PaymentAttempt.id) > 1).subquery())) or 0
    return _told(report, ended)


def _why_failed(payment: Payment, refused: set[int]) -> str:
    if payment.id in refused and payment.status not in services.OPEN_STATUSES:
        return str(_l("the card service refused the refund; check it in the Stripe dashboard"))
    if payment.status in services.OPEN_STATUSES:
        return str(_l("the card service did not release the hold when asked; it is asked again"))
    return str(_l("the card service did not confirm the refund when asked; it is asked again"))


def _pending_sums(payment_ids: list[int]) -> dict[int, int]:
    """Each payment's refunds still waiting for Stripe's answer."""
    return dict(db.session.execute(
        select(PaymentRefund.payment_id, func.sum(PaymentRefund.amount_minor)).where(
            PaymentRefund.payment_id.in_(payment_ids), PaymentRefund.status == RefundStatus.PENDING)
        .group_by(PaymentRefund.payment_id)).all())


def _last_call_failed(payment_ids: list[int]) -> dict[int, bool]:
    """Whether each payment's last call to release or refund it went wrong (payments never
    asked about are absent): what a run tried and failed, told apart from what no run tried yet."""
    if not payment_ids:
        return {}
    last = (select(func.max(PaymentAttempt.id))
            .where(PaymentAttempt.payment_id.in_(payment_ids), PaymentAttempt.operation.in_(("release", "refund")))
            .group_by(PaymentAttempt.payment_id))
    return {payment_id: not ok for payment_id, ok in db.session.execute(
        select(PaymentAttempt.payment_id, PaymentAttempt.ok).where(PaymentAttempt.id.in_(last))).all()}


def _told(report: DayCancellationReport, order_ids: list[int]) -> DayCancellationReport:
    """Customers told about their order's cancellation (orders tells them once per order, by
    the channels they chose: a notice per occasion) and producers emailed (a dedupe key each)."""
    day_id = report.market_day.id
    if order_ids:
        report.customers_told = db.session.scalar(select(func.count(Notice.id)).where(
            Notice.kind == ORDER_UPDATES,
            Notice.occasion.in_([f"order-{order_id}-cancelled" for order_id in order_ids]))) or 0
    report.producers_told = db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.dedupe_key.like(f"day-cancelled-{day_id}-producer-%"))) or 0
    return report


def day_cancellation_panel(market_day: MarketDay) -> Markup:
    """The report as a panel for the organizer's market day page (a template global)."""
    return Markup(render_template("payments/_day_cancellation.html", report=day_report(market_day)))
