"""Baskets kept on the server: the session holds only a random basket key, and each request
changes only the lines it changed, so two tabs adding at once both keep what they added (the
signed cookie that held the whole basket kept whichever answer came last).

Revision ID: 0019_basket_lines
Revises: 0018_user_last_locale
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_basket_lines"
down_revision = "0018_user_last_locale"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "basket_line",
        sa.Column("basket_key", sa.String(length=64), nullable=False),
        sa.Column("market_day_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity_milli", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity_milli > 0", name=op.f("ck_basket_line_quantity_positive")),
        sa.ForeignKeyConstraint(["market_day_id"], ["market_day.id"], name=op.f("fk_basket_line_market_day_id_market_day"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_basket_line_product_id_product"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("basket_key", "market_day_id", "product_id", name=op.f("pk_basket_line")),
    )
    op.create_index("ix_basket_line_product_id", "basket_line", ["product_id"])
    op.create_index("ix_basket_line_updated_at", "basket_line", ["updated_at"])


def downgrade():
    op.drop_index("ix_basket_line_updated_at", table_name="basket_line")
    op.drop_index("ix_basket_line_product_id", table_name="basket_line")
    op.drop_table("basket_line")
