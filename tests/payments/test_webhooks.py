"""Webhooks from the attacker's side and from an unreliable network."""
import hashlib
import hmac
import json
import time

from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.orders.models import Order, OrderStatus
from marketplace.payments import gateway
from marketplace.payments import services as payments
from marketplace.payments.models import Payment, PaymentStatus, WebhookEvent
from tests.payments.helpers import card_order
from tests.stripe_server import WEBHOOK_SECRET


def signed(event: dict, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> tuple[bytes, dict]:
    payload = json.dumps(event).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), b"%d.%s" % (timestamp, payload), hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={timestamp},v1={signature}", "Content-Type": "application/json"}


def intent_event(event_id: str, event_type: str, intent_id: str, status: str) -> dict:
    return {"id": event_id, "type": event_type, "object": "event",
            "data": {"object": {"id": intent_id, "object": "payment_intent", "status": status}}}


def post(client, event, **kwargs):
    payload, headers = signed(event, **kwargs)
    return client.post("/payments/webhook", data=payload, headers=headers)


def test_an_authorisation_webhook_confirms_the_order_once(client, ctx, stripe_on):
    order = card_order()
    intent_id = payments.current_payment(order).provider_intent_id
    event = intent_event("evt_1", "payment_intent.amount_capturable_updated", intent_id, "requires_capture")
    for _ in range(3):  # Stripe retries; the network duplicates
        assert post(client, event).status_code == 200
    assert db.session.get(Order, order.id).status == OrderStatus.CONFIRMED
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 1
    confirmations = [e for e in _emails() if e.template.startswith("order_confirm")]
    assert len(confirmations) == 1


def _emails():
    from marketplace.notifications.models import OutboxEmail

    return list(db.session.scalars(select(OutboxEmail)))


def test_a_forged_signature_is_refused_and_changes_nothing(client, ctx, stripe_on):
    order = card_order()
    intent_id = payments.current_payment(order).provider_intent_id
    event = intent_event("evt_forged", "payment_intent.amount_capturable_updated", intent_id, "requires_capture")
    assert post(client, event, secret="whsec_attacker").status_code == 400
    payload, headers = signed(event)
    tampered = payload.replace(b"requires_capture", b"succeeded")
    assert client.post("/payments/webhook", data=tampered, headers=headers).status_code == 400
    assert client.post("/payments/webhook", data=payload).status_code == 400  # no signature at all
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 0


def test_a_stale_event_is_refused(client, ctx, stripe_on):
    order = card_order()
    intent_id = payments.current_payment(order).provider_intent_id
    event = intent_event("evt_old", "payment_intent.amount_capturable_updated", intent_id, "requires_capture")
    assert post(client, event, timestamp=int(time.time()) - 3600).status_code == 400
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT


def test_events_out_of_order_never_move_a_payment_backwards(client, ctx, stripe_on):
    order = card_order()
    payment = payments.current_payment(order)
    intent_id = payment.provider_intent_id
    post(client, intent_event("evt_a", "payment_intent.amount_capturable_updated", intent_id, "requires_capture"))
    post(client, intent_event("evt_b", "payment_intent.canceled", intent_id, "canceled"))
    post(client, intent_event("evt_c", "payment_intent.amount_capturable_updated", intent_id, "requires_capture"))
    assert db.session.get(Payment, payment.id).status == PaymentStatus.CANCELED


def test_a_payment_failed_event_releases_the_reservation(client, ctx, stripe_on):
    order = card_order(by_weight=False, quantity_milli=2000)
    intent_id = payments.current_payment(order).provider_intent_id
    event = intent_event("evt_fail", "payment_intent.payment_failed", intent_id, "requires_payment_method")
    event["data"]["object"]["last_payment_error"] = {"message": "Your card has insufficient funds."}
    assert post(client, event).status_code == 200
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.EXPIRED
    assert order.lines[0].offer.reserved_milli == 0


