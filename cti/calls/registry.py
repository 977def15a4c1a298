"""The calls this daemon is handling right now, and a way to wake one that waits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import gevent.event

if TYPE_CHECKING:
    from cti.calls.inbound import InboundCallHandler


class ActiveCalls:
    def __init__(self) -> None:
        self._handlers: dict[str, InboundCallHandler] = {}
        self._wake: dict[str, gevent.event.Event] = {}

    def add(self, uuid: str, handler: InboundCallHandler) -> gevent.event.Event:
        self._handlers[uuid] = handler
        event = self._wake[uuid] = gevent.event.Event()
        return event

    def remove(self, uuid: str, handler: InboundCallHandler | None = None) -> None:
        """Forget the call's handler (only if it is ``handler``, when given: a rejoining
        connection of the same call may have a handler of its own by then)."""
        if handler is not None and self._handlers.get(uuid) is not handler:
            return
        self._handlers.pop(uuid, None)
        self._wake.pop(uuid, None)

    def get(self, uuid: str) -> InboundCallHandler | None:
        return self._handlers.get(uuid)

    def find_by_leg(self, leg_uuid: str, call_uuid: str = "") -> InboundCallHandler | None:
        """The call a leg belongs to: the caller's own uuid, or an agent or consulted leg.

        ``call_uuid`` is the call the leg is tagged with (``cc_call_uuid``, set on every leg
        the daemon creates): one lookup, however many calls are live. An untagged leg that
        is no caller's is none of ours.
        """
        handler = self._handlers.get(leg_uuid)
        if handler is not None:
            return handler
        handler = self._handlers.get(call_uuid) if call_uuid else None
        if handler is not None and leg_uuid in handler.leg_uuids():
            return handler
        return None

    def find_by_agent(self, agent_id: int) -> InboundCallHandler | None:
        """The call the agent is working on now (not one it left for the survey)."""
        for handler in self._handlers.values():
            if handler.call.agent_id == agent_id and handler.agent_engaged:
                return handler
        return None

    def wake(self, uuid: str) -> bool:
        event = self._wake.get(uuid)
        if event is None:
            return False
        event.set()
        return True

    def __iter__(self) -> Iterator[InboundCallHandler]:
        return iter(list(self._handlers.values()))

    def __len__(self) -> int:
        return len(self._handlers)
