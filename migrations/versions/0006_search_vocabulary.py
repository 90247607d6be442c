"""Search: the admin's vocabulary words, the search word list (suggestions and typo
corrections) with its trigram indexes on each database, and which vocabulary the products
were indexed with.

The products' search columns change their form (terms, group terms, the name first):
`flask reindex-search --if-changed` (or the hourly check) indexes every product again.

Revision ID: 0006_search_vocabulary
Revises: 0005_service_worker
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_search_vocabulary"
down_revision = "0005_service_worker"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "vocabulary_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.String(length=60), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("written", sa.String(length=100), nullable=False),
        sa.Column("word", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name="fk_vocabulary_entry_created_by_id_user",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_vocabulary_entry"),
        sa.UniqueConstraint("word", name="uq_vocabulary_entry_word"),
    )
    with op.batch_alter_table("vocabulary_entry") as batch:
        batch.create_index("ix_vocabulary_entry_group_id", ["group_id"], unique=False)

    op.create_table(
        "search_word",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("letters", sa.String(length=100), nullable=False),
        sa.Column("weight", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_search_word"),
        sa.UniqueConstraint("word", name="uq_search_word_word"),
    )
    with op.batch_alter_table("search_word") as batch:
        batch.create_index("ix_search_word_key", ["key"], unique=False)
        batch.create_index("ix_search_word_letters", ["letters"], unique=False)

    op.create_table(
        "search_index_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rows_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_search_index_state"),
    )

    if op.get_bind().dialect.name == "postgresql":
        # Typo candidates (similarity, %) and prefixes (LIKE 'kar%') of words and of their keys.
        op.execute("CREATE INDEX ix_search_word_word_trgm ON search_word USING gin (word gin_trgm_ops)")
        op.execute("CREATE INDEX ix_search_word_key_trgm ON search_word USING gin (key gin_trgm_ops)")
    else:
        # Typo candidates on SQLite: words sharing trigrams with the typed word, by FTS5 rank.
        op.execute("CREATE VIRTUAL TABLE search_word_fts USING fts5("
                   "word, key, content='search_word', content_rowid='id', tokenize='trigram')")
        op.execute("CREATE TRIGGER search_word_fts_insert AFTER INSERT ON search_word BEGIN "
                   "INSERT INTO search_word_fts (rowid, word, key) VALUES (new.id, new.word, new.key); END")
        op.execute("CREATE TRIGGER search_word_fts_delete AFTER DELETE ON search_word BEGIN "
                   "INSERT INTO search_word_fts (search_word_fts, rowid, word, key) "
                   "VALUES ('delete', old.id, old.word, old.key); END")
        op.execute("CREATE TRIGGER search_word_fts_update AFTER UPDATE OF word, key ON search_word BEGIN "
                   "INSERT INTO search_word_fts (search_word_fts, rowid, word, key) "
                   "VALUES ('delete', old.id, old.word, old.key); "
                   "INSERT INTO search_word_fts (rowid, word, key) VALUES (new.id, new.word, new.key); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_word_key_trgm")
        op.execute("DROP INDEX IF EXISTS ix_search_word_word_trgm")
    else:
        for trigger in ("search_word_fts_insert", "search_word_fts_delete", "search_word_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_word_fts")
    op.drop_table("search_index_state")
    op.drop_table("search_word")
    with op.batch_alter_table("vocabulary_entry") as batch:
        batch.drop_index("ix_vocabulary_entry_group_id")
    op.drop_table("vocabulary_entry")
