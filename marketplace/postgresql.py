"""PostgreSQL settings for a web application's short queries."""
from sqlalchemy import event
from sqlalchemy.engine import Engine


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
