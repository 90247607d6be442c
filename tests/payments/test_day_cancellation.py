"""Cancelling a market day keeps no money (issue 17, cases 1 and 2): every order ends cancelled,
every hold is released and every capture refunded in full, each Stripe call under its per-order,
per-operation key; Stripe failing part-way (through the fault proxy) leaves a report of what
failed, and running the cancellation again retries exactly that, and nothing else."""
from __future__ import annotations

import logging

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from marketplace.accounts.models import Role
from marketplace.core.extensions import db
from marketplace.markets import services as markets
from marketplace.markets.models import MarketDay
from marketplace.notifications.models import OutboxEmail
from marketplace.orders import services as orders
from marketplace.orders.models import Order, OrderStatus, PaymentMethod
from marketplace.payments import cancellation
from marketplace.payments import services as payments
from marketplace.payments.models import (
    Payment,
    PaymentRefund,
    PaymentStatus,
    RefundStatus,
)
from marketplace.pickup import services as pickup
from tests.factories import UserFactory
from tests.payments.helpers import (
    assert_money_invariants,
    authorised_order,
    captured_early,
    card_order,
    invoke,
)

CANCEL = r"/v1/payment_intents/[^/]+/cancel"
REFUNDS = r"/v1/refunds"


def cash_order(market_day) -> Order:
    order = card_order(market_day=market_day, by_weight=False)
    payments.switch_to_cash(order, order.customer)  # an order paid in cash at pickup
    db.session.commit()
    return db.session.get(Order, order.id)


def cancel(market_day, reason="Storm warning"):
    """What the organizer's page does: the cancellation commits, then its money is settled."""
    markets.cancel_market_day(market_day.organizer, market_day, reason)
    db.session.commit()
    reports = markets.finish_cancellation(market_day.organizer, db.session.get(MarketDay, market_day.id), wait=True)
    db.session.commit()
    return reports[0]


def emails(template: str) -> list[str]:
    db.session.rollback()
    return [e.to for e in db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == template))]


def test_every_order_ends_cancelled_with_its_hold_released_or_its_capture_refunded(day, stripe_on):
    held = authorised_order(stripe_on, market_day=day)
    charged = captured_early(stripe_on, market_day=day, by_weight=False, quantity_milli=3000, price_minor=10_000)
    waiting = card_order(market_day=day)  # never paid: its intent must not be paid later either
    cash = cash_order(day)
    assert payments.current_payment(charged).status == PaymentStatus.CAPTURED

    report = cancel(day)

    for order in (held, charged, waiting, cash):
        assert db.session.get(Order, order.id).status == OrderStatus.CANCELLED
    assert payments.current_payment(held).status == PaymentStatus.CANCELED
    assert stripe_on.intent(payments.current_payment(held).provider_intent_id)["status"] == "canceled"
    refunded = payments.current_payment(charged)
    assert refunded.status == PaymentStatus.REFUNDED and refunded.amount_refunded_minor == 30_000
    refund = db.session.scalar(select(PaymentRefund).where(PaymentRefund.payment_id == refunded.id))
    assert refund.idempotency_key == f"aimak-payment-{refunded.id}-refund-ended" and refund.status == RefundStatus.SUCCEEDED
    assert stripe_on.intent(payments.current_payment(waiting).provider_intent_id)["status"] == "canceled"
    # The report says what the database says.
    assert report.complete and report.cancelled == 4
    assert [line.order_id for line in report.released] == [held.id]
    assert [(line.order_id, line.amount_minor) for line in report.refunded] == [(charged.id, 30_000)]
    assert report.failed == [] and report.retried == 0
    assert report.customers_told == 4
    assert_money_invariants(stripe_on)


def test_running_it_again_does_nothing_more_and_tells_nobody_twice(day, stripe_proxy, stripe_on):
    held = authorised_order(stripe_on, market_day=day)
    captured_early(stripe_on, market_day=day)
    cancel(day)
    calls = len(stripe_proxy.calls())
    customers, producers = emails("order_cancelled"), emails("market_day_cancelled_producer")
    assert len(customers) == 2 and len(set(customers)) == 2 and len(producers) == len(set(producers)) == 2

    report = cancel(day, reason="")
    assert report.complete and len(report.released) == 1 and len(report.refunded) == 1
    assert len(stripe_proxy.calls()) == calls  # nothing left to do: Stripe is not asked anything
    assert emails("order_cancelled") == customers and emails("market_day_cancelled_producer") == producers
    assert db.session.get(Order, held.id).status == OrderStatus.CANCELLED
    assert_money_invariants(stripe_on)


