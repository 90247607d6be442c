"""Signals the search feature sends; producers, who own the products' search columns, listen.

Receivers run inside the sender's transaction.
"""
from blinker import Namespace

_signals = Namespace()

#: sender=the app; words=list of normalised words whose products must be indexed again, or
#: None for every product; groups=group ids whose words join the word list when some
#: product belongs to the group; after_batch=a callable the receiver calls after each batch
#: (the task commits there, so a long reindex never holds the write lock for long).
#: The receiver returns the set of words it indexed (the word list keeps only these after
#: a full reindex).
reindex_requested = _signals.signal("search-reindex-requested")
