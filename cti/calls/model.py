"""The call state machine, written as data.

A call arrives from the dialplan's `socket` application, runs its IVR flow, may wait in a
queue, is offered to agents, is bridged to one, may be held, transferred or conferenced,
and ends; the agent then wraps up. Every state change goes through `Call.transition`, which
raises `IllegalTransition` for a move the table does not allow, so a bug shows up as an
error naming the call instead of a silently wrong wallboard.
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


class CallState(enum.StrEnum):
    ARRIVED = "arrived"
    IVR = "ivr"
    QUEUED = "queued"
    OFFERED = "offered"
    BRIDGED = "bridged"
    HELD = "held"
    TRANSFERRING = "transferring"
    CONFERENCE = "conference"
    SURVEY = "survey"
    VOICEMAIL = "voicemail"
    ENDED = "ended"


S = CallState

# state -> states it may move to. ENDED is reachable from everywhere: a caller may hang up
# at any moment.
TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    S.ARRIVED: frozenset({S.IVR, S.QUEUED, S.OFFERED, S.VOICEMAIL}),
    # TRANSFERRING from IVR and QUEUED: to an outside number (an IVR node, an overflow).
    S.IVR: frozenset({S.QUEUED, S.OFFERED, S.VOICEMAIL, S.BRIDGED, S.SURVEY, S.TRANSFERRING}),
    S.QUEUED: frozenset({S.OFFERED, S.VOICEMAIL, S.IVR, S.QUEUED, S.TRANSFERRING}),
    S.OFFERED: frozenset({S.BRIDGED, S.QUEUED, S.VOICEMAIL, S.IVR}),
    S.BRIDGED: frozenset({S.HELD, S.TRANSFERRING, S.CONFERENCE, S.SURVEY, S.QUEUED, S.IVR}),
    # SURVEY from HELD: the agent hung up with the caller on hold.
    S.HELD: frozenset({S.BRIDGED, S.TRANSFERRING, S.CONFERENCE, S.SURVEY}),
    S.TRANSFERRING: frozenset({S.BRIDGED, S.QUEUED, S.OFFERED, S.IVR, S.HELD, S.CONFERENCE}),
    S.CONFERENCE: frozenset({S.BRIDGED, S.SURVEY, S.TRANSFERRING, S.HELD}),
    S.SURVEY: frozenset(),
    S.VOICEMAIL: frozenset(),
    S.ENDED: frozenset(),
}
for _state in CallState:
    if _state is not S.ENDED:
        TRANSITIONS[_state] = TRANSITIONS[_state] | {S.ENDED}


class IllegalTransition(RuntimeError):
    """A call was asked to move to a state its current state does not lead to."""

    def __init__(self, call_uuid: str, current: CallState, requested: CallState) -> None:
        super().__init__(f"call {call_uuid}: illegal transition {current} -> {requested}")
        self.call_uuid = call_uuid
        self.current = current
        self.requested = requested


@dataclass
class Call:
    """One inbound or outbound call handled by this daemon."""

    uuid: str
    caller_number: str
    destination_number: str
    direction: str = "inbound"
    state: CallState = S.ARRIVED
    started_at: float = field(default_factory=time.time)
    answered_at: float | None = None
    bridged_at: float | None = None
    ended_at: float | None = None
    flow: str | None = None
    language: str = "zh"
    queue: str | None = None
    queued_at: float | None = None
    queue_position: int | None = None
    agent_id: int | None = None
    agent_leg_uuid: str | None = None
    customer_id: int | None = None
    owner_agent_id: int | None = None
    vip_level: int = 0
    hangup_cause: str | None = None
    recording_path: str | None = None
    ivr_nodes: list[str] = field(default_factory=list)
    digits: dict[str, str] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    history: list[tuple[float, str]] = field(default_factory=list)

    def transition(self, new_state: CallState) -> CallState:
        """Move to `new_state`; return the old state. Raises IllegalTransition."""
        old = self.state
        if new_state not in TRANSITIONS[old]:
            logger.error("call %s: illegal transition %s -> %s", self.uuid, old, new_state)
            raise IllegalTransition(self.uuid, old, new_state)
        self.state = new_state
        self.history.append((time.time(), new_state.value))
        if new_state is S.ENDED and self.ended_at is None:
            self.ended_at = time.time()
        return old

    @property
    def is_over(self) -> bool:
        return self.state is S.ENDED

    def live_fields(self) -> dict[str, str]:
        """Flat string fields for the Redis hash that the web tier and other daemons read."""
        values: dict[str, Any] = {
            "uuid": self.uuid,
            "caller": self.caller_number,
            "destination": self.destination_number,
            "direction": self.direction,
            "state": self.state.value,
            "started_at": self.started_at,
            "answered_at": self.answered_at or "",
            "flow": self.flow or "",
            "language": self.language,
            "queue": self.queue or "",
            "queued_at": self.queued_at or "",
            "agent_id": self.agent_id if self.agent_id is not None else "",
            "agent_leg": self.agent_leg_uuid or "",
            "customer_id": self.customer_id if self.customer_id is not None else "",
            "bridged_at": self.bridged_at or "",
            "recording": self.recording_path or "",
        }
        return {key: str(value) for key, value in values.items()}
