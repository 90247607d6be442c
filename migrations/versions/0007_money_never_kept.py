"""Money never kept, lost or taken twice: card holds with their capture deadline, refunds under
an idempotency key with a status (pending until Stripe answers), each money call to Stripe
recorded (the cancellation report), and card orders whose hold lapsed marked for the pickup point.

Revision ID: 0007_money_never_kept
Revises: 0006_search_vocabulary
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_money_never_kept"
down_revision = "0006_search_vocabulary"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payment") as batch:
        batch.add_column(sa.Column("authorized_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("capture_before", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_payment_capture_before", ["capture_before"])
    # Payments that were held: when is not known any more; their last change is the best guess.
    op.execute("UPDATE payment SET authorized_at = updated_at "
               "WHERE status IN ('authorized', 'captured', 'partially_refunded', 'refunded')")

    with op.batch_alter_table("payment_refund") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("status", sa.Enum("pending", "succeeded", "failed", name="refundstatus",
                                                     native_enum=False, length=20),
                                   nullable=False, server_default="succeeded"))
        batch.create_unique_constraint("uq_payment_refund_idempotency_key", ["idempotency_key"])

    op.create_table(
        "payment_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("operation", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], name="fk_payment_attempt_payment_id_payment"),
        sa.PrimaryKeyConstraint("id", name="pk_payment_attempt"),
    )
    with op.batch_alter_table("payment_attempt") as batch:
        batch.create_index("ix_payment_attempt_payment_id", ["payment_id"])

    with op.batch_alter_table("order") as batch:
        batch.add_column(sa.Column("card_lapsed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("order") as batch:
        batch.drop_column("card_lapsed_at")
    with op.batch_alter_table("payment_attempt") as batch:
        batch.drop_index("ix_payment_attempt_payment_id")
    op.drop_table("payment_attempt")
    with op.batch_alter_table("payment_refund") as batch:
        batch.drop_constraint("uq_payment_refund_idempotency_key", type_="unique")
        batch.drop_column("status")
        batch.drop_column("idempotency_key")
    with op.batch_alter_table("payment") as batch:
        batch.drop_index("ix_payment_capture_before")
        batch.drop_column("capture_before")
        batch.drop_column("authorized_at")
