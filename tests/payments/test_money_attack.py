"""An independent attack on issue 17 (money never kept, lost or taken twice), from the
customer's, the organizer's and the unlucky network's side: requests that lose races, calls
whose answers are lost, and pages submitted from an old tab. After each sequence the money
invariants hold in our database and at localstripe (`assert_money_invariants`)."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from marketplace.accounts.models import Role, User
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.markets import services as markets
from marketplace.markets.models import MarketDay
from marketplace.notifications.models import Notice, OutboxEmail
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderLine, OrderStatus, PaymentMethod
from marketplace.payments import services as payments
from marketplace.payments import settlement
from marketplace.payments.cancellation import settle_cancelled_day
from marketplace.payments.models import Payment, PaymentAttempt, PaymentRefund, PaymentStatus, RefundStatus
from marketplace.pickup import services as pickup
from marketplace.producers.models import Producer, StockMode, Unit
from tests.concurrency import run_together
from tests.factories import (
    MarketDayFactory,
    OfferFactory,
    ProducerFactory,
    ProductFactory,
    UserFactory,
    VendorFactory,
)
from tests.payments.helpers import assert_money_invariants, authorised_order, captured_early, card_order
from tests.payments.test_refunds import organizer_of

CAPTURE = r"/v1/payment_intents/[^/]+/capture"
INTENT = r"/v1/payment_intents/[^/]+"


def test_pay_in_cash_from_an_old_tab_does_not_release_the_hold_of_an_order_paid_by_card(client, login, ctx,
                                                                                        stripe_on):
    """The customer authorised the card in one tab and presses "pay in cash instead" in the
    pay page still open in another: the order is confirmed by card, so the cash switch is
    refused, and the hold the hand-over will capture must stay where it is."""
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=100_000)
    payment = payments.current_payment(order)
    login(order.customer.email)
    client.post(f"/orders/{order.id}/pay/cash", data={})
    db.session.rollback()
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.CONFIRMED and order.payment_method == PaymentMethod.CARD
    assert stripe_on.intent(payment.provider_intent_id)["status"] == "requires_capture"
    pickup.hand_over(order, organizer_of(order), confirm=pickup.ANYWAY)
    db.session.commit()
    assert payments.current_payment(order).amount_captured_minor == 100_000
    assert_money_invariants(stripe_on)


def test_a_capture_whose_answer_was_lost_is_not_lost_when_the_line_is_weighed_again(ctx, stripe_on,
                                                                                   stripe_proxy):
    """Stripe captured, the answer never came and Stripe could not be asked either (the
    hand-over was refused, "try again"); the organizer corrects the weight and hands over again.
    The second capture carries the same key with another amount, which Stripe refuses as an
    idempotency error: the money Stripe took must still be known to us (recorded, the excess
    refunded), not left as a hold."""
    order = authorised_order(stripe_on, by_weight=True, quantity_milli=1000, price_minor=100_000)  # hold 1150.00
    organizer = organizer_of(order)
    line = order.lines[0]
    orders.record_weight(line, line.producer, line.producer.user, 1000)
    db.session.commit()
    stripe_proxy.drop_response("POST", CAPTURE)
    stripe_proxy.fail("GET", INTENT, status=500)  # and the read-back after it goes unanswered too
    with pytest.raises(payments.PaymentError):
        pickup.hand_over(db.session.get(Order, order.id), organizer, confirm=pickup.ANYWAY)
    db.session.rollback()
    line = db.session.get(Order, order.id).lines[0]
    orders.record_weight(line, line.producer, line.producer.user, 900)  # a typo corrected: 900.00 due
    db.session.commit()
    try:
        pickup.hand_over(db.session.get(Order, order.id), organizer, confirm=pickup.ANYWAY)
        db.session.commit()
    except payments.PaymentError:
        db.session.rollback()
    payment = payments.current_payment(db.session.get(Order, order.id))
    # Stripe holds nothing any more: whatever our side says, it must say what Stripe did.
    assert stripe_on.intent(payment.provider_intent_id)["status"] == "succeeded"
    assert payment.status != PaymentStatus.AUTHORIZED, "Stripe captured, our payment still says only authorised"
    assert [c.outcome for c in stripe_proxy.calls("POST", CAPTURE)] == ["response_dropped", "idempotency_error"]
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.PICKED_UP and not order.cash_received_minor
    # Charged 1000.00 by the lost capture, 900.00 due: 100.00 given back under its own key, once.
    assert (payment.amount_captured_minor, payment.amount_refunded_minor) == (100_000, 10_000)
    refunds = stripe_proxy.calls("POST", r"/v1/refunds")
    assert [(c.idempotency_key, c.form["amount"]) for c in refunds] == [
        (f"aimak-payment-{payment.id}-refund-excess", "10000")]
    # The excess was an overcharge, not a sale given back: the producer is owed the 900.00 sold.
    report = settlement.market_report(order.market_day.market, order.market_day.date, order.market_day.date)
    assert [(row.card_sales_minor, row.refunds_minor) for row in report.rows] == [(90_000, 0)]
    assert_money_invariants(stripe_on)


def test_a_capture_whose_answer_was_lost_is_read_back_at_once(ctx, stripe_on, stripe_proxy):
    """The capture's answer is lost but Stripe can be asked: the hand-over goes through at once,
    charged what Stripe took, with nothing left to "try again"."""
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=100_000)
    stripe_proxy.drop_response("POST", CAPTURE)
    pickup.hand_over(order, organizer_of(order), confirm=pickup.ANYWAY)
    db.session.commit()
    payment = payments.current_payment(order)
    assert db.session.get(Order, order.id).status == OrderStatus.PICKED_UP
    assert (payment.status, payment.amount_captured_minor) == (PaymentStatus.CAPTURED, 100_000)
    assert_money_invariants(stripe_on)


def test_a_capture_lost_then_weighed_heavier_collects_the_rest_in_cash(ctx, stripe_on, stripe_proxy):
    """Stripe captured 900.00 and the answer was lost; the line is weighed again at 1000.00. The
    card cannot be charged twice: it keeps 900.00 and the hand-over records 100.00 in cash."""
    order = authorised_order(stripe_on, by_weight=True, quantity_milli=1000, price_minor=100_000)  # hold 1150.00
    organizer = organizer_of(order)
    line = order.lines[0]
    orders.record_weight(line, line.producer, line.producer.user, 900)
    db.session.commit()
    stripe_proxy.drop_response("POST", CAPTURE)
    stripe_proxy.fail("GET", INTENT, status=500)
    with pytest.raises(payments.PaymentError):
        pickup.hand_over(db.session.get(Order, order.id), organizer, confirm=pickup.ANYWAY)
    db.session.rollback()
    line = db.session.get(Order, order.id).lines[0]
    orders.record_weight(line, line.producer, line.producer.user, 1000)
    db.session.commit()
    pickup.hand_over(db.session.get(Order, order.id), organizer, confirm=pickup.ANYWAY)
    db.session.commit()
    order = db.session.get(Order, order.id)
    payment = payments.current_payment(order)
    assert (payment.amount_captured_minor, payment.amount_refunded_minor) == (90_000, 0)
    assert order.cash_received_minor == 10_000 and order.total_minor == 100_000
    assert_money_invariants(stripe_on)


# --- Races (a barrier; repeated; meant for PostgreSQL, run on SQLite too) -------------------------

ROUNDS = 5


def _told_once(order_id: int) -> None:
    """A cancelled order's customer got one cancellation notice and one email, however the race went."""
    occasion = f"order-{order_id}-cancelled"
    assert db.session.scalar(select(func.count(Notice.id)).where(Notice.occasion == occasion)) <= 1
    order = db.session.get(Order, order_id)
    emails = db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.template == "order_cancelled", OutboxEmail.to == order.customer.email))
    assert emails == (1 if order.status == OrderStatus.CANCELLED else 0), (order.status, emails)


