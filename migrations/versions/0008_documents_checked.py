"""Certificates bound to the bytes that were checked: the SHA-256 of each stored document, and
the one a verifier's decision was made on.

Revision ID: 0008_documents_checked
Revises: 0007_money_never_kept
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_documents_checked"
down_revision = "0007_money_never_kept"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("sha256", sa.String(length=64), nullable=False, server_default=""))
    with op.batch_alter_table("certification") as batch:
        batch.add_column(sa.Column("decided_sha256", sa.String(length=64), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("certification") as batch:
        batch.drop_column("decided_sha256")
    with op.batch_alter_table("document") as batch:
        batch.drop_column("sha256")
