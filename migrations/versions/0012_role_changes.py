"""Role changes recorded: who granted or took away which role, and when (the admin's user page).

Revision ID: 0012_role_changes
Revises: 0011_messages_by_channel
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_role_changes"
down_revision = "0011_messages_by_channel"
branch_labels = None
depends_on = None

ROLES = sa.Enum("customer", "producer", "organizer", "admin", name="role", native_enum=False, length=20,
                create_constraint=False)


def upgrade():
    op.create_table(
        "role_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", ROLES, nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_role_change_user_id_user"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["changed_by_id"], ["user.id"], name=op.f("fk_role_change_changed_by_id_user"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_change")),
    )
    op.create_index(op.f("ix_role_change_user_id"), "role_change", ["user_id"])


def downgrade():
    op.drop_index(op.f("ix_role_change_user_id"), table_name="role_change")
    op.drop_table("role_change")