def _card_consistent(order_id: int) -> None:
    """A picked-up card order was charged; a cash order holds nothing; an ended one keeps nothing."""
    order = db.session.get(Order, order_id)
    payment = payments.current_payment(order)
    if order.status == OrderStatus.PICKED_UP and order.payment_method == PaymentMethod.CARD:
        assert payment.amount_captured_minor > 0, "handed over by card, never charged"
    if order.payment_method == PaymentMethod.CASH:
        assert payment.status not in payments.OPEN_STATUSES


def _by_id(order_id: int) -> Order:
    return db.session.get(Order, order_id)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_refund_that_releases_the_hold_racing_the_hand_over(app, ctx, stripe_on, round_):
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=100_000)
    organizer = organizer_of(order)
    order_id, organizer_id = order.id, organizer.id
    db.session.commit()

    def refund():
        return payments.refund(db.session.get(User, organizer_id), _by_id(order_id), 0, "no card",
                               key=f"race-release-{round_}-0123456789")

    def hand_over():
        return pickup.hand_over(_by_id(order_id), db.session.get(User, organizer_id), confirm=pickup.ANYWAY)

    results = run_together(app, [refund, hand_over])
    assert not any(isinstance(r, Exception) and not isinstance(r, DomainError) for r in results), results
    _card_consistent(order_id)
    assert_money_invariants(stripe_on)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_customer_cancelling_racing_the_hand_over(app, ctx, stripe_on, round_):
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=100_000)
    organizer = organizer_of(order)
    order_id, organizer_id, customer_id = order.id, organizer.id, order.customer_id
    db.session.commit()

    def cancel():
        return orders.cancel_by_customer(_by_id(order_id), db.session.get(User, customer_id))

    def hand_over():
        return pickup.hand_over(_by_id(order_id), db.session.get(User, organizer_id), confirm=pickup.ANYWAY)

    results = run_together(app, [cancel, hand_over])
    assert not any(isinstance(r, Exception) and not isinstance(r, DomainError) for r in results), results
    assert sum(isinstance(r, Exception) for r in results) == 1, results
    _card_consistent(order_id)
    _told_once(order_id)
    assert_money_invariants(stripe_on)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_day_cancelled_racing_a_hand_over_a_confirmation_and_the_expiry_sweep(app, ctx, stripe_on, round_):
    day = MarketDayFactory()
    confirmed = authorised_order(stripe_on, by_weight=False, market_day=day)
    confirming = card_order(by_weight=False, market_day=day)  # the card is being entered
    expiring = card_order(by_weight=False, market_day=day)  # its time to pay has just passed
    organizer = organizer_of(confirmed)
    db.session.execute(update(Order).where(Order.id == expiring.id)
                       .values(hold_until=utcnow() - timedelta(seconds=1)))
    ids = confirmed.id, confirming.id, expiring.id
    day_id, organizer_id = day.id, organizer.id
    confirming_payment = payments.current_payment(confirming).id
    token, email = stripe_on.card_token(), confirming.customer.email
    db.session.commit()

    def cancel_day():
        actor = db.session.get(User, organizer_id)
        markets.cancel_market_day(actor, db.session.get(MarketDay, day_id), "Storm")
        db.session.commit()
        return markets.finish_cancellation(actor, db.session.get(MarketDay, day_id), wait=True)

    def hand_over():
        return pickup.hand_over(_by_id(ids[0]), db.session.get(User, organizer_id), confirm=pickup.ANYWAY)

    def confirm():
        return payments.submit_card(db.session.get(Payment, confirming_payment), token, email)

    def sweep():
        return orders.expire_due_holds()

    results = run_together(app, [cancel_day, hand_over, confirm, sweep])
    assert not any(isinstance(r, Exception) and not isinstance(r, DomainError) for r in results), results
    # Whatever ran first, running the day's job again finishes what is left, and changes nothing else.
    report = settle_cancelled_day(day_id)
    db.session.commit()
    assert report.complete, report.lines()
    for order_id in ids:
        _card_consistent(order_id)
        _told_once(order_id)
    assert_money_invariants(stripe_on)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_runs_of_the_day_job_at_once_while_stripe_fails_then_a_rerun(app, ctx, stripe_on, stripe_proxy, round_):
    day = MarketDayFactory()
    held = [authorised_order(stripe_on, by_weight=False, market_day=day) for _ in range(3)]
    early = captured_early(stripe_on, by_weight=False, market_day=day)
    organizer = organizer_of(held[0])
    markets.cancel_market_day(organizer, day, "Flood")
    db.session.commit()
    day_id = day.id
    stripe_proxy.fail("POST", r"/v1/payment_intents/[^/]+/cancel", status=500, nth=2)
    stripe_proxy.drop_response("POST", r"/v1/refunds")
    results = run_together(app, [lambda: settle_cancelled_day(day_id), lambda: settle_cancelled_day(day_id)])
    assert not any(isinstance(r, Exception) for r in results), results
    report = settle_cancelled_day(day_id)  # the rerun: only what failed
    db.session.commit()
    assert report.complete, report.lines()
    ok_calls = db.session.execute(select(PaymentAttempt.payment_id, PaymentAttempt.operation, func.count())
                                  .where(PaymentAttempt.ok.is_(True))
                                  .group_by(PaymentAttempt.payment_id, PaymentAttempt.operation)).all()
    assert all(count == 1 for _, _, count in ok_calls), ok_calls
    refunds = [c for c in stripe_proxy.calls("POST", r"/v1/refunds") if c.outcome in ("forwarded", "response_dropped")]
    assert len(refunds) == 1, refunds  # Stripe refunded once; the retry was replayed
    for order in held + [early]:
        _told_once(order.id)
    assert_money_invariants(stripe_on)


