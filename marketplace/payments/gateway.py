"""The one place that talks to Stripe (or localstripe: only `STRIPE_API_BASE` differs).

Every call carries an idempotency key made from our own ids, has a timeout, and turns
each of Stripe's error classes (`ERROR_KINDS`) into one of ours:

- `CardDeclined`: the customer's card said no.
- `GatewayRefused`: Stripe refused the request as it stands (e.g. cancelling an intent
  that is already cancelled); nothing happened, asking again gets the same answer.
- `GatewayBusy`: a call with the same idempotency key is still running, or the key was
  used with other parameters: ask Stripe what the intent is now instead of repeating.
- `GatewayUnavailable`: Stripe could not be reached, was slow or failed. When
  `outcome_unknown` the call may have happened ("succeeded upstream, answer lost"): it is
  retried later with the same key, and Stripe answers with what it did the first time.
- `GatewayMisconfigured` (a `GatewayUnavailable`): our keys are refused; an operator must act.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import stripe
from flask import current_app

log = logging.getLogger(__name__)


class GatewayError(Exception):
    def __init__(self, message: str = "", *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


class CardDeclined(GatewayError):
    """The card was refused; the message is Stripe's text for the customer."""


class GatewayRefused(GatewayError):
    """Stripe refused the request as it stands; nothing happened."""


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached or failed; `outcome_unknown` when the call may have happened."""

    outcome_unknown = False


class GatewayOutcomeUnknown(GatewayUnavailable):
    """The call was sent and no answer came back (timeout, dropped connection, Stripe 5xx)."""

    outcome_unknown = True


class GatewayBusy(GatewayUnavailable):
    """The same idempotency key is in use by a call in flight (or with other parameters)."""

    outcome_unknown = True


class GatewayMisconfigured(GatewayUnavailable):
    """Stripe refused our keys (authentication or permission): card payments are off until fixed."""


#: Every error class stripe-python raises, most specific first, and which of ours it becomes.
#: `stripe.StripeError` last catches any class a newer stripe-python adds.
ERROR_KINDS: tuple[tuple[type[stripe.StripeError], type[GatewayError]], ...] = (
    (stripe.CardError, CardDeclined),
    (stripe.IdempotencyError, GatewayBusy),
    (stripe.InvalidRequestError, GatewayRefused),
    (stripe.SignatureVerificationError, GatewayRefused),  # webhooks only (verify_webhook)
    (stripe.AuthenticationError, GatewayMisconfigured),
    (stripe.PermissionError, GatewayMisconfigured),
    (stripe.RateLimitError, GatewayUnavailable),  # refused before acting: nothing happened
    (stripe.APIConnectionError, GatewayOutcomeUnknown),
    (stripe.APIError, GatewayOutcomeUnknown),
)


def kind_of(exc: stripe.StripeError) -> type[GatewayError]:
    """Ours for one of Stripe's errors. Any other class (the v2 API's, or one a newer
    stripe-python adds) is told by its status: a 4xx refused the request, anything else
    may have acted. A 409 is a call with the same idempotency key still in flight (stripe-python
    raises it as an APIError for the v1 API)."""
    if getattr(exc, "http_status", None) == 409:
        return GatewayBusy
    for theirs, ours in ERROR_KINDS:
        if isinstance(exc, theirs):
            return ours
    status = getattr(exc, "http_status", None) or 0
    return GatewayRefused if 400 <= status < 500 and status not in (409, 429) else GatewayOutcomeUnknown


@dataclass(frozen=True)
class IntentState:
    """What we read back from a PaymentIntent."""

    id: str
    status: str
    amount: int
    client_secret: str | None
    error_message: str | None = None
    #: What Stripe has captured (a capture outside our hand-over, or one whose answer was lost,
    #: shows here); 0 while nothing is captured. See `_amount_captured`.
    amount_received: int = 0
    #: Until when the authorisation can be captured, when Stripe says (the card's hold window).
    capture_before: datetime | None = None
    metadata: dict = field(default_factory=dict)


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


def _capture_before(data: dict) -> datetime | None:
    charge = data.get("latest_charge")
    if not isinstance(charge, dict):
        return None
    card = ((charge.get("payment_method_details") or {}).get("card") or {})
    stamp = card.get("capture_before")
    return datetime.fromtimestamp(int(stamp), tz=UTC) if stamp else None


def _amount_captured(data: dict) -> int:
    """What the intent's card was charged: Stripe's `amount_received`, else its charge's
    `amount_captured`. localstripe reports neither and records a partial capture as a full
    capture plus a refund of the rest, so there it is the charge's amount less what it refunded
    (read before any refund of ours: we ask only while we know of no capture)."""
    if data.get("amount_received"):
        return int(data["amount_received"])
    charge = data.get("latest_charge")
    if not isinstance(charge, dict) or not charge.get("captured"):
        return 0
    if charge.get("amount_captured") is not None:
        return int(charge["amount_captured"])
    return max(0, int(charge.get("amount") or 0) - int(charge.get("amount_refunded") or 0))


def state_of(data: dict) -> IntentState:
    """An IntentState from a PaymentIntent as Stripe sends it (API answer or webhook object)."""
    error = data.get("last_payment_error") or {}
    return IntentState(id=str(data["id"]), status=str(data.get("status") or ""), amount=int(data.get("amount") or 0),
                       client_secret=data.get("client_secret"), error_message=error.get("message"),
                       amount_received=_amount_captured(data),
                       capture_before=_capture_before(data), metadata=dict(data.get("metadata") or {}))


def _state(intent) -> IntentState:
    return state_of(intent.to_dict())


def _call(function, *args, **kwargs):
    try:
        result = function(*args, **kwargs)
    except stripe.StripeError as exc:
        kind = kind_of(exc)
        if issubclass(kind, GatewayUnavailable) and kind is not GatewayBusy:
            mark_unavailable()
        else:
            mark_available()
        if kind is GatewayMisconfigured:
            log.error("Stripe refused our keys (%s): card payments are off until they are fixed", type(exc).__name__)
        message = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
        if kind is CardDeclined:
            message = getattr(exc, "user_message", None) or "Your card was declined."
        raise kind(message, code=getattr(exc, "code", None)) from exc
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
    intent = _call(client.v1.payment_intents.confirm, intent_id, {"expand": ["latest_charge"]},
                   {"idempotency_key": f"{idempotency_key}-confirm"})
    return _state(intent)


def retrieve(intent_id: str) -> IntentState:
    """The intent as Stripe has it now (with its charge, for `capture_before`)."""
    return _state(_call(_client().v1.payment_intents.retrieve, intent_id, {"expand": ["latest_charge"]}))


def capture(intent_id: str, amount_minor: int, idempotency_key: str) -> IntentState:
    intent = _call(_client().v1.payment_intents.capture, intent_id, {"amount_to_capture": amount_minor},
                   {"idempotency_key": idempotency_key})
    return _state(intent)


def cancel(intent_id: str, idempotency_key: str) -> IntentState:
    """Let the authorisation go (Stripe refuses an intent already captured or cancelled)."""
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
