"""Brute-force protection for the customer self-query: failed attempts counted in Redis."""

from __future__ import annotations

import redis


class SelfQueryThrottle:
    """Counts failed self-query attempts per client (IP address) in a fixed window.

    After `max_failures` failures within `window_seconds` the client is refused until the
    window ends, so six-digit passwords cannot be tried one after another.
    """

    KEY_PREFIX = "workorders:selfquery:failures:"

    def __init__(
        self, client: redis.Redis, *, max_failures: int = 5, window_seconds: int = 900
    ) -> None:
        self.client = client
        self.max_failures = max_failures
        self.window_seconds = window_seconds

    def _key(self, identity: str) -> str:
        return f"{self.KEY_PREFIX}{identity}"

    def is_blocked(self, identity: str) -> bool:
        failures = self.client.get(self._key(identity))
        return failures is not None and int(failures) >= self.max_failures

    def record_failure(self, identity: str) -> int:
        """Count one failure; the window starts with the first failure."""
        key = self._key(identity)
        pipeline = self.client.pipeline()
        pipeline.incr(key)
        pipeline.expire(key, self.window_seconds, nx=True)
        failures, _set = pipeline.execute()
        return int(failures)

    def retry_after(self, identity: str) -> int:
        return max(int(self.client.ttl(self._key(identity))), 0)


class SelfQueryBlocked(Exception):
    """Too many failed attempts from this client; `retry_after` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def query_for_client(
    throttle: SelfQueryThrottle, identity: str, number: str, password: str
) -> dict | None:
    """lookup_work_order behind the throttle: None on a wrong pair, SelfQueryBlocked when
    the client failed too often (even a right pair is refused then)."""
    from crm.workorders.services import lookup_work_order

    if throttle.is_blocked(identity):
        raise SelfQueryBlocked(throttle.retry_after(identity))
    result = lookup_work_order(number, password)
    if result is None:
        throttle.record_failure(identity)
    return result


def client_identity(request) -> str:
    """The client's IP address as the web server saw it.

    X-Forwarded-For is not trusted: any client could set it to escape the limit. Behind a
    reverse proxy, have the proxy set REMOTE_ADDR (e.g. uvicorn/daphne proxy headers).
    """
    return request.META.get("REMOTE_ADDR", "") or "unknown"
