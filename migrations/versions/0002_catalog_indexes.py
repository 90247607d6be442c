"""Catalog indexes for country scale: the list's count and page ids from one covering
index, the price sort within a currency, and trigram search on PostgreSQL.

Revision ID: 0002_catalog_indexes
Revises: 0001_initial
"""
from alembic import op

revision = '0002_catalog_indexes'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index('ix_product_producer_id')
        batch_op.drop_index('ix_product_active_price')
        batch_op.create_index('ix_product_producer_active_created', ['producer_id', 'active', 'created_at'], unique=False)
        batch_op.create_index('ix_product_active_currency_price', ['active', 'currency', 'price_minor'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute('CREATE INDEX ix_product_search_text_trgm ON product USING gin (search_text gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_product_search_text_trgm')
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index('ix_product_active_currency_price')
        batch_op.drop_index('ix_product_producer_active_created')
        batch_op.create_index('ix_product_active_price', ['active', 'price_minor'], unique=False)
        batch_op.create_index('ix_product_producer_id', ['producer_id'], unique=False)
