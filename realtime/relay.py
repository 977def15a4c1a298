"""The relay: the daemon's live events (Redis pub/sub `cc:live`) into Channels groups.

The daemon runs under gevent and never calls Channels (ARCHITECTURE: gevent and asyncio never
meet in one process). It publishes JSON on `cc:live`; each ASGI process runs one relay, an
asyncio task started on the first websocket connection (daphne does not speak the ASGI
lifespan protocol), that subscribes with redis.asyncio and forwards every event to the groups
`realtime.groups.groups_for` names.

Pub/sub loses what is published while a subscriber is away. When the relay's subscription
breaks and comes back, it tells every connected page to resync (`RESYNC_GROUP`): the pages
reload current state from the Redis hashes the daemon keeps, so none shows stale state.
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
from realtime.groups import Directory, groups_for

logger = logging.getLogger(__name__)

# Every live consumer joins this group; the relay sends {"type": "live.resync"} to it after
# it lost its subscription for a while.
RESYNC_GROUP = "live.all"
EVENT_MESSAGE = "live.event"
RESYNC_MESSAGE = "live.resync"


class LiveRelay:
    """Subscribes to `cc:live` and forwards each event to its Channels groups."""

    def __init__(
        self,
        redis_factory: Callable[[], aioredis.Redis],
        channel_layer: Any,
        retry_seconds: float = 1.0,
    ) -> None:
        self._redis_factory = redis_factory
        self._layer = channel_layer
        self._retry_seconds = retry_seconds
        self._task: asyncio.Task | None = None
        self.directory = Directory()
        self.subscribed = asyncio.Event()
        self.forwarded = 0

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
        first = True
        while True:
            client = self._redis_factory()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(LIVE_CHANNEL, CHANGED_CHANNEL)
                await self._load_directory(client)
                self.subscribed.set()
                if not first:
                    await self._layer.group_send(RESYNC_GROUP, {"type": RESYNC_MESSAGE})
                first = False
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    channel = _text(message["channel"])
                    if channel == CHANGED_CHANNEL:
                        await self._load_directory(client)
                    else:
                        await self.forward(_text(message["data"]))
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

    async def forward(self, raw: str) -> list[str]:
        """Send one raw event to its groups; returns the group names (for tests)."""
        try:
            event = json.loads(raw)
        except ValueError:
            logger.warning("live relay: not JSON: %.200s", raw)
            return []
        if not isinstance(event, dict):
            return []
        names = groups_for(event, self.directory)
        for name in names:
            await self._layer.group_send(name, {"type": EVENT_MESSAGE, "event": event})
        self.forwarded += 1
        return names


async def _close_quietly(*closables: Any) -> None:
    for closable in closables:
        try:
            await asyncio.wait_for(closable.aclose(), 2)
        except Exception:  # closing a broken connection may fail too; nothing to do then
            logger.debug("closing the relay's Redis connection failed", exc_info=True)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RelayStarter:
    """ASGI middleware that starts the relay with the first websocket connection."""

    def __init__(self, inner: Any, relay: LiveRelay) -> None:
        self.inner = inner
        self.relay = relay

    async def __call__(self, scope, receive, send):
        self.relay.ensure_started()
        return await self.inner(scope, receive, send)
