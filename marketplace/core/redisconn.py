"""The one Redis connection (queue, cache, limits, throttling), or None on a machine without it.

Every user of Redis asks here, so the timeouts and the fallback are decided once: a Redis
that is down or slow answers within REDIS_TIMEOUT_SECONDS and callers use their embedded
fallback instead of failing the request.
"""
from __future__ import annotations

import redis
from flask import Flask

EXTENSION_KEY = "redis"


def redis_client(app: Flask) -> redis.Redis | None:
    """The app's Redis client (created once), or None when REDIS_URL is empty."""
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    client = app.extensions.get(EXTENSION_KEY)
    if client is None:
        timeout = app.config.get("REDIS_TIMEOUT_SECONDS", 0.5)
        client = app.extensions[EXTENSION_KEY] = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30)
    return client


def redis_reachable(app: Flask) -> bool:
    client = redis_client(app)
    if client is None:
        return False
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
