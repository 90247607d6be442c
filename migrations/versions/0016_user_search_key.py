"""The admin's user search compares names by sound: a column of the sound keys of each
user's name and email words (core.translit.sound_keys), so "гулмира" typed on a Russian
keyboard and "gulmira" find "Гүлмира", "sadykov" finds "Садыков". Filled here for the users
there are; the model keeps it whenever a name or email is set.

Revision ID: 0016_user_search_key
Revises: 0015_product_orderable_until
"""
import sqlalchemy as sa
from alembic import op

from marketplace.core.translit import sound_keys

revision = "0016_user_search_key"
down_revision = "0015_product_orderable_until"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade():
    op.add_column("user", sa.Column("search_key", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    users = sa.table("user", sa.column("id", sa.Integer), sa.column("name", sa.String),
                     sa.column("email", sa.String), sa.column("search_key", sa.Text))
    last = 0
    while True:
        rows = bind.execute(sa.select(users.c.id, users.c.name, users.c.email).where(users.c.id > last)
                            .order_by(users.c.id).limit(_BATCH)).all()
        if not rows:
            break
        bind.execute(users.update().where(users.c.id == sa.bindparam("user_id"))
                     .values(search_key=sa.bindparam("key")),
                     [{"user_id": row.id, "key": sound_keys(f"{row.name or ''} {row.email or ''}")} for row in rows])
        last = rows[-1].id


def downgrade():
    with op.batch_alter_table("user") as batch:
        batch.drop_column("search_key")
