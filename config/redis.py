"""Redis connections for the Django side (the daemon builds its own from the same URL)."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def _pool(url: str) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url, decode_responses=True)


def get_redis() -> redis.Redis:
    """A client on the shared pool for settings.REDIS_URL (strings decoded as UTF-8)."""
    return redis.Redis(connection_pool=_pool(settings.REDIS_URL))