# --- Bad luck: an answer lost, and nobody presses again --------------------------------------

def test_an_undo_whose_refund_answer_was_lost_is_known_after_the_reconciliation(ctx, stripe_on, stripe_proxy):
    """The organizer undoes a card hand-over; Stripe refunds, the answer is lost. The undo goes
    through (the refund stays pending, its amount claimed: it was maybe made), and nobody
    presses anything again (the customer paid in cash, the window passed). The hourly
    reconciliation asks again with the same key and then knows what Stripe did.

    (The attack first expected the undo to be refused here: that refusal rolled the pending
    refund back with the undo, which is the very reason nobody learnt of the refund.)"""
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=100_000)
    organizer = organizer_of(order)
    pickup.hand_over(order, organizer, confirm=pickup.ANYWAY)
    db.session.commit()
    stripe_proxy.drop_response("POST", r"/v1/refunds")
    pickup.undo_hand_over(db.session.get(Order, order.id), organizer)
    db.session.commit()
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.CONFIRMED and order.payment_method == PaymentMethod.CASH
    assert pickup.refund_pending_minor(order) == 100_000
    assert_money_invariants(stripe_on)  # already claimed: our figures equal Stripe's
    db.session.execute(update(PaymentRefund).values(created_at=utcnow() - payments.PENDING_REFUND_RETRY_AFTER
                                                    - timedelta(seconds=1)))
    db.session.commit()
    payments.reconcile()
    db.session.commit()
    refund = db.session.scalars(select(PaymentRefund)).one()
    assert refund.status == RefundStatus.SUCCEEDED and refund.provider_refund_id
    assert [c.outcome for c in stripe_proxy.calls("POST", r"/v1/refunds")] == ["response_dropped", "replayed"]
    assert pickup.refund_pending_minor(order) == 0
    assert_money_invariants(stripe_on)


