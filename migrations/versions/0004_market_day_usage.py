"""Markets tell a used slot or day without asking orders: pickup_slot.used.

Markets sit below orders, so "does this day have orders?" cannot be a query of the order
table from markets. Checkout marks the slot it reserves (`used`, never cleared).

Revision ID: 0004_market_day_usage
Revises: 0003_sqlite_product_search
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_market_day_usage'
down_revision = '0003_sqlite_product_search'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pickup_slot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('used', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute('UPDATE pickup_slot SET used = true WHERE id IN (SELECT pickup_slot_id FROM "order")')


def downgrade():
    with op.batch_alter_table('pickup_slot', schema=None) as batch_op:
        batch_op.drop_column('used')
