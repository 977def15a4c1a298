"""Hot standby (双机热备): one leader among the daemons, chosen by a lease in Redis.

The leader renews the lease every `renew_seconds`; the lease lapses `ttl_seconds` after the
last renewal. A standby tries to take it on the same cadence, so after a leader dies the
standby leads within ttl + renew seconds (2 + 1 by default, inside the 5 s goal). Renewal
and release are compare-and-set Lua scripts: a daemon that paused past its lease can never
extend or delete the lease a newer leader holds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis

logger = logging.getLogger(__name__)

LEASE_KEY = "cc:leader"
# Every running daemon, leader or standby: node name -> until when (epoch seconds) it counts
# as alive. A leader that stops looks here for a standby to hand its callers to.
NODES_KEY = "cc:nodes"

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaderLease:
    def __init__(
        self,
        client: redis.Redis,
        node_name: str,
        ttl_seconds: float = 2.0,
        renew_seconds: float = 0.5,
        key: str = LEASE_KEY,
    ) -> None:
        self._redis = client
        self.node_name = node_name
        self.ttl_ms = int(ttl_seconds * 1000)
        self.renew_seconds = renew_seconds
        self.key = key
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self.is_leader = False
        self.nodes_key = NODES_KEY if key == LEASE_KEY else key + ":nodes"

    def try_acquire(self) -> bool:
        """Take the lease if free, or renew it if held; return whether we lead now."""
        try:
            if self.is_leader and self._renew(keys=[self.key], args=[self.node_name, self.ttl_ms]):
                return True
            acquired = bool(self._redis.set(self.key, self.node_name, nx=True, px=self.ttl_ms))
        except redis.ConnectionError:
            logger.warning("lease: Redis unreachable; stepping down")
            acquired = False
        if acquired != self.is_leader:
            logger.warning("%s %s leadership", self.node_name, "took" if acquired else "lost")
        self.is_leader = acquired
        return acquired

    def holder(self) -> str | None:
        return self._redis.get(self.key)

    def announce(self, now: float) -> None:
        """Count this daemon among the running ones for the next ``ttl`` seconds."""
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.zadd(self.nodes_key, {self.node_name: now + self.ttl_ms / 1000})
            pipe.zremrangebyscore(self.nodes_key, "-inf", now)
            pipe.execute()
        except redis.ConnectionError:
            pass  # try_acquire reports Redis trouble

    def withdraw(self) -> None:
        try:
            self._redis.zrem(self.nodes_key, self.node_name)
        except redis.ConnectionError:
            pass

    def others_running(self, now: float) -> list[str]:
        """The other daemons that announced themselves within the last ``ttl`` seconds (none
        when Redis cannot say: a stopping daemon then lets its calls go as before)."""
        try:
            alive = self._redis.zrangebyscore(self.nodes_key, now, "+inf")
        except redis.ConnectionError:
            return []
        return [name for name in alive if name != self.node_name]

    def release(self) -> None:
        if self.is_leader:
            self._release(keys=[self.key], args=[self.node_name])
            self.is_leader = False

    def run(
        self,
        stop_event,
        on_elected: Callable[[], None],
        on_deposed: Callable[[], None],
        sleep: Callable[[float], object],
    ) -> None:
        """Keep trying/renewing until stopped; call the hooks on each change of role."""
        while not stop_event.is_set():
            self.announce(time.time())
            was_leader = self.is_leader
            now_leader = self.try_acquire()
            if now_leader and not was_leader:
                on_elected()
            elif was_leader and not now_leader:
                on_deposed()
            sleep(self.renew_seconds)
        if self.is_leader:
            self.release()
            on_deposed()