def test_unknown_events_and_garbage_are_answered_without_a_500(client, ctx, stripe_on):
    assert post(client, {"id": "evt_x", "type": "customer.created", "data": {"object": {}}}).status_code == 200
    # An intent we do not know is not an error either: it is kept for later and Stripe asked to retry.
    payload, headers = signed({"id": "evt_y", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_unknown"}}})
    assert client.post("/payments/webhook", data=payload, headers=headers).status_code == 409
    garbage, headers = b"not json at all", signed({})[1]
    assert client.post("/payments/webhook", data=garbage, headers=headers).status_code == 400


def test_the_webhook_needs_no_csrf_token_but_everything_else_does(database_url, tmp_path, stripe_on):
    from marketplace.cli import create_app

    strict = create_app({"BASE_CONFIG": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                         "MEDIA_ROOT": str(tmp_path), "WTF_CSRF_ENABLED": True, **stripe_on.config()})
    client = strict.test_client()
    payload, headers = signed({"id": "evt_csrf", "type": "customer.created", "data": {"object": {}}})
    assert client.post("/payments/webhook", data=payload, headers=headers).status_code == 200
    assert client.post("/orders/1/pay", data={"token": "tok_x"}).status_code == 400


def test_an_early_event_for_an_intent_not_recorded_yet_is_kept_and_applied_later(client, ctx, stripe_on):
    """Case 6: not acknowledged as processed (Stripe sends it again), and the reconciliation
    applies it as soon as the PaymentIntent is ours."""
    order = card_order(by_weight=False)
    payment = payments.current_payment(order)
    intent_id = payment.provider_intent_id
    # Our record of the intent is not committed yet (the answer to its creation is on its way).
    payment.provider_intent_id = None
    db.session.commit()
    gateway.confirm_with_card_token(intent_id, stripe_on.card_token(), "x@example.test", idempotency_key="early")
    event = intent_event("evt_early", "payment_intent.amount_capturable_updated", intent_id, "requires_capture")

    assert post(client, event).status_code == 409  # Stripe will send it again
    stored = db.session.scalar(select(WebhookEvent).where(WebhookEvent.provider_event_id == "evt_early"))
    assert stored is not None and stored.processed_at is None
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING_PAYMENT

    db.session.get(Payment, payment.id).provider_intent_id = intent_id  # our record arrives
    db.session.commit()
    counts = payments.reconcile()
    assert counts["events"] == 1 or counts["changed"] == 1
    assert db.session.get(Order, order.id).status == OrderStatus.CONFIRMED
    assert db.session.scalar(select(WebhookEvent.processed_at).where(
        WebhookEvent.provider_event_id == "evt_early")) is not None
    # Stripe's next delivery of the same event changes nothing more.
    assert post(client, event).status_code == 200
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 1


def test_an_event_whose_intent_creation_answer_was_lost_is_known_by_its_metadata(client, ctx, stripe_on):
    order = card_order(by_weight=False)
    payment = payments.current_payment(order)
    intent_id = payment.provider_intent_id
    payment.provider_intent_id = None  # Stripe created it; the answer never reached us
    db.session.commit()
    event = intent_event("evt_meta", "payment_intent.amount_capturable_updated", intent_id, "requires_capture")
    event["data"]["object"]["metadata"] = {"order_id": str(order.id), "payment_id": str(payment.id)}
    assert post(client, event).status_code == 200
    assert db.session.get(Payment, payment.id).provider_intent_id == intent_id
    assert db.session.get(Order, order.id).status == OrderStatus.CONFIRMED
    # Metadata naming another order's payment is not trusted to adopt anything.
    other = card_order(by_weight=False)
    other_payment = payments.current_payment(other)
    other_payment.provider_intent_id = None
    db.session.commit()
    forged = intent_event("evt_meta2", "payment_intent.amount_capturable_updated", "pi_someone_else",
                          "requires_capture")
    forged["data"]["object"]["metadata"] = {"order_id": str(order.id), "payment_id": str(other_payment.id)}
    assert post(client, forged).status_code == 409
    assert db.session.get(Payment, other_payment.id).provider_intent_id is None

