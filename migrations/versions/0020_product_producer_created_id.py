"""The product index by producer also holds the id: the list sorted by trust (the default)
walks producers in trust order and reads each one's active products, newest first, from
this index alone, without visiting a product row (page 1000 on PostgreSQL: ~40 -> ~8 ms;
before, PostgreSQL read every product and sorted 48,000 rows for each deep page).

It replaces ix_product_producer_active_created, which it covers (the list's count reads it
the same way). On SQLite an index already ends with the rowid (the id), so only the name
and the declared columns change there.

Built inside the migration's transaction, not CONCURRENTLY: the release step runs on every
host at once, one migrating while the others wait on the migration lock (migrations/env.py, a
PostgreSQL advisory lock), and a concurrent build waits for every open transaction — the
waiting hosts' included — so two hosts deadlocked (tests/deployment/test_two_hosts.py). The
build blocks writes to product for as long as it takes: under a second at 50,000 products.

Revision ID: 0020_product_producer_created_id
Revises: 0019_basket_lines
"""
from alembic import op

revision = "0020_product_producer_created_id"
down_revision = "0019_basket_lines"
branch_labels = None
depends_on = None

NEW = "ix_product_producer_active_created_id"
OLD = "ix_product_producer_active_created"


def upgrade():
    _replace(drop=OLD, create=NEW, columns=["producer_id", "active", "created_at", "id"])


def downgrade():
    _replace(drop=NEW, create=OLD, columns=["producer_id", "active", "created_at"])


def _replace(drop: str, create: str, columns: list[str]):
    """Create the index `create` on product, then drop `drop` (the list always has one of them)."""
    op.create_index(create, "product", columns)
    op.drop_index(drop, table_name="product")
