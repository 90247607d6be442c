"""Messages speak the language a person last used on the site when the account has no language
chosen: the page's language at the last login or checkout, kept apart from the choice itself.

Revision ID: 0018_user_last_locale
Revises: 0017_outbox_send_before
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_user_last_locale"
down_revision = "0017_outbox_send_before"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("user", sa.Column("last_locale", sa.String(8), nullable=True))


def downgrade():
    with op.batch_alter_table("user") as batch:
        batch.drop_column("last_locale")
