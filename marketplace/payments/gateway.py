"""The one place that talks to Stripe (or localstripe: only `STRIPE_API_BASE` differs).

Every call carries an idempotency key made from our own ids, has a timeout, and turns
Stripe's errors into two kinds: `CardDeclined` (the customer's card said no) and
`GatewayUnavailable` (Stripe unreachable, slow or erroring: try again or pay cash).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import stripe
from flask import current_app


class GatewayError(Exception):
    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


class CardDeclined(GatewayError):
    """The card was refused; the message is Stripe's text for the customer."""


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached or failed; nothing is known to have happened."""


@dataclass(frozen=True)
class IntentState:
    """What we read back from a PaymentIntent."""

    id: str
    status: str
    amount: int
    client_secret: str | None
    error_message: str | None = None


#: After Stripe fails to answer, checkout stops offering the card for a minute instead of
#: letting every customer wait for the same timeout (per process; good enough to degrade).
UNAVAILABLE_FOR_SECONDS = 60
_unavailable_until = 0.0


def mark_unavailable() -> None:
    global _unavailable_until
    _unavailable_until = time.monotonic() + UNAVAILABLE_FOR_SECONDS


def mark_available() -> None:
    global _unavailable_until
    _unavailable_until = 0.0


def seems_available() -> bool:
    return time.monotonic() >= _unavailable_until


def is_configured() -> bool:
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_PUBLISHABLE_KEY"))


def _client() -> stripe.StripeClient:
    config = current_app.config
    timeout = config.get("STRIPE_TIMEOUT_SECONDS", 10)
    kwargs = {
        "http_client": stripe.RequestsClient(timeout=timeout),
        "max_network_retries": 0,  # we retry ourselves, with the same idempotency key
    }
    if config.get("STRIPE_API_BASE"):
        kwargs["base_addresses"] = {"api": config["STRIPE_API_BASE"].rstrip("/")}
    return stripe.StripeClient(config["STRIPE_SECRET_KEY"], **kwargs)


def _state(intent) -> IntentState:
    data = intent.to_dict()
    error = data.get("last_payment_error") or {}
    return IntentState(id=data["id"], status=data["status"], amount=int(data["amount"]),
                       client_secret=data.get("client_secret"), error_message=error.get("message"))


def _call(function, *args, **kwargs):
    try:
        result = function(*args, **kwargs)
    except stripe.CardError as exc:
        mark_available()
        raise CardDeclined(exc.user_message or "Your card was declined.") from exc
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError,
            stripe.AuthenticationError) as exc:
        mark_unavailable()
        raise GatewayUnavailable(str(exc)) from exc
    except stripe.InvalidRequestError as exc:
        # Stripe refused the request as it stands (e.g. capture of a canceled intent).
        raise GatewayError(exc.user_message or str(exc)) from exc
    mark_available()
    return result


def create_intent(amount_minor: int, currency: str, idempotency_key: str, metadata: dict) -> IntentState:
    """An uncaptured card authorisation request (capture_method=manual)."""
    intent = _call(_client().v1.payment_intents.create,
                   {"amount": amount_minor, "currency": currency.lower(), "capture_method": "manual",
                    "metadata": {k: str(v) for k, v in metadata.items()}},
                   {"idempotency_key": idempotency_key})
    return _state(intent)


def confirm_with_card_token(intent_id: str, token: str, email: str, idempotency_key: str) -> IntentState:
    """Attach the card the browser tokenised with Stripe.js and ask for the authorisation."""
    client = _client()
    customer = _call(client.v1.customers.create, {"source": token, "email": email},
                     {"idempotency_key": f"{idempotency_key}-customer"})
    _call(client.v1.payment_intents.update, intent_id,
          {"customer": customer.id, "payment_method": customer.default_source},
          {"idempotency_key": f"{idempotency_key}-attach"})
    intent = _call(client.v1.payment_intents.confirm, intent_id, {},
                   {"idempotency_key": f"{idempotency_key}-confirm"})
    return _state(intent)


def retrieve(intent_id: str) -> IntentState:
    return _state(_call(_client().v1.payment_intents.retrieve, intent_id))


def capture(intent_id: str, amount_minor: int, idempotency_key: str) -> IntentState:
    intent = _call(_client().v1.payment_intents.capture, intent_id, {"amount_to_capture": amount_minor},
                   {"idempotency_key": idempotency_key})
    return _state(intent)


def cancel(intent_id: str, idempotency_key: str) -> IntentState:
    intent = _call(_client().v1.payment_intents.cancel, intent_id, {},
                   {"idempotency_key": idempotency_key})
    return _state(intent)


def refund(intent_id: str, amount_minor: int, idempotency_key: str) -> str:
    """Refund part of a captured payment; returns the provider's refund id."""
    result = _call(_client().v1.refunds.create, {"payment_intent": intent_id, "amount": amount_minor},
                   {"idempotency_key": idempotency_key})
    return result.id


def verify_webhook(payload: bytes, signature: str) -> dict:
    """The event as a dict, or ValueError when the signature is wrong or stale."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET") or ""
    if not secret or not signature:
        raise ValueError("missing signature or secret")
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, secret,
                                              tolerance=300)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise ValueError("bad signature") from exc

    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(event, dict) or "id" not in event or "type" not in event:
        raise ValueError("not an event")
    return event
