"""Signals other features listen to (accounts is the lowest layer and imports none of them)."""
from blinker import Namespace

_signals = Namespace()

#: Sent inside the registration transaction: sender=User, data=the registration form's data.
user_registered = _signals.signal("user-registered")
