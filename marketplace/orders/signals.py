"""Signals the orders feature sends; payments and trust listen (they import orders, not the reverse).

Receivers run inside the sender's transaction; raising aborts the transition.
"""
from blinker import Namespace

_signals = Namespace()

#: sender=Order just placed (status pending_payment for card, confirmed for cash).
order_placed = _signals.signal("order-placed")
#: sender=Order whose customer was just told it is confirmed (the worker's confirm-orders, after
#: checkout's answer: a receiver here costs the checkout rush nothing); alerts withdraws reminders.
order_confirmed = _signals.signal("order-confirmed")
#: sender=Order now cancelled or expired; card authorisations must be released.
order_cancelled = _signals.signal("order-cancelled")
#: sender=Order being handed over, amount_minor=what the customer pays; trust invites a
#: review and refreshes the producer's figures. (The pickup point captures a card itself.)
order_handing_over = _signals.signal("order-handing-over")
#: sender=Order marked no-show; the card authorisation is released.
order_no_show = _signals.signal("order-no-show")
#: sender=MarketDay, customer=User | None; a receiver returns a
#: `marketplace.orders.services.PaymentChoice` (offered, or with the reason it is not) or
#: None. Payments answers with the card here, so checkout never imports payments.
payment_methods_requested = _signals.signal("payment-methods-requested")
