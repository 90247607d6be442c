"""Signals the markets feature sends; higher features (orders, payments) listen.

Receivers run inside the sender's transaction and must be idempotent: the sender may
run again after a crash half way.
"""
from blinker import Namespace

_signals = Namespace()

#: sender=MarketDay (status already CANCELLED), actor=User | None.
market_day_cancelled = _signals.signal("market-day-cancelled")

#: sender=MarketDay about to be deleted (no order holds it), inside the deleting savepoint.
#: Producers remove what was planned for it but not reserved; stock still reserved (a
#: checkout in flight) keeps the day through its foreign key, and the deletion is refused.
market_day_deleting = _signals.signal("market-day-deleting")