def test_a_failed_release_is_retried_by_the_next_run_and_only_it(day, stripe_proxy, stripe_on, app, caplog):
    first, second, third = (authorised_order(stripe_on, market_day=day) for _ in range(3))
    stripe_proxy.fail("POST", CANCEL, nth=2, status=500)  # Stripe fails the second release

    with caplog.at_level(logging.WARNING, logger="marketplace.payments.services"):
        result = invoke(app, "cancel-market-day", str(day.id), "--reason", "Flood")
    assert result.exit_code == 1, result.output
    assert "Card holds released: 2" in result.output and "Failed, to try again: 1" in result.output
    assert "Not tried yet: 0" in result.output
    # Stripe's words are in the log; the organizer reads a plain sentence.
    assert "Injected failure" not in result.output and "Injected failure" in caplog.text
    assert "did not release the hold when asked" in result.output
    failed_intent = stripe_proxy.calls("POST", CANCEL)[1].path.split("/")[3]
    failed = db.session.scalar(select(Payment).where(Payment.provider_intent_id == failed_intent))
    assert failed.status == PaymentStatus.AUTHORIZED  # still held: the report says so
    assert stripe_on.intent(failed_intent)["status"] == "requires_capture"
    report = cancellation.day_report(db.session.get(MarketDay, day.id))
    assert [line.order_id for line in report.failed] == [failed.order_id] and report.not_tried == []
    assert failed.order_id in {first.id, second.id, third.id}

    stripe_proxy.reset()
    again = invoke(app, "cancel-market-day", str(day.id))
    assert again.exit_code == 0, again.output
    retried = stripe_proxy.calls("POST")
    assert [call.path for call in retried] == [f"/v1/payment_intents/{failed_intent}/cancel"]
    assert retried[0].idempotency_key == f"aimak-payment-{failed.id}-cancel"  # the same key as the failed try
    report = cancellation.day_report(db.session.get(MarketDay, day.id))
    assert report.complete and len(report.released) == 3 and report.retried == 1
    assert "Calls retried: 1" in again.output
    assert_money_invariants(stripe_on)


def test_a_refund_whose_answer_was_lost_is_asked_again_and_refunds_once(day, stripe_proxy, stripe_on):
    charged = captured_early(stripe_on, market_day=day, by_weight=False, quantity_milli=1000, price_minor=50_000)
    stripe_proxy.drop_response("POST", REFUNDS)  # Stripe refunds, the answer never arrives

    report = cancel(day)
    payment = payments.current_payment(charged)
    refund = db.session.scalar(select(PaymentRefund).where(PaymentRefund.payment_id == payment.id))
    assert refund.status == RefundStatus.PENDING and not report.complete
    assert report.failed[0].what.startswith("not refunded") and report.failed[0].amount_minor == 50_000

    report = cancel(day, reason="")
    assert report.complete and [line.amount_minor for line in report.refunded] == [50_000]
    calls = stripe_proxy.calls("POST", REFUNDS)
    assert [c.outcome for c in calls] == ["response_dropped", "replayed"]  # Stripe acted once
    assert len({c.idempotency_key for c in calls}) == 1
    charge = stripe_on.intent(payment.provider_intent_id)["charges"]["data"][0]
    assert charge["amount_refunded"] == 50_000
    assert_money_invariants(stripe_on)


def test_an_unreachable_stripe_stops_the_run_early_and_the_next_run_finishes(day, stripe_proxy, stripe_on, app):
    held = [authorised_order(stripe_on, market_day=day) for _ in range(4)]
    stripe_proxy.drop("POST", CANCEL, times=None)  # every release: no answer at all

    report = cancel(day)
    # Two calls in a row found Stripe unreachable: the other two were not tried (each would
    # have waited for the timeout); the report says which failed and which were not tried yet.
    tried = stripe_proxy.calls("POST", CANCEL)
    assert len(tried) == 2
    tried_intents = {call.path.split("/")[3] for call in tried}
    assert {payments.current_payment(db.session.get(Order, line.order_id)).provider_intent_id
            for line in report.failed} == tried_intents
    assert len(report.not_tried) == 2 and not report.complete
    assert not tried_intents & {payments.current_payment(db.session.get(Order, line.order_id)).provider_intent_id
                                for line in report.not_tried}

    stripe_proxy.reset()
    from marketplace.payments import gateway

    gateway.mark_available()
    report = cancel(day, reason="")
    assert report.complete and sorted(line.order_id for line in report.released) == sorted(o.id for o in held)
    assert_money_invariants(stripe_on)