def test_an_undo_whose_refund_stripe_refuses_is_refused(ctx, stripe_on, stripe_proxy):
    """Stripe refuses the refund (nothing happened there): the undo is refused and changes nothing."""
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=100_000)
    organizer = organizer_of(order)
    pickup.hand_over(order, organizer, confirm=pickup.ANYWAY)
    db.session.commit()
    stripe_proxy.fail("POST", r"/v1/refunds", status=400, message="Charge already refunded")
    with pytest.raises(payments.PaymentError):
        pickup.undo_hand_over(db.session.get(Order, order.id), organizer)
    db.session.rollback()
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.PICKED_UP and order.payment_method == PaymentMethod.CARD
    assert payments.current_payment(order).amount_refunded_minor == 0
    assert_money_invariants(stripe_on)


# --- Hostile input on the refund form ------------------------------------------------------------

def test_odd_amounts_and_keys_on_the_refund_form_refund_only_what_parses(client, login, ctx, stripe_on):
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=100_000)  # 1000.00
    organizer = organizer_of(order)
    pickup.hand_over(order, organizer, confirm=pickup.ANYWAY)
    db.session.commit()
    login(organizer.email)
    url = f"/organize/orders/{order.id}/refund"
    base = {"producer_id": "0", "reason": "odd"}
    for n, amount in enumerate(["-5", "0", "0,00", "1e9", "1E2", "６", "٦", "NaN", "Infinity", "1_0", "0x10", "5.555",
                                "99999999999999999999999", "1000.01", "  ", "5;DROP", "½", "+5", "5-", "1,000.00"]):
        response = client.post(url, data={**base, "amount": amount, "key": f"odd-amount-{n:02d}-0123456789"})
        assert response.status_code == 200, (amount, response.status_code)
    assert payments.current_payment(order).amount_refunded_minor == 0
    for key in ["", "short", "x" * 65, "../../etc/passwd-0123", "key with spaces 0123", "ключ-0123456789abcdef"]:
        response = client.post(url, data={**base, "amount": "1", "key": key})
        assert response.status_code == 200, key
    for field in ({"producer_id": "999999"}, {"producer_id": "x"}, {"producer_id": str(2 ** 40)}, {"currency": "USD"}):
        response = client.post(url, data={**base, "amount": "1", "key": "odd-field-0123456789", **field})
        assert response.status_code in (200, 302), field
    refunded = payments.current_payment(order).amount_refunded_minor
    assert refunded in (0, 100), refunded  # at most the one well-formed 1.00 (the currency field is ignored)
    # "6,10" is 6.10 and the page says so in tenge, not in tiyn.
    page = client.post(url, data={**base, "amount": "6,10", "key": "comma-amount-0123456789"}, follow_redirects=True)
    assert "₸6.10 is refunded" in page.text, page.text[:2000]
    assert payments.current_payment(order).amount_refunded_minor == refunded + 610
    assert_money_invariants(stripe_on)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_refunds_with_different_keys_at_once_never_refund_more_than_was_charged(app, ctx, stripe_on, round_):
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=100_000)  # 1000.00
    organizer = organizer_of(order)
    pickup.hand_over(order, organizer, confirm=pickup.ANYWAY)
    order_id, organizer_id = order.id, organizer.id
    db.session.commit()

    def refund(key):
        return lambda: payments.refund(db.session.get(User, organizer_id), _by_id(order_id), 60_000, "two tabs",
                                       key=f"{key}-{round_}-0123456789")

    results = run_together(app, [refund("tab-one"), refund("tab-two"), refund("tab-one")])
    assert not any(isinstance(r, Exception) and not isinstance(r, DomainError) for r in results), results
    assert payments.current_payment(_by_id(order_id)).amount_refunded_minor == 60_000
    assert_money_invariants(stripe_on)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_customer_cancelling_while_the_card_is_being_authorised(app, ctx, stripe_on, round_):
    order = card_order(by_weight=False)
    order_id, customer_id = order.id, order.customer_id
    payment_id = payments.current_payment(order).id
    token, email = stripe_on.card_token(), order.customer.email
    db.session.commit()

    def confirm():
        return payments.submit_card(db.session.get(Payment, payment_id), token, email)

    def cancel():
        return orders.cancel_by_customer(_by_id(order_id), db.session.get(User, customer_id))

    results = run_together(app, [confirm, cancel])
    assert not any(isinstance(r, Exception) and not isinstance(r, DomainError) for r in results), results
    _told_once(order_id)
    assert_money_invariants(stripe_on)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_producer_weighing_again_racing_the_hand_over_charges_the_weighed_amount(app, ctx, stripe_on, round_):
    """The producer corrects the weight (1000 g -> 900 g) just as the organizer hands the order
    over: whichever wins, what the card was charged plus the cash recorded is the order's total."""
    order = authorised_order(stripe_on, by_weight=True, quantity_milli=1000, price_minor=100_000)  # hold 1150.00
    organizer = organizer_of(order)
    line = order.lines[0]
    orders.record_weight(line, line.producer, line.producer.user, 1000)
    order_id, organizer_id, line_id = order.id, organizer.id, line.id
    db.session.commit()

    def weigh():
        line = db.session.get(OrderLine, line_id)
        return orders.record_weight(line, line.producer, line.producer.user, 900)

    def hand_over():
        return pickup.hand_over(_by_id(order_id), db.session.get(User, organizer_id), confirm=pickup.ANYWAY)

    results = run_together(app, [weigh, hand_over])
    assert not any(isinstance(r, Exception) and not isinstance(r, DomainError) for r in results), results
    order = _by_id(order_id)
    assert order.status == OrderStatus.PICKED_UP, results
    payment = payments.current_payment(order)
    charged = payment.amount_captured_minor - payment.amount_refunded_minor
    assert charged + (order.cash_received_minor or 0) == order.total_minor, (charged, order.total_minor, results)
    assert_money_invariants(stripe_on)


