"""The ACD's outgoing events: one method per event, wired by the daemon.

The daemon's implementation publishes to Redis pub/sub (live desk and wallboard) and writes
facts to the stream; tests use :class:`RecordingNotifier`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cti.acd.router import RouteDecision
    from cti.acd.store import StateChange
    from cti.acd.strategies import WaitingCall


class AcdNotifier(Protocol):
    """Receives every state change the ACD makes, after Redis has committed it."""

    def agent_state_changed(self, change: StateChange) -> None:
        """An agent's status changed (login, ready, busy, offered, talking, wrap-up...)."""

    def agent_registration_changed(self, agent_id: int, registered: bool) -> None:
        """The agent's SIP phone registered or went away (its status is unchanged)."""

    def call_queued(self, call: WaitingCall, position: int) -> None:
        """A call waits in a queue (on entry, or again after an unanswered offer)."""

    def call_offered(self, decision: RouteDecision) -> None:
        """Agents were reserved for a call: the daemon now rings them."""

    def call_left_queue(self, call_uuid: str, queue: str, reason: str) -> None:
        """A call left the ACD without an agent (abandoned, overflowed, transferred)."""


@dataclass
class RecordingNotifier:
    """Keeps every event in order, as (event name, payload) pairs, for tests."""

    events: list[tuple[str, Any]] = field(default_factory=list)

    def agent_state_changed(self, change: StateChange) -> None:
        self.events.append(("agent_state_changed", change))

    def agent_registration_changed(self, agent_id: int, registered: bool) -> None:
        self.events.append(("agent_registration_changed", (agent_id, registered)))

    def call_queued(self, call: WaitingCall, position: int) -> None:
        self.events.append(("call_queued", (call, position)))

    def call_offered(self, decision: RouteDecision) -> None:
        self.events.append(("call_offered", decision))

    def call_left_queue(self, call_uuid: str, queue: str, reason: str) -> None:
        self.events.append(("call_left_queue", (call_uuid, queue, reason)))

    def named(self, name: str) -> list[Any]:
        """The payloads of one kind of event."""
        return [payload for event, payload in self.events if event == name]

    def clear(self) -> None:
        self.events.clear()
