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