def test_no_money_route_acts_without_its_csrf_token(database_url, tmp_path, ctx, stripe_on):
    """A forged form from another site (no CSRF token): nothing is refunded, released, charged or cancelled."""
    from marketplace.cli import create_app
    from tests.conftest import PASSWORD

    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=100_000)
    organizer = organizer_of(order)
    db.session.commit()
    strict = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                         "MEDIA_ROOT": str(tmp_path), "WTF_CSRF_ENABLED": True, **stripe_on.config()})
    day = order.market_day_id
    for user, urls in ((organizer, [f"/organize/orders/{order.id}/refund",
                                    f"/organize/days/{day}/pickup/orders/{order.id}/hand-over",
                                    f"/organize/days/{day}/pickup/orders/{order.id}/cash",
                                    f"/organize/days/{day}/cancel"]),
                       (order.customer, [f"/orders/{order.id}/pay/cash", f"/orders/{order.id}/cancel"])):
        client = strict.test_client()
        with strict.app_context():
            page = client.get("/login").text
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        assert client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        for url in urls:
            response = client.post(url, data={"amount": "1", "reason": "forged", "producer_id": "0",
                                              "key": "forged-key-0123456789", "confirm": ["early", "unweighed"]})
            assert response.status_code in (200, 400), (url, response.status_code)
    db.session.rollback()
    order = db.session.get(Order, order.id)
    payment = payments.current_payment(order)
    assert order.status == OrderStatus.CONFIRMED and order.payment_method == PaymentMethod.CARD
    assert payment.status == PaymentStatus.AUTHORIZED and payment.amount_refunded_minor == 0
    assert stripe_on.intent(payment.provider_intent_id)["status"] == "requires_capture"