def test_reconciliation_finishes_a_cancellation_nobody_ran_again(day, stripe_proxy, stripe_on):
    held = authorised_order(stripe_on, market_day=day)
    stripe_proxy.fail("POST", CANCEL, status=503)
    cancel(day)
    assert payments.current_payment(held).status == PaymentStatus.AUTHORIZED
    stripe_proxy.reset()
    from marketplace.payments import gateway

    gateway.mark_available()
    counts = payments.reconcile()
    assert counts["released"] == 1
    assert cancellation.day_report(db.session.get(MarketDay, day.id)).complete
    assert_money_invariants(stripe_on)


def test_the_organizer_sees_the_report_and_retries_from_the_day_page(client, login, day, stripe_proxy, stripe_on):
    held = [authorised_order(stripe_on, market_day=day) for _ in range(2)]
    stripe_proxy.fail("POST", CANCEL, nth=1, status=500)
    login(day.organizer.email)

    page = client.post(f"/organize/days/{day.id}/cancel", data={"reason": "Hail"}, follow_redirects=True)
    assert page.status_code == 200
    assert "What the cancellation did" in page.text and "Not finished" in page.text
    failed = cancellation.day_report(db.session.get(MarketDay, day.id)).failed
    assert len(failed) == 1 and failed[0].pickup_code in page.text

    stripe_proxy.reset()
    from marketplace.payments import gateway

    gateway.mark_available()
    again = client.post(f"/organize/days/{day.id}/cancel/again", follow_redirects=True)
    assert "Done: no card holds or keeps money" in again.text
    assert all(payments.current_payment(o).status == PaymentStatus.CANCELED for o in held)
    assert_money_invariants(stripe_on)


def test_others_cannot_see_or_rerun_a_cancellation(client, login, day, stripe_on):
    authorised_order(stripe_on, market_day=day)
    cancel(day)
    outsider = UserFactory(roles=[Role.ORGANIZER])
    login(outsider.email)
    assert client.get(f"/organize/days/{day.id}").status_code == 404
    assert client.post(f"/organize/days/{day.id}/cancel/again").status_code == 404


def test_a_customer_cancelling_an_order_captured_early_gets_it_refunded(ctx, stripe_on):
    order = captured_early(stripe_on, by_weight=False, quantity_milli=2000, price_minor=10_000)
    orders.cancel_by_customer(order, order.customer)
    db.session.commit()
    payment = payments.current_payment(order)
    assert payment.status == PaymentStatus.REFUNDED and payment.amount_refunded_minor == 20_000
    assert_money_invariants(stripe_on)


def test_a_card_order_switched_to_cash_keeps_no_hold_even_when_stripe_was_down(ctx, stripe_proxy, stripe_on):
    order = card_order(by_weight=False)
    payment = payments.current_payment(order)
    # The customer authorised at Stripe, but we never heard; then Stripe was down when they chose cash.
    from marketplace.payments import gateway

    gateway.confirm_with_card_token(payment.provider_intent_id, stripe_on.card_token(), "x@example.test",
                                    idempotency_key="lost")
    stripe_proxy.fail("POST", CANCEL, status=500)
    payments.switch_to_cash(order, order.customer)
    db.session.commit()
    assert db.session.get(Order, order.id).payment_method == PaymentMethod.CASH
    stripe_proxy.reset()
    gateway.mark_available()
    payments.reconcile()
    assert stripe_on.intent(payment.provider_intent_id)["status"] == "canceled"
    assert_money_invariants(stripe_on)


MISSING_BODY = dict(status=404, type="invalid_request_error", code="resource_missing",
                    message="No such payment_intent: 'pi_gone'")


def test_an_intent_missing_at_stripe_is_not_retried_and_is_reported_for_an_organizer(day, stripe_proxy, stripe_on, app):
    held = authorised_order(stripe_on, market_day=day)
    charged = captured_early(stripe_on, market_day=day, by_weight=False, quantity_milli=1000, price_minor=20_000)
    stripe_proxy.fail("POST", CANCEL, **MISSING_BODY)
    stripe_proxy.fail("POST", REFUNDS, **MISSING_BODY)

    result = invoke(app, "cancel-market-day", str(day.id), "--reason", "Flood")
    assert result.exit_code == 0, result.output  # nothing a rerun could do is left
    assert "Failed, to try again: 0" in result.output
    assert "Missing at Stripe, for an organizer to look at: 2" in result.output
    for order in (held, charged):
        assert payments.current_payment(order).status == PaymentStatus.MISSING
    report = cancellation.day_report(db.session.get(MarketDay, day.id))
    assert report.failed == [] and sorted(line.order_id for line in report.missing) == sorted([held.id, charged.id])
    assert {line.order_id: line.amount_minor for line in report.missing}[charged.id] == 20_000
    assert all(line.why == "the card service has no record of this payment" for line in report.missing)
    assert "No such payment_intent" not in result.output

    stripe_proxy.reset()
    again = invoke(app, "cancel-market-day", str(day.id))
    assert again.exit_code == 0, again.output
    assert stripe_proxy.calls("POST") == []  # a missing intent is not asked again
    assert payments.payments_to_settle(day.id) == []


