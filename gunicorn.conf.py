"""gunicorn's settings for Aimak: `gunicorn -c gunicorn.conf.py wsgi:app` (the Procfile's web).

The listening address, workers, threads and timeout come from the environment (docs/deployment.md
lists them); any other setting from gunicorn's own GUNICORN_CMD_ARGS (a test that wants recycling
at once passes both --max-requests and --max-requests-jitter: the jitter here is 10,000).
"""
import gc
import multiprocessing
import os

from marketplace.core.extensions import db

#: Behind nginx on the same host: loopback, unless HOST says otherwise (HOST=0.0.0.0 for a balancer
#: on another machine). An empty variable (`NAME=` in a .env) counts as unset, as in config.py.
bind = os.environ.get("GUNICORN_BIND") or f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"
#: Sync workers: each request holds one, and every slow part (email, Stripe retries) is in the
#: worker or bounded by a timeout. Two per core plus one is the usual start.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
#: A request that takes longer is killed and logged (Stripe's own timeout is 10 s).
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 20
keepalive = 5
#: Recycle workers now and then, so a slow leak never grows for weeks. Rarely, and spread out:
#: workers started together serve about as many requests each, and with a small jitter they all
#: left within the same second (2,000 ± 200 at a busy market hour: every worker gone at once,
#: requests waiting 3 s for new ones — the benchmark's p99 of session 6).
max_requests = 20000
max_requests_jitter = 10000
#: The app logs one line per request itself (with its request id and user); gunicorn's errors
#: go to stderr beside them.
accesslog = None
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()
#: ProxyFix (TRUSTED_PROXIES) alone decides which X-Forwarded-* to believe: gunicorn takes the
#: scheme from no header, or a client could claim HTTPS past a TRUSTED_PROXIES=0 setting.
secure_scheme_headers = {}
#: The app is loaded once in the master and each worker is a fork of it: a recycled worker is
#: back in milliseconds instead of importing the app anew for seconds (with every core busy doing
#: so at a market's rush hour), and the workers share the master's pages of code, translations
#: and vocabulary until they write to them. The price: `kill -HUP` restarts the workers on the
#: old code; a release restarts the service (docs/deployment.md).
preload_app = True


def pre_fork(server, worker):
    """Move everything loaded so far out of the garbage collector's sight: a collection in a
    worker would otherwise touch (and so copy) every shared page of the master's objects."""
    gc.freeze()


def post_fork(server, worker):
    """Each worker opens its own database connections: one the master made while loading (none
    today) must not be shared between processes, so the worker forgets them without closing.
    (The benchmark serves its bare-Flask anchor with these settings too: it has no database.)"""
    app = server.app.wsgi()
    if "sqlalchemy" not in app.extensions:
        return
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
