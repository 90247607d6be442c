"""What differs between SQLite and PostgreSQL: connection settings, and the search indexes each has."""
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

from marketplace.core.text import SQLITE_FOLD_FUNCTION, normalize_text

#: Whether transactions in this context may write. A deferred SQLite transaction
#: that reads and then writes fails at once ("database is locked") when another
#: writer committed in between, so writing contexts take the write lock up front
#: (BEGIN IMMEDIATE) and wait their turn; read-only requests (GET) begin deferred
#: and run in parallel under WAL.
write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=True)


def enable_sqlite_pragmas(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves
        # normalize_text as a SQL function: SQLite's lower() folds ASCII letters only.
        dbapi_connection.create_function(SQLITE_FOLD_FUNCTION, 1, normalize_text, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")
def disable_jit(engine: Engine) -> None:
    """Turn PostgreSQL's JIT compiler off for our connections.

    Its cost threshold is reached by the catalog's statements over 50,000 products, and
    compiling then takes ~40 ms for a query that runs in 20: a loss on every request of
    a web page, which never runs the long analytical queries JIT pays off for.
    """
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()


#: Search indexes made by the migrations, one kind per database, so not in the models.
#: PostgreSQL: a GIN index over the product's search column's terms as an array (0013, made
#: on POSTGRESQL_TERMS_FUNCTION by 0014), and GIN trigram indexes (pg_trgm) on the search
#: word list's words and keys (0006: typo candidates, suggestions).
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_product_search_terms", "ix_search_word_word_trgm",
                                     "ix_search_word_key_trgm"})
#: SQLite: FTS5 tables (and the shadow tables FTS5 makes) over the product's search column,
#: a term a token (0013), and over the search word list, by trigrams (0006).
SQLITE_TERMS_TABLE = "product_terms"
#: PostgreSQL: the function that splits a search column into its terms (migration 0014).
POSTGRESQL_TERMS_FUNCTION = "aimak_search_terms"
SQLITE_WORD_TABLE = "search_word_fts"
SQLITE_ONLY_TABLES = (SQLITE_TERMS_TABLE, SQLITE_WORD_TABLE)


def include_in_schema_comparison(name, type_, _parent_names) -> bool:
    """Alembic's `include_name`: leave out what only one database has on purpose."""
    if type_ == "index":
        return name not in POSTGRESQL_ONLY_INDEXES
    if type_ == "table":
        return not (name or "").startswith(SQLITE_ONLY_TABLES)
    return True