# --- A refund's answer lost at the pickup point, as the organizer sees it ----------------------

def test_the_excess_refund_of_an_early_capture_whose_answer_was_lost_is_said_pending(client, login, ctx,
                                                                                    stripe_on, stripe_proxy):
    """The card was charged its whole hold (1150.00) before the hand-over; 900.00 is due. The
    refund of the 250.00 above it is made at Stripe and its answer lost: the hand-over goes
    through, the page says the refund is not confirmed yet (not that it is done, not "try
    again"), and the reconciliation then asks again with the same key."""
    order = captured_early(stripe_on, by_weight=True, quantity_milli=1000, price_minor=100_000)
    organizer = organizer_of(order)
    line = order.lines[0]
    orders.record_weight(line, line.producer, line.producer.user, 900)
    db.session.commit()
    stripe_proxy.drop_response("POST", r"/v1/refunds")
    login(organizer.email)
    url = f"/organize/days/{order.market_day_id}/pickup/orders/{order.id}"
    page = client.post(url + "/hand-over", data={"confirm": ["early", "unweighed"]}, follow_redirects=True)
    assert f"Order {order.pickup_code} is handed over." in page.text
    assert "has not confirmed the refund of ₸250" in page.text, page.text[:3000]
    db.session.rollback()
    assert db.session.get(Order, order.id).status == OrderStatus.PICKED_UP
    assert_money_invariants(stripe_on)
    db.session.execute(update(PaymentRefund).values(created_at=utcnow() - payments.PENDING_REFUND_RETRY_AFTER
                                                    - timedelta(seconds=1)))
    db.session.commit()
    payments.reconcile()
    db.session.commit()
    assert db.session.scalars(select(PaymentRefund.status)).all() == [RefundStatus.SUCCEEDED]
    assert [c.outcome for c in stripe_proxy.calls("POST", r"/v1/refunds")] == ["response_dropped", "replayed"]
    assert_money_invariants(stripe_on)


