"""The base of the live consumers: register locally, send relayed frames, resync on request."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from realtime.registry import RESYNC, LiveRegistry, Outbox
from realtime.relay import REGISTRY_SCOPE_KEY

logger = logging.getLogger(__name__)

# Live consumers take their events from the in-process relay (realtime.registry), not from a
# channel layer: an alias that names no configured layer gives them none, so no consumer
# opens a channel-layer receive loop on Redis.
NO_CHANNEL_LAYER = "live-consumers-use-no-channel-layer"


class LiveConsumer(AsyncWebsocketConsumer):
    """A page's websocket. Subclasses say which groups it joins and what its snapshot is.

    On connect the consumer registers with this process's `LiveRegistry` (found in the scope,
    put there by `realtime.relay.RelayStarter`), then sends `{"type": "sync", ...snapshot}`
    built from current state; the page replaces everything it shows with it. Relayed events
    arrive through `deliver` into the consumer's own bounded `Outbox`, sent in order by one
    task per consumer; a resync (asked by the page, by the relay after an outage, or forced
    when the page fell `outbox_limit` events behind) sends a fresh snapshot in that order.
    """

    channel_layer_alias = NO_CHANNEL_LAYER
    # Events a page may have waiting before its backlog is dropped for a resync.
    outbox_limit = 256

    groups_joined: list[str]

    async def groups_for_user(self) -> list[str] | None:
        """The groups to join, or None to refuse the connection."""
        raise NotImplementedError

    async def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def wants(self, event: Mapping[str, Any]) -> bool:
        """Filter relayed events (a consumer may sit in groups broader than its view)."""
        return True

    async def before_event(self, event: Mapping[str, Any]) -> None:
        """Hook run by the sending task just before an event's frame goes to the page."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        registry: LiveRegistry | None = self.scope.get(REGISTRY_SCOPE_KEY)
        if registry is None:
            logger.error("live consumer without a registry in its scope: is RelayStarter on?")
            await self.close(code=1011)
            return
        names = await self.groups_for_user()
        if names is None:
            await self.close(code=4403)
            return
        self.groups_joined = list(names)
        self._outbox = Outbox(self.outbox_limit)
        self._registry = registry
        # Register before reading the snapshot: an event published in between is queued and
        # sent after the sync, so nothing falls between the two.
        registry.register(self, self.groups_joined)
        try:
            await self.accept()
            await self.send_sync()
        except BaseException:
            registry.unregister(self)
            raise
        self._sender = asyncio.get_running_loop().create_task(self._send_outbox())

    async def disconnect(self, code: int) -> None:
        registry = getattr(self, "_registry", None)
        if registry is not None:
            registry.unregister(self)
        sender = getattr(self, "_sender", None)
        if sender is not None:
            sender.cancel()

    def deliver(self, frame: str, event: Mapping[str, Any]) -> None:
        """Called by the relay for each event of this consumer's groups; never blocks."""
        if self.wants(event):
            self._outbox.put((event, frame))

    def request_resync(self) -> None:
        self._outbox.request_resync()

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    async def _send_outbox(self) -> None:
        outbox = self._outbox
        while True:
            item = await outbox.get()
            try:
                if item is RESYNC:
                    await self.send_sync()
                else:
                    event, frame = item
                    await self.before_event(event)
                    await self.send(text_data=frame)
            except asyncio.CancelledError:
                raise
            except Exception:  # one failed send or snapshot must not end the page's feed
                logger.warning("live consumer: sending to the page failed", exc_info=True)

    async def send_sync(self) -> None:
        snapshot = await self.snapshot()
        await self.send(text_data=json.dumps({"type": "sync", **snapshot}))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The page asks for a fresh snapshot after it noticed a gap (tab woke up, etc.); it
        # goes through the outbox so it stays in order with the events.
        try:
            content = json.loads(text_data or "")
        except ValueError:
            return
        outbox = getattr(self, "_outbox", None)
        if outbox is not None and isinstance(content, dict) and content.get("type") == "resync":
            outbox.request_resync()
