"""Domain errors of ordering; each message is fit to show to the customer or producer."""
from __future__ import annotations

from marketplace.core.errors import DomainError, InvalidState, NotAllowed  # noqa: F401 (re-exported)


class OrderingClosed(DomainError):
    """The market day does not take orders now (not open yet, past the cutoff, or cancelled)."""


class ProductUnavailable(DomainError):
    """The product cannot be ordered for this market day at all."""


class OutOfStock(DomainError):
    """Less is left than asked for; `details` carry product_id, available_milli and unit."""


class SlotUnavailable(DomainError):
    """The pickup slot is full or belongs to another market day."""


class EmptyBasket(DomainError):
    pass


class PaymentMethodUnavailable(DomainError):
    pass