def test_an_undo_whose_refund_answer_was_lost_says_so_in_the_organizers_language(client, login, ctx, stripe_on,
                                                                                 stripe_proxy):
    order = authorised_order(stripe_on, by_weight=False, quantity_milli=1000, price_minor=100_000)
    organizer = organizer_of(order)
    pickup.hand_over(order, organizer, confirm=pickup.ANYWAY)
    db.session.commit()
    stripe_proxy.drop_response("POST", r"/v1/refunds")
    login(organizer.email)
    url = f"/organize/days/{order.market_day_id}/pickup/orders/{order.id}/undo"
    page = client.post(url, headers={"Accept-Language": "ru"}, follow_redirects=True)
    assert page.status_code == 200
    assert "Карточный сервис ещё не подтвердил возврат" in page.text, page.text[:3000]
    db.session.rollback()
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.CONFIRMED and order.payment_method == PaymentMethod.CASH
    assert_money_invariants(stripe_on)


# --- One producer's refund taken from another's sale ------------------------------------------

def two_producer_order(stripe) -> tuple[Order, Producer, Producer]:
    """A card order handed over and charged 1000.00: 300.00 of one producer's, 700.00 of another's."""
    day = MarketDayFactory()
    quantities, producers = {}, []
    for price in (30_000, 70_000):
        producer = ProducerFactory()
        VendorFactory(market=day.market, producer=producer)
        product = ProductFactory(producer=producer, unit=Unit.PIECE, sold_by_weight=False, price_minor=price,
                                 stock_mode=StockMode.PER_MARKET_DAY)
        OfferFactory(product=product, market_day=day, quantity_milli=10_000)
        quantities[product.id] = 1000
        producers.append(producer)
    customer = UserFactory(roles=[Role.CUSTOMER])
    order = orders.place_order(customer, day.id, quantities, slot_id=day.slots[0].id,
                               payment_method=PaymentMethod.CARD, phone="+7 700 000 00 00",
                               idempotency_key=uuid.uuid4().hex)
    payment = payments.open_payment_for(order)
    db.session.commit()
    payments.start_intent(payment)
    db.session.commit()
    payments.submit_card(payment, stripe.card_token(), customer.email)
    db.session.commit()
    order = db.session.get(Order, order.id)
    pickup.hand_over(order, organizer_of(order), confirm=pickup.ANYWAY)
    db.session.commit()
    return db.session.get(Order, order.id), producers[0], producers[1]


