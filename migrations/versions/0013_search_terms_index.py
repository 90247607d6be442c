"""Search: a product's search column looked up by whole terms, on both databases.

The column holds terms (core.search_terms); a search asks whether it holds one of a word's
few alternatives, whole. PostgreSQL gets a GIN index over the column's terms as an array
(`string_to_array(search_text, ' ')`, the expression search.matching writes). SQLite gets
an FTS5 table of the column's three parts (name, description, the rest), a term a token
(`~` and `_` kept: group terms), with prefix indexes for a word still being typed, kept in
step by triggers; it replaces the trigram table of 0003, which answered substrings and was
slow for them (FTS5 phrase queries of trigrams over every term).

Revision ID: 0013_search_terms_index
Revises: 0012_role_changes
"""
from alembic import op

revision = "0013_search_terms_index"
down_revision = "0012_role_changes"
branch_labels = None
depends_on = None

# The three parts of a column " name terms | description terms || other terms ", in SQL.
_NAME = "substr({c}, 1, instr({c}, ' | '))"
_DESCRIPTION = "substr({c}, instr({c}, ' | ') + 3, instr({c}, ' || ') - instr({c}, ' | ') - 3)"
_OTHER = "substr({c}, instr({c}, ' || ') + 4)"


def _parts(column: str) -> str:
    return ", ".join(part.format(c=column) for part in (_NAME, _DESCRIPTION, _OTHER))


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_product_search_terms ON product USING gin (string_to_array(search_text, ' '))")
        return
    for trigger in ("product_search_insert", "product_search_delete", "product_search_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS product_search")
    op.execute("CREATE VIRTUAL TABLE product_terms USING fts5(name, description, other, "
               "tokenize=\"unicode61 remove_diacritics 0 tokenchars '~_'\", prefix='2 3')")
    insert_new = ("INSERT INTO product_terms (rowid, name, description, other) "
                  f"VALUES (new.id, {_parts('new.search_text')});")
    op.execute(f"CREATE TRIGGER product_terms_insert AFTER INSERT ON product BEGIN {insert_new} END")
    op.execute("CREATE TRIGGER product_terms_delete AFTER DELETE ON product BEGIN "
               "DELETE FROM product_terms WHERE rowid = old.id; END")
    op.execute("CREATE TRIGGER product_terms_update AFTER UPDATE OF search_text ON product BEGIN "
               f"DELETE FROM product_terms WHERE rowid = old.id; {insert_new} END")
    op.execute(f"INSERT INTO product_terms (rowid, name, description, other) SELECT id, {_parts('search_text')} "
               "FROM product")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_product_search_terms")
        return
    for trigger in ("product_terms_insert", "product_terms_delete", "product_terms_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS product_terms")
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
