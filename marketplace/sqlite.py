"""SQLite settings that make it behave under concurrent requests."""
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

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
