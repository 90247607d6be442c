"""gunicorn's settings for Aimak: `gunicorn -c gunicorn.conf.py wsgi:app` (the Procfile's web).

Every value can be overridden from the environment (docs/deployment.md lists them).
"""
import multiprocessing
import os

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
#: Recycle workers now and then, so a slow leak never grows for weeks.
max_requests = 2000
max_requests_jitter = 200
#: The app logs one line per request itself (with its request id and user); gunicorn's errors
#: go to stderr beside them.
accesslog = None
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()
#: ProxyFix (TRUSTED_PROXIES) alone decides which X-Forwarded-* to believe: gunicorn takes the
#: scheme from no header, or a client could claim HTTPS past a TRUSTED_PROXIES=0 setting.
secure_scheme_headers = {}
#: Workers share the parent's imported code (less memory), each opens its own connections.
preload_app = False
