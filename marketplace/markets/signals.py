"""Signals the markets feature sends; higher features (orders, payments) listen.

Receivers run inside the sender's transaction and must be idempotent: the sender may
run again after a crash half way.
"""
from blinker import Namespace

_signals = Namespace()

#: sender=MarketDay (status already CANCELLED), actor=User | None.
market_day_cancelled = _signals.signal("market-day-cancelled")

#: sender=MarketDay (cancelled, and committed), market_day_id, actor=User | None, wait=bool. Sent after the
#: cancelling transaction commits, and again by every rerun (`finish_cancellation`): receivers
#: finish what cannot be one transaction with it (payments releases card holds and refunds
#: captures, one order per commit, as a queued job unless the caller waits) and, when the
#: caller waits, return a report with `complete` and `lines()`. Unless it waits, the sender's
#: session has no transaction open (a job may run at once): use `market_day_id`, not the object.
market_day_cancel_committed = _signals.signal("market-day-cancel-committed")

#: sender=MarketDay about to be deleted (no order holds it), inside the deleting savepoint.
#: Producers remove what was planned for it but not reserved; stock still reserved (a
#: checkout in flight) keeps the day through its foreign key, and the deletion is refused.
market_day_deleting = _signals.signal("market-day-deleting")
