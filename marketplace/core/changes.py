"""What a write changed, in the terms the anonymous page cache needs (`web.pagecache` reads them).

A checkout's reservation changes what is left of a product, not the catalog: its statement
carries the execution option STOCK_ONLY and bumps the cache's stock version only. When a
reservation takes the last of something, what the catalog lists changes too ("can be
ordered now", counts, the product page's form): the service marks its transaction with
`mark_catalog_changed`, and the commit bumps the catalog version.
"""
from __future__ import annotations

#: Execution option of a statement that changes only what is left of products (reservations).
STOCK_ONLY = "aimak_stock_only"
#: Connection info key: this transaction changed something the catalog pages show.
CATALOG_CHANGED = "aimak_catalog_changed"
#: Connection info key: this transaction changed what is left of some product.
STOCK_CHANGED = "aimak_stock_changed"


def mark_catalog_changed(connection) -> None:
    """The transaction on this connection changes what the catalog lists (bumped at its commit)."""
    connection.info[CATALOG_CHANGED] = True
