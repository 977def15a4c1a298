"""The relay: the daemon's live events (Redis pub/sub `cc:live`) to this process's pages.

The daemon runs under gevent and never calls Channels (ARCHITECTURE: gevent and asyncio never
meet in one process). It publishes JSON on `cc:live`; each ASGI process runs one relay, an
asyncio task started on the first websocket connection (daphne does not speak the ASGI
lifespan protocol), that subscribes with redis.asyncio, names the event's groups with
`realtime.groups.groups_for`, serializes the frame once and hands it to every consumer of
this process registered in one of those groups (`realtime.registry.LiveRegistry`). There is
no channel layer on this path: a Channels group send costs a Redis round trip per group and a
Redis read per consumer, which measured p99 ≈ 5 s with losses at 1,000 clients
(docs/wallboard.md). Several ASGI processes each run their own relay and so all deliver.

Pub/sub loses what is published while a subscriber is away. Whenever the relay (re)subscribes,
after an outage or at its start while the process's first pages were connecting, it asks
every connected consumer of this process to resync: the pages reload current state from the
Redis hashes the daemon keeps, so none shows stale state.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from cti.config import CHANGED_CHANNEL, SNAPSHOT_KEY
from cti.notify import LIVE_CHANNEL
from realtime.groups import CallAudience, Directory, groups_for
from realtime.registry import LiveRegistry

logger = logging.getLogger(__name__)

# The scope key under which RelayStarter hands the process's registry to the consumers.
REGISTRY_SCOPE_KEY = "live_registry"


def event_frame(event: dict[str, Any]) -> str:
    """The websocket text frame of one relayed event (built once per event, not per page)."""
    return json.dumps({"type": "event", "event": event}, separators=(",", ":"))


class LiveRelay:
    """Subscribes to `cc:live` and hands each event to this process's consumers of its groups."""

    def __init__(
        self,
        redis_factory: Callable[[], aioredis.Redis],
        registry: LiveRegistry,
        retry_seconds: float = 1.0,
    ) -> None:
        self._redis_factory = redis_factory
        self.registry = registry
        self._retry_seconds = retry_seconds
        self._task: asyncio.Task | None = None
        self.directory = Directory()
        self.audience = CallAudience()
        self.subscribed = asyncio.Event()
        self.forwarded = 0
        self.deliveries = 0

    def ensure_started(self) -> None:
        """Start the relay task on the running loop unless it runs already (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="live-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await asyncio.wait_for(self._task, 5)
            except (asyncio.CancelledError, TimeoutError):
                pass
            self._task = None

    async def run(self) -> None:
        """Forward forever; after a broken subscription, resubscribe and ask pages to resync."""
        while True:
            client = self._redis_factory()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(LIVE_CHANNEL, CHANGED_CHANNEL)
                await self._load_directory(client)
                self.subscribed.set()
                # Pages that connected before this subscription (the first pages of a new
                # process, or every page after an outage) may have missed events meanwhile.
                self.resync_everyone()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    channel = _text(message["channel"])
                    if channel == CHANGED_CHANNEL:
                        await self._load_directory(client)
                    else:
                        self.forward(_text(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:  # a Redis outage must not kill the relay: retry
                logger.warning("live relay lost its subscription; retrying", exc_info=True)
                self.subscribed.clear()
                await asyncio.sleep(self._retry_seconds)
            finally:
                await _close_quietly(pubsub, client)

    async def _load_directory(self, client: aioredis.Redis) -> None:
        raw = await client.get(SNAPSHOT_KEY)
        if raw:
            self.directory = Directory.from_snapshot(json.loads(raw))

    def forward(self, raw: str) -> list[str]:
        """Deliver one raw event to the local consumers of its groups; returns the group names.

        Never waits: each consumer only gets the frame appended to its own outbox.
        """
        try:
            event = json.loads(raw)
        except ValueError:
            logger.warning("live relay: not JSON: %.200s", raw)
            return []
        if not isinstance(event, dict):
            return []
        names = self.audience.widen(event, groups_for(event, self.directory))
        members = self.registry.members_of(names) if names else []
        if members:
            frame = event_frame(event)
            for member in members:
                try:
                    member.deliver(frame, event)
                except Exception:  # one broken consumer must not starve the others
                    logger.exception("live relay: delivering to %r failed", member)
            self.deliveries += len(members)
        self.forwarded += 1
        return names

    def resync_everyone(self) -> None:
        """Ask every local consumer for a fresh snapshot (events may have been lost)."""
        for member in self.registry.everyone():
            member.request_resync()


async def _close_quietly(*closables: Any) -> None:
    for closable in closables:
        try:
            await asyncio.wait_for(closable.aclose(), 2)
        except Exception:  # closing a broken connection may fail too; nothing to do then
            logger.debug("closing the relay's Redis connection failed", exc_info=True)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RelayStarter:
    """ASGI middleware: starts the relay with the first websocket, hands consumers its registry.

    The registry travels in the scope (`REGISTRY_SCOPE_KEY`) so consumers get it from the
    composition root (config/asgi.py) rather than from a module-level singleton.
    """

    def __init__(self, inner: Any, relay: LiveRelay) -> None:
        self.inner = inner
        self.relay = relay

    async def __call__(self, scope, receive, send):
        self.relay.ensure_started()
        scope = {**scope, REGISTRY_SCOPE_KEY: self.relay.registry}
        return await self.inner(scope, receive, send)
