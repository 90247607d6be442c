"""Email delivery by the worker (lease, back-off, given up) and the once-per-slot claim of scheduled jobs.

Revision ID: 0005_service_worker
Revises: 0004_market_day_usage
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_service_worker"
down_revision = "0004_market_day_usage"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_email") as batch:
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_outbox_email_failed_at", ["failed_at"])
    op.create_table(
        "scheduled_run",
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("slot_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_run")),
    )


def downgrade():
    op.drop_table("scheduled_run")
    with op.batch_alter_table("outbox_email") as batch:
        batch.drop_index("ix_outbox_email_failed_at")
        batch.drop_column("failed_at")
        batch.drop_column("next_attempt_at")
        batch.drop_column("claimed_until")
