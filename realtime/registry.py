"""This ASGI process's connected live consumers, by group, and each one's outbox.

The relay (realtime.relay) delivers every event straight to the consumers of its own process
that joined one of the event's groups: no channel layer, no Redis round trip per group or per
consumer. Every ASGI process runs its own relay on its own subscription to `cc:live`, so every
process delivers to its own pages.

A consumer never sends from the relay's loop: `deliver` only appends the pre-serialized frame
to the consumer's bounded `Outbox`, which a task of that consumer drains. A slow page therefore
delays nobody else; when it falls `limit` frames behind, its backlog is dropped for a resync
(the page gets current state instead of a stale history).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Protocol


class LiveMember(Hashable, Protocol):
    """What the registry and the relay need of a consumer."""

    def deliver(self, frame: str, event: Mapping[str, Any]) -> None:
        """Queue `frame` (the serialized `{"type": "event", ...}`) without blocking."""

    def request_resync(self) -> None:
        """Queue a fresh snapshot of current state without blocking."""


class LiveRegistry:
    """Group name → this process's consumers in that group (insertion ordered)."""

    def __init__(self) -> None:
        self._members: dict[str, dict[LiveMember, None]] = {}
        self._groups_of: dict[LiveMember, tuple[str, ...]] = {}

    def register(self, member: LiveMember, groups: Iterable[str]) -> None:
        """Add `member` to `groups` (replacing any groups it had)."""
        self.unregister(member)
        names = tuple(dict.fromkeys(groups))
        self._groups_of[member] = names
        for name in names:
            self._members.setdefault(name, {})[member] = None

    def unregister(self, member: LiveMember) -> None:
        """Remove `member` from every group (no error if it was not registered)."""
        for name in self._groups_of.pop(member, ()):
            members = self._members.get(name)
            if members is None:
                continue
            members.pop(member, None)
            if not members:
                del self._members[name]

    def groups_of(self, member: LiveMember) -> tuple[str, ...]:
        return self._groups_of.get(member, ())

    def members_of(self, groups: Iterable[str]) -> list[LiveMember]:
        """The members of any of `groups`, each once (a wallboard may sit in several)."""
        names = [name for name in groups if name in self._members]
        if len(names) == 1:
            return list(self._members[names[0]])
        found: dict[LiveMember, None] = {}
        for name in names:
            found.update(self._members[name])
        return list(found)

    def everyone(self) -> list[LiveMember]:
        return list(self._groups_of)

    def __len__(self) -> int:
        return len(self._groups_of)


class Resync:
    """The marker an outbox holds where a fresh snapshot must be sent."""

    def __repr__(self) -> str:
        return "RESYNC"


RESYNC = Resync()


class Outbox:
    """A consumer's bounded FIFO of `(event, frame)` items and `RESYNC` markers.

    `put` and `request_resync` never block (the relay calls them for every consumer in a row);
    `get` waits for the next item. Past `limit` items the backlog is replaced by one RESYNC:
    the consumer then sends current state, which covers every dropped event.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.overflows = 0
        self._items: deque[Any] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: tuple[Mapping[str, Any], str]) -> None:
        if len(self._items) >= self.limit:
            self._items.clear()
            self._items.append(RESYNC)
            self.overflows += 1
        self._items.append(item)
        self._wake()

    def request_resync(self) -> None:
        if not self._items or self._items[-1] is not RESYNC:
            self._items.append(RESYNC)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)
