"""Reminders that come too late are not sent: outbox messages (email, Telegram) get a "send
before" time (a day's cutoff, for "order by" and "ordering is open"), a mark for those that
expired or were withdrawn (the follower ordered meanwhile), and the notice they were written for.

Revision ID: 0017_outbox_send_before
Revises: 0016_user_search_key
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_outbox_send_before"
down_revision = "0016_user_search_key"
branch_labels = None
depends_on = None

_OUTBOXES = ("outbox_email", "outbox_telegram")


def upgrade():
    for table in _OUTBOXES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("send_before", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("notice_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(f"fk_{table}_notice_id_message_notice", "message_notice", ["notice_id"], ["id"],
                                     ondelete="SET NULL")
            batch.create_index(f"ix_{table}_notice_id", ["notice_id"])


def downgrade():
    for table in _OUTBOXES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_notice_id")
            batch.drop_constraint(f"fk_{table}_notice_id_message_notice", type_="foreignkey")
            batch.drop_column("notice_id")
            batch.drop_column("expired_at")
            batch.drop_column("send_before")
