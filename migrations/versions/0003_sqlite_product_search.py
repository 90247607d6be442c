"""Trigram search index on SQLite: an FTS5 table over product.search_text.

PostgreSQL has its trigram GIN index (0002). SQLite's LIKE '%word%' reads every product;
FTS5's trigram tokenizer answers the same LIKE from an index. The table holds no text of
its own (content='product'): triggers keep its index in step with the product table.

Revision ID: 0003_sqlite_product_search
Revises: 0002_catalog_indexes
"""
from alembic import op

revision = '0003_sqlite_product_search'
down_revision = '0002_catalog_indexes'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    op.execute("CREATE VIRTUAL TABLE product_search USING fts5("
               "search_text, content='product', content_rowid='id', tokenize='trigram')")
    op.execute("CREATE TRIGGER product_search_insert AFTER INSERT ON product BEGIN "
               "INSERT INTO product_search (rowid, search_text) VALUES (new.id, new.search_text); END")
    op.execute("CREATE TRIGGER product_search_delete AFTER DELETE ON product BEGIN "
               "INSERT INTO product_search (product_search, rowid, search_text) "
               "VALUES ('delete', old.id, old.search_text); END")
    op.execute("CREATE TRIGGER product_search_update AFTER UPDATE OF search_text ON product BEGIN "
               "INSERT INTO product_search (product_search, rowid, search_text) "
               "VALUES ('delete', old.id, old.search_text); "
               "INSERT INTO product_search (rowid, search_text) VALUES (new.id, new.search_text); END")
    op.execute("INSERT INTO product_search (product_search) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    for trigger in ('product_search_insert', 'product_search_delete', 'product_search_update'):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS product_search")
