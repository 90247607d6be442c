"""Signals the producers feature sends; higher features (alerts) listen.

Receivers run inside the sender's transaction (before the view commits).
"""
from blinker import Namespace

_signals = Namespace()

#: sender=Producer who added products or stock: market_day_ids=the days whose offers were
#: created or raised, or None for standing stock (every coming day of the producer's markets).
#: Alerts tells the producer's followers once the day's ordering is open.
stock_added = _signals.signal("stock-added")