def test_a_refund_in_one_producers_name_never_takes_more_than_their_sale(client, login, ctx, stripe_on):
    """The organizer (or whoever holds the form) refunds in the name of the small producer more
    than they sold, or refunds them twice, or adds a whole-order refund on top: each would make
    their settlement of the order negative (the other producer's sale paying for it). Refused
    with the amount left, in money; what fits goes through; no producer's settlement goes below zero."""
    order, small, big = two_producer_order(stripe_on)
    login(organizer_of(order).email)
    url = f"/organize/orders/{order.id}/refund"

    def post(producer_id, amount, key):
        return client.post(url, data={"producer_id": str(producer_id), "amount": amount, "reason": "attack",
                                      "key": f"{key}-0123456789abcdef"}, follow_redirects=True)

    page = post(small.id, "400", "small-too-much")
    assert f"At most ₸300 can still be refunded for the sale of {small.name} on this order." in page.text
    assert payments.current_payment(order).amount_refunded_minor == 0
    assert "₸300 is refunded" in post(small.id, "300", "small-all").text
    assert "₸300 is refunded" in post(small.id, "300", "small-all").text  # the double click: the same refund
    page = post(small.id, "0.01", "small-again")
    assert f"At most ₸0 can still be refunded for the sale of {small.name}" in page.text
    page = post(0, "100", "whole-order-on-top")  # 30.00 of it would be the small producer's
    # (0.03 would still fit: split 30/70 rounded down, all three tiyn go to the other producer.)
    assert "At most ₸0.03 can still be refunded for the whole order" in page.text
    assert "₸700 is refunded" in post(big.id, "700", "big-all").text
    db.session.rollback()
    payment = payments.current_payment(order)
    assert payment.amount_refunded_minor == 100_000
    report = settlement.market_report(order.market_day.market, order.market_day.date, order.market_day.date)
    assert {row.producer_id: row.net_minor for row in report.rows} == {small.id: 0, big.id: 0}
    assert_money_invariants(stripe_on)


def test_a_whole_order_refund_takes_only_what_every_producer_has_left(ctx, stripe_on):
    order, small, big = two_producer_order(stripe_on)
    organizer = organizer_of(order)
    payments.refund(organizer, order, 20_000, "bruised", producer_id=small.id, key="small-part-0123456789")
    db.session.commit()
    # 100.00 left of the small producer's 300.00 sale: a whole-order refund splits 30/70 (rounded down,
    # the remainder to the larger share), so 333.36 fits (100.00 of it theirs) and 333.37 does not.
    assert payments.whole_order_refundable_minor(payments.current_payment(order)) == 33_336
    with pytest.raises(payments.PaymentError):
        payments.refund(organizer, order, 33_337, "too much", key="whole-too-much-0123456789")
    db.session.rollback()
    payments.refund(organizer, order, 33_336, "fits", key="whole-fits-0123456789")
    db.session.commit()
    report = settlement.market_report(order.market_day.market, order.market_day.date, order.market_day.date)
    assert {row.producer_id: row.net_minor for row in report.rows} == {small.id: 0, big.id: 70_000 - 23_336}
    assert_money_invariants(stripe_on)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_refunds_in_one_producers_name_at_once_take_at_most_their_sale(app, ctx, stripe_on, round_):
    order, small, _big = two_producer_order(stripe_on)
    order_id, organizer_id, small_id = order.id, organizer_of(order).id, small.id
    db.session.commit()

    def refund(tab):
        return lambda: payments.refund(db.session.get(User, organizer_id), _by_id(order_id), 20_000, "two tabs",
                                       producer_id=small_id, key=f"{tab}-{round_}-0123456789")

    results = run_together(app, [refund("tab-one"), refund("tab-two")])
    assert not any(isinstance(r, Exception) and not isinstance(r, DomainError) for r in results), results
    assert sum(isinstance(r, DomainError) for r in results) == 1, results
    assert payments.current_payment(_by_id(order_id)).amount_refunded_minor == 20_000
    assert_money_invariants(stripe_on)
