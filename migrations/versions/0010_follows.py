"""Follows: a customer follows a market or a producer, and keeps favourite products.

Revision ID: 0010_follows
Revises: 0009_groups
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_follows"
down_revision = "0009_groups"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "follow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=True),
        sa.Column("producer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(market_id IS NULL) <> (producer_id IS NULL)", name=op.f("ck_follow_one_target")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_follow_user_id_user"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["market_id"], ["market.id"], name=op.f("fk_follow_market_id_market"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["producer_id"], ["producer.id"], name=op.f("fk_follow_producer_id_producer"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow")),
        sa.UniqueConstraint("user_id", "market_id", name=op.f("uq_follow_user_id_market_id")),
        sa.UniqueConstraint("user_id", "producer_id", name=op.f("uq_follow_user_id_producer_id")),
    )
    op.create_index("ix_follow_market_id", "follow", ["market_id"])
    op.create_index("ix_follow_producer_id", "follow", ["producer_id"])
    op.create_table(
        "favourite_product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_favourite_product_user_id_user"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_favourite_product_product_id_product"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_favourite_product")),
        sa.UniqueConstraint("user_id", "product_id", name=op.f("uq_favourite_product_user_id_product_id")),
    )
    op.create_index("ix_favourite_product_product_id", "favourite_product", ["product_id"])


def downgrade():
    op.drop_index("ix_favourite_product_product_id", table_name="favourite_product")
    op.drop_table("favourite_product")
    op.drop_index("ix_follow_producer_id", table_name="follow")
    op.drop_index("ix_follow_market_id", table_name="follow")
    op.drop_table("follow")
