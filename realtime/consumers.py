"""The base of the live consumers: join groups, forward relayed events, resync on request."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from realtime.relay import RESYNC_GROUP


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """A page's websocket. Subclasses say which groups it joins and what its snapshot is.

    On connect, and whenever the relay asks for it, the consumer sends `{"type": "sync",
    ...snapshot}` built from current state; the page replaces everything it shows with it.
    """

    groups_joined: list[str]

    async def groups_for_user(self) -> list[str] | None:
        """The groups to join, or None to refuse the connection."""
        raise NotImplementedError

    async def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def wants(self, event: dict[str, Any]) -> bool:
        """Filter relayed events (a consumer may sit in groups broader than its view)."""
        return True

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        names = await self.groups_for_user()
        if names is None:
            await self.close(code=4403)
            return
        self.groups_joined = [*names, RESYNC_GROUP]
        for name in self.groups_joined:
            await self.channel_layer.group_add(name, self.channel_name)
        await self.accept()
        await self.send_sync()

    async def disconnect(self, code: int) -> None:
        for name in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(name, self.channel_name)

    async def send_sync(self) -> None:
        await self.send_json({"type": "sync", **(await self.snapshot())})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The page asks for a fresh snapshot after it noticed a gap (tab woke up, etc.).
        if isinstance(content, dict) and content.get("type") == "resync":
            await self.send_sync()

    async def live_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if self.wants(event):
            await self.send_json({"type": "event", "event": event})

    async def live_resync(self, message: dict[str, Any]) -> None:
        await self.send_sync()