def handed_over(stripe, market_day, **kwargs) -> Order:
    """A card order handed over (its card captured) at the pickup point of this day."""
    order = authorised_order(stripe, market_day=market_day, by_weight=False, **kwargs)
    pickup.hand_over(order, market_day.organizer, confirm=pickup.ANYWAY)
    db.session.commit()
    return db.session.get(Order, order.id)


def test_orders_handed_over_before_the_cancellation_are_listed_with_what_they_keep(
        day, stripe_on, app, client, login):
    collected = handed_over(stripe_on, day, quantity_milli=3000, price_minor=10_000)
    held = authorised_order(stripe_on, market_day=day)

    result = invoke(app, "cancel-market-day", str(day.id), "--reason", "Storm")
    assert result.exit_code == 0, result.output
    # Handed over: rightly left alone, with its money; every other order keeps nothing.
    assert db.session.get(Order, collected.id).status == OrderStatus.PICKED_UP
    assert payments.current_payment(collected).amount_captured_minor == 30_000
    assert payments.current_payment(held).status == PaymentStatus.CANCELED
    assert "Done: no card holds or keeps money" not in result.output
    assert "Handed over before the cancellation, left as they are: 1 (₸300 kept)" in result.output
    assert f"{collected.pickup_code} (#{collected.id}): keeps ₸300 — handed over before the day was cancelled" \
        in result.output

    report = cancellation.day_report(db.session.get(MarketDay, day.id))
    assert report.complete and [(line.order_id, line.amount_minor) for line in report.kept] == [(collected.id, 30_000)]
    assert report.cancelled == 1 and [line.order_id for line in report.released] == [held.id]
    assert report.customers_told == 1  # the customer whose order was handed over is not told it was cancelled
    login(day.organizer.email)
    page = client.get(f"/organize/days/{day.id}").text
    assert "Done: no card holds or keeps money" not in page
    assert collected.pickup_code in page and "₸300" in page and "handed over before the day was cancelled" in page
    assert f"/organize/orders/{collected.id}/refund" in page
    assert_money_invariants(stripe_on)


def test_orders_no_run_has_tried_yet_are_not_tried_not_failed(day, stripe_on, client, login):
    held = [authorised_order(stripe_on, market_day=day) for _ in range(2)]
    charged = captured_early(stripe_on, market_day=day, by_weight=False, quantity_milli=1000, price_minor=40_000)
    # The cancellation committed; its job is queued and has not run yet.
    markets.cancel_market_day(day.organizer, day, "Storm")
    db.session.commit()

    report = cancellation.day_report(db.session.get(MarketDay, day.id))
    assert report.failed == [] and not report.complete
    assert sorted(line.order_id for line in report.not_tried) == sorted([o.id for o in held] + [charged.id])
    # What the report counts is what the database holds: every one of them still to settle.
    assert len(report.not_tried) == len(payments.payments_to_settle(day.id))
    assert "Failed, to try again: 0." in report.lines() and "Not tried yet: 3." in report.lines()
    login(day.organizer.email)
    page = client.get(f"/organize/days/{day.id}").text
    assert "not tried yet: the job is on its way" in page and "did not release the hold" not in page

    report = cancel(day, reason="")  # the job runs
    assert report.complete and report.not_tried == [] and len(report.released) == 2 and len(report.refunded) == 1
    assert_money_invariants(stripe_on)


@pytest.mark.parametrize("locale", ["ru", "kk", "ky", "en"])
def test_a_network_error_reaches_the_organizer_as_a_plain_sentence_in_their_language(
        day, stripe_on, app, client, login, caplog, monkeypatch, locale):
    authorised_order(stripe_on, market_day=day)
    # Stripe is down: nothing listens where it should, and the error names host, port and exception.
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")
    with caplog.at_level(logging.WARNING, logger="marketplace.payments.services"):
        report = cancel(day)
    assert len(report.failed) == 1
    assert "host='127.0.0.1', port=9" in caplog.text  # the detail is kept, in the log

    day.organizer.locale = locale
    db.session.commit()
    login(day.organizer.email)
    page = client.get(f"/organize/days/{day.id}", headers={"Accept-Language": locale}).text
    assert "127.0.0.1" not in page and "port=" not in page and "Error" not in page and "Connection" not in page
    with app.test_request_context(), force_locale(locale):
        sentence = gettext("the card service did not release the hold when asked; it is asked again")
    assert sentence in page
    if locale != "en":
        assert "the card service did not release" not in page
