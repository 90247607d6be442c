"""Signals the markets feature sends; higher features (orders, payments) listen.

Receivers run inside the sender's transaction and must be idempotent: the sender may
run again after a crash half way.
"""
from blinker import Namespace

_signals = Namespace()

#: sender=MarketDay (status already CANCELLED), actor=User | None.
market_day_cancelled = _signals.signal("market-day-cancelled")
