"""Search: every search is now answered by whole terms (a word being typed becomes the
words it begins, from the search word list), so the substring indexes go; and PostgreSQL
is told what splitting a search column costs.

PostgreSQL: the trigram GIN index on product.search_text (0002), which answered LIKE
'%word%', is no longer read by any query and only slowed every product write. The terms
index of 0013 is made again on `aimak_search_terms(search_text)`: the same array, from a
function declared costly (and kept from being inlined by its SET clause), so the planner
never prefers reading and splitting every product's column to the index — it did for
words held by a tenth of the products, in parallel, at ten times the time. And the product
table is read without parallel workers: starting them cost a search more (42 → 21 ms for
"картоп" at country scale) than they saved anywhere in the catalog (page 1, page 1000 and
the filtered pages within a few per cent either way, bench/search_latency.py and the
catalog's own pages measured on 50,000 products).
SQLite: the terms table of 0013 is made again without its prefix indexes (unused now).

Revision ID: 0014_search_terms_only
Revises: 0013_search_terms_index
"""
from alembic import op

revision = "0014_search_terms_only"
down_revision = "0013_search_terms_index"
branch_labels = None
depends_on = None

_PARTS = ("substr({c}, 1, instr({c}, ' | ')), "
          "substr({c}, instr({c}, ' | ') + 3, instr({c}, ' || ') - instr({c}, ' | ') - 3), "
          "substr({c}, instr({c}, ' || ') + 4)")


def _terms_table(options: str) -> None:
    for trigger in ("product_terms_insert", "product_terms_delete", "product_terms_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS product_terms")
    op.execute("CREATE VIRTUAL TABLE product_terms USING fts5(name, description, other, "
               f"tokenize=\"unicode61 remove_diacritics 0 tokenchars '~_'\"{options})")
    insert_new = ("INSERT INTO product_terms (rowid, name, description, other) "
                  f"VALUES (new.id, {_PARTS.format(c='new.search_text')});")
    op.execute(f"CREATE TRIGGER product_terms_insert AFTER INSERT ON product BEGIN {insert_new} END")
    op.execute("CREATE TRIGGER product_terms_delete AFTER DELETE ON product BEGIN "
               "DELETE FROM product_terms WHERE rowid = old.id; END")
    op.execute("CREATE TRIGGER product_terms_update AFTER UPDATE OF search_text ON product BEGIN "
               f"DELETE FROM product_terms WHERE rowid = old.id; {insert_new} END")
    op.execute(f"INSERT INTO product_terms (rowid, name, description, other) "
               f"SELECT id, {_PARTS.format(c='search_text')} FROM product")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_product_search_text_trgm")
        op.execute("DROP INDEX IF EXISTS ix_product_search_terms")
        op.execute("CREATE FUNCTION aimak_search_terms(text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT "
                   "PARALLEL SAFE COST 100 SET search_path = pg_catalog AS $$ SELECT string_to_array($1, ' ') $$")
        op.execute("CREATE INDEX ix_product_search_terms ON product USING gin (aimak_search_terms(search_text))")
        op.execute("ALTER TABLE product SET (parallel_workers = 0)")
        return
    _terms_table("")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE product RESET (parallel_workers)")
        op.execute("DROP INDEX IF EXISTS ix_product_search_terms")
        op.execute("DROP FUNCTION IF EXISTS aimak_search_terms(text)")
        op.execute("CREATE INDEX ix_product_search_terms ON product USING gin (string_to_array(search_text, ' '))")
        op.execute("CREATE INDEX ix_product_search_text_trgm ON product USING gin (search_text gin_trgm_ops)")
        return
    _terms_table(", prefix='2 3'")
