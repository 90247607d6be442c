"""Messages by channel: preferences per kind and channel, notices told once, Telegram links and
outbox, the one-click unsubscribe header of emails, producers' news for their followers.

Revision ID: 0011_messages_by_channel
Revises: 0010_follows
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_messages_by_channel"
down_revision = "0010_follows"
branch_labels = None
depends_on = None


def _user_fk(table: str):
    return sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f(f"fk_{table}_user_id_user"), ondelete="CASCADE")


def upgrade():
    with op.batch_alter_table("outbox_email") as batch:
        batch.add_column(sa.Column("list_unsubscribe", sa.String(500), nullable=False, server_default=""))
    op.create_table(
        "message_preference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _user_fk("message_preference"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_preference")),
        sa.UniqueConstraint("user_id", "kind", "channel", name=op.f("uq_message_preference_user_id_kind_channel")),
    )
    op.create_table(
        "message_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("occasion", sa.String(80), nullable=False),
        sa.Column("channels", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _user_fk("message_notice"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_notice")),
        sa.UniqueConstraint("user_id", "kind", "occasion", name=op.f("uq_message_notice_user_id_kind_occasion")),
    )
    op.create_index("ix_message_notice_kind_occasion", "message_notice", ["kind", "occasion"])
    op.create_index("ix_message_notice_created_at", "message_notice", ["created_at"])
    op.create_table(
        "telegram_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        _user_fk("telegram_link"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_link")),
        sa.UniqueConstraint("user_id", name=op.f("uq_telegram_link_user_id")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_telegram_link_chat_id")),
    )
    op.create_table(
        "telegram_link_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("telegram_link_token"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_link_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_telegram_link_token_token_hash")),
    )
    op.create_index("ix_telegram_link_token_user_id", "telegram_link_token", ["user_id"])
    op.create_table(
        "outbox_telegram",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("template", sa.String(80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("button_text", sa.String(64), nullable=False),
        sa.Column("button_url", sa.String(500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("outbox_telegram"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_telegram")),
    )
    op.create_index("ix_outbox_telegram_user_id", "outbox_telegram", ["user_id"])
    op.create_index("ix_outbox_telegram_chat_id", "outbox_telegram", ["chat_id"])
    op.create_index("ix_outbox_telegram_sent_at", "outbox_telegram", ["sent_at"])
    op.create_index("ix_outbox_telegram_failed_at", "outbox_telegram", ["failed_at"])
    op.create_table(
        "producer_news",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.Column("market_day_id", sa.Integer(), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["producer_id"], ["producer.id"], name=op.f("fk_producer_news_producer_id_producer"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["market_day_id"], ["market_day.id"],
                                name=op.f("fk_producer_news_market_day_id_market_day"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_producer_news")),
        sa.UniqueConstraint("producer_id", "market_day_id", name=op.f("uq_producer_news_producer_id_market_day_id")),
    )
    op.create_index("ix_producer_news_told_at", "producer_news", ["told_at"])
    op.create_index("ix_producer_news_market_day_id", "producer_news", ["market_day_id"])


def downgrade():
    op.drop_table("producer_news")
    op.drop_table("outbox_telegram")
    op.drop_table("telegram_link_token")
    op.drop_table("telegram_link")
    op.drop_table("message_notice")
    op.drop_table("message_preference")
    with op.batch_alter_table("outbox_email") as batch:
        batch.drop_column("list_unsubscribe")
