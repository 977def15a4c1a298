"""Durable facts: what the daemon appends to a Redis Stream for the persister to store.

The daemon never waits on PostgreSQL (ARCHITECTURE rule 2). It appends each fact (a CDR, an
agent state change, an abandoned call...) to the stream ``cc:facts``; the persister
(``cti/persister.py``) writes them to PostgreSQL and acknowledges after the commit.

Every stream entry has five fields::

    kind     one of FACT_TYPES (e.g. "call_ended")
    subject  what the fact is about: the call UUID for call facts, "agent:<id>" for agent
             facts, "user:<id>" for supervisor actions
    seq      a number unique per subject, taken from a per-subject counter in the same atomic
             step as the append, so (subject, seq) identifies the fact for idempotent upserts
    at       when the fact happened, UNIX epoch seconds (float)
    payload  the fact's fields as compact JSON (one of the dataclasses below)

This module has no Django imports: it runs inside the gevent daemon with plain redis-py.
"""

from __future__ import annotations

import json
import time
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar

import redis

DEFAULT_STREAM = "cc:facts"
DEFAULT_DEAD_LETTER_STREAM = "cc:facts:dead"
COUNTER_TTL_SECONDS = 86_400

DIRECTIONS = frozenset({"in", "out", "internal"})
QUEUE_OUTCOMES = frozenset({"answered", "abandoned", "overflowed", "voicemail", "callback"})
SUPERVISOR_ACTIONS = frozenset({"listen", "whisper", "barge", "hangup", "logout", "busy", "ready"})
ACTION_RESULTS = frozenset({"ok", "failed"})
LEG_PARTIES = frozenset({"caller", "agent", "supervisor", "external", "ivr", "voicemail"})


class FactError(ValueError):
    """A stream entry that cannot become a stored fact (unknown kind, bad payload)."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise FactError(message)


def _check_member(value: str, allowed: frozenset[str], name: str) -> None:
    _require(value in allowed, f"{name} must be one of {sorted(allowed)}, not {value!r}")


def _check_not_negative(value: float | int | None, name: str) -> None:
    _require(value is None or value >= 0, f"{name} must not be negative, not {value!r}")


@dataclass(frozen=True, slots=True)
class CallStarted:
    """A call reached the daemon (inbound) or was originated (outbound). Table: CallRecord."""

    KIND: ClassVar[str] = "call_started"
    call_uuid: str
    direction: str  # DIRECTIONS
    caller: str  # calling number as presented
    callee: str  # dialled number; the DID for inbound calls
    started_at: float
    did: str = ""
    node: str = ""  # FreeSWITCH node that carries the call

    def __post_init__(self) -> None:
        _require(bool(self.call_uuid), "call_uuid must not be empty")
        _check_member(self.direction, DIRECTIONS, "direction")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The CDR of a whole call, emitted once when its last leg hung up. Table: CallRecord."""

    KIND: ClassVar[str] = "call_ended"
    call_uuid: str
    direction: str
    caller: str
    callee: str
    started_at: float
    ended_at: float
    hangup_cause: str  # FreeSWITCH cause name, e.g. NORMAL_CLEARING
    answered_at: float | None = None
    did: str = ""
    queue: str = ""  # queue code, empty when the call never queued
    agent_id: int | None = None  # telephony Agent id of the agent who talked last
    ivr_flow: str = ""
    recording_path: str = ""
    hangup_by: str = ""  # "caller", "agent" or "system" when known
    node: str = ""

    def __post_init__(self) -> None:
        _require(bool(self.call_uuid), "call_uuid must not be empty")
        _check_member(self.direction, DIRECTIONS, "direction")
        _require(self.ended_at >= self.started_at, "ended_at is before started_at")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class LegEnded:
    """The CDR of one leg (caller, agent, supervisor, outside party). Table: CallLeg."""

    KIND: ClassVar[str] = "leg_ended"
    leg_uuid: str
    call_uuid: str
    party: str  # LEG_PARTIES
    number: str
    started_at: float
    ended_at: float
    hangup_cause: str
    answered_at: float | None = None
    agent_id: int | None = None

    def __post_init__(self) -> None:
        _require(bool(self.leg_uuid), "leg_uuid must not be empty")
        _check_member(self.party, LEG_PARTIES, "party")
        _require(self.ended_at >= self.started_at, "ended_at is before started_at")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """An agent moved from one state to another. Table: AgentStateChange."""

    KIND: ClassVar[str] = "agent_state_changed"
    agent_id: int
    old_state: str
    new_state: str
    changed_at: float
    old_state_seconds: float  # how long the agent was in old_state
    reason: str = ""  # busy reason code, "no_answer", "supervisor"...

    def __post_init__(self) -> None:
        _check_not_negative(self.old_state_seconds, "old_state_seconds")

    @property
    def subject(self) -> str:
        return f"agent:{self.agent_id}"


@dataclass(frozen=True, slots=True)
class QueueEntered:
    """A call joined a queue. Table: QueueEntry, keyed by (call_uuid, queue, entered_at)."""

    KIND: ClassVar[str] = "queue_entered"
    call_uuid: str
    queue: str
    entered_at: float
    position: int  # 1 = first in line

    def __post_init__(self) -> None:
        _require(self.position >= 1, "position starts at 1")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class QueueExited:
    """A call left a queue; entered_at names the entry it closes. Table: QueueEntry."""

    KIND: ClassVar[str] = "queue_exited"
    call_uuid: str
    queue: str
    entered_at: float
    exited_at: float
    wait_seconds: float
    outcome: str  # QUEUE_OUTCOMES
    agent_id: int | None = None  # who answered, for outcome "answered"
    position: int | None = None  # position at the moment it left
    overflow_target: str = ""  # queue code, voicemail group... for outcome "overflowed"

    def __post_init__(self) -> None:
        _check_member(self.outcome, QUEUE_OUTCOMES, "outcome")
        _check_not_negative(self.wait_seconds, "wait_seconds")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    """呼损: the caller hung up while waiting in a queue. Table: QueueEntry (outcome abandoned)."""

    KIND: ClassVar[str] = "call_abandoned"
    call_uuid: str
    queue: str
    entered_at: float
    abandoned_at: float
    wait_seconds: float
    position: int  # position when the caller gave up

    def __post_init__(self) -> None:
        _check_not_negative(self.wait_seconds, "wait_seconds")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class RecordingSaved:
    """A recording file was closed on disk. Table: Recording."""

    KIND: ClassVar[str] = "recording_saved"
    call_uuid: str
    path: str
    duration_seconds: float
    size_bytes: int
    channels: int  # 1 mono, 2 stereo (caller left, agent right)
    saved_at: float
    agent_id: int | None = None

    def __post_init__(self) -> None:
        _require(self.channels in (1, 2), "channels must be 1 or 2")
        _check_not_negative(self.size_bytes, "size_bytes")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class SurveyScored:
    """The caller rated the call after it (1 = very unsatisfied ... 4 = very satisfied)."""

    KIND: ClassVar[str] = "survey_scored"
    call_uuid: str
    score: int
    scored_at: float
    agent_id: int | None = None
    queue: str = ""

    def __post_init__(self) -> None:
        _require(1 <= self.score <= 4, f"score must be 1 to 4, not {self.score}")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class IvrPathTaken:
    """The path one call took through an IVR flow. Table: IvrPath."""

    KIND: ClassVar[str] = "ivr_path"
    call_uuid: str
    flow: str
    started_at: float
    finished_at: float
    nodes: list[str] = field(default_factory=list)  # node ids in the order visited
    digits: list[str] = field(default_factory=list)  # DTMF input collected, one per prompt
    variables: dict[str, Any] = field(default_factory=dict)
    exit: str = ""  # how the flow ended: "queue:<code>", "hangup", "transfer:<number>"...

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class SupervisorActionTaken:
    """Audit of a supervisor's intervention. Table: SupervisorAction."""

    KIND: ClassVar[str] = "supervisor_action"
    supervisor_id: int  # accounts.User id
    action: str  # SUPERVISOR_ACTIONS
    acted_at: float
    result: str  # ACTION_RESULTS
    target_agent_id: int | None = None
    target_call_uuid: str = ""
    detail: str = ""  # why it failed, or extra context

    def __post_init__(self) -> None:
        _check_member(self.action, SUPERVISOR_ACTIONS, "action")
        _check_member(self.result, ACTION_RESULTS, "result")

    @property
    def subject(self) -> str:
        return f"user:{self.supervisor_id}"


@dataclass(frozen=True, slots=True)
class VoicemailLeft:
    """A caller left a voicemail for an agent group. Table: Voicemail."""

    KIND: ClassVar[str] = "voicemail_left"
    call_uuid: str
    path: str
    duration_seconds: float
    left_at: float
    caller: str = ""
    group_id: int | None = None  # telephony AgentGroup id

    def __post_init__(self) -> None:
        _check_not_negative(self.duration_seconds, "duration_seconds")

    @property
    def subject(self) -> str:
        return self.call_uuid


Fact = (
    CallStarted
    | CallEnded
    | LegEnded
    | AgentStateChanged
    | QueueEntered
    | QueueExited
    | CallAbandoned
    | RecordingSaved
    | SurveyScored
    | IvrPathTaken
    | SupervisorActionTaken
    | VoicemailLeft
)

FACT_TYPES: Mapping[str, type[Fact]] = types.MappingProxyType(
    {
        cls.KIND: cls
        for cls in (
            CallStarted,
            CallEnded,
            LegEnded,
            AgentStateChanged,
            QueueEntered,
            QueueExited,
            CallAbandoned,
            RecordingSaved,
            SurveyScored,
            IvrPathTaken,
            SupervisorActionTaken,
            VoicemailLeft,
        )
    }
)

# Resolved once at import: field name -> annotation, per kind.
_FIELD_TYPES: Mapping[str, Mapping[str, Any]] = types.MappingProxyType(
    {
        kind: types.MappingProxyType(
            {
                name: hint
                for name, hint in typing.get_type_hints(cls).items()
                if name in {f.name for f in fields(cls)}
            }
        )
        for kind, cls in FACT_TYPES.items()
    }
)


def _coerce(value: Any, annotation: Any, name: str) -> Any:
    """Check one JSON value against a field annotation; ints are accepted for floats."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        (inner,) = [option for option in options if option is not type(None)]
        return _coerce(value, inner, name)
    if annotation is str:
        _require(isinstance(value, str), f"{name} must be a string")
        return value
    if annotation is int:
        _require(isinstance(value, int) and not isinstance(value, bool), f"{name} must be int")
        return value
    if annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        _require(ok, f"{name} must be a number")
        return float(value)
    if origin is list:
        _require(isinstance(value, list), f"{name} must be a list")
        _require(all(isinstance(item, str) for item in value), f"{name} must hold strings")
        return list(value)
    if origin is dict:
        _require(isinstance(value, dict), f"{name} must be an object")
        return dict(value)
    raise FactError(f"{name}: unsupported annotation {annotation!r}")


def decode_fact(kind: str, payload: Any) -> Fact:
    """Build the typed fact for a stream entry; raises FactError when it does not fit.

    Keys the catalogue does not know are ignored, so a newer daemon may add optional fields
    before the persister learns them.
    """
    cls = FACT_TYPES.get(kind)
    if cls is None:
        raise FactError(f"unknown fact kind {kind!r}")
    _require(isinstance(payload, dict), "payload must be a JSON object")
    annotations = _FIELD_TYPES[kind]
    values: dict[str, Any] = {}
    for spec in fields(cls):
        if spec.name in payload:
            values[spec.name] = _coerce(payload[spec.name], annotations[spec.name], spec.name)
        elif spec.default is MISSING and spec.default_factory is MISSING:
            raise FactError(f"payload lacks {spec.name!r}")
    try:
        return cls(**values)
    except TypeError as error:
        raise FactError(str(error)) from error


# Appends one fact and advances the subject's counter in one atomic step.
# KEYS[1] stream, KEYS[2] counter; ARGV: ttl, maxlen ("" = none), kind, subject, at, payload.
# A new counter starts at the server clock in microseconds, so a counter that expired after a
# quiet day resumes above every number it handed out before and (subject, seq) stays unique.
# Numbers are formatted with %d because Lua would print a 16-digit double in exponent form.
_APPEND_SCRIPT = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], now[1] .. string.format('%06d', now[2]))
end
local seq = string.format('%d', redis.call('INCR', KEYS[2]))
redis.call('EXPIRE', KEYS[2], ARGV[1])
local id
if ARGV[2] ~= '' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'kind', ARGV[3],
    'subject', ARGV[4], 'seq', seq, 'at', ARGV[5], 'payload', ARGV[6])
else
  id = redis.call('XADD', KEYS[1], '*', 'kind', ARGV[3],
    'subject', ARGV[4], 'seq', seq, 'at', ARGV[5], 'payload', ARGV[6])
end
return {id, seq}
"""


class FactWriter:
    """Appends durable facts to the facts stream; the daemon's only way to write history.

    ``maxlen`` caps the stream (approximately). Leave it None in production: a cap drops the
    oldest entries whether or not the persister stored them, and the persister trims what it
    has acknowledged anyway.
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        stream: str = DEFAULT_STREAM,
        maxlen: int | None = None,
        counter_ttl_seconds: int = COUNTER_TTL_SECONDS,
    ) -> None:
        self.redis = redis_client
        self.stream = stream
        self.maxlen = maxlen
        self.counter_ttl_seconds = counter_ttl_seconds
        self._append = redis_client.register_script(_APPEND_SCRIPT)

    def counter_key(self, subject: str) -> str:
        """The Redis key of a subject's sequence counter."""
        return f"{self.stream}:seq:{subject}"

    def emit(self, kind: str, subject: str, payload: dict, at: float | None = None) -> str:
        """Append one fact and return its stream id. ``at`` defaults to now."""
        stream_id, _ = self.emit_with_seq(kind, subject, payload, at)
        return stream_id

    def emit_with_seq(
        self, kind: str, subject: str, payload: dict, at: float | None = None
    ) -> tuple[str, int]:
        """Like emit, and also return the sequence number the fact received."""
        encoded = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        when = time.time() if at is None else at
        stream_id, seq = self._append(
            keys=[self.stream, self.counter_key(subject)],
            args=[
                self.counter_ttl_seconds,
                "" if self.maxlen is None else self.maxlen,
                kind,
                subject,
                repr(float(when)),
                encoded,
            ],
        )
        if isinstance(stream_id, bytes):
            stream_id = stream_id.decode()
        return stream_id, int(seq)

    def record(self, fact: Fact, at: float | None = None) -> str:
        """Append a typed fact under its own kind and subject."""
        return self.emit(fact.KIND, fact.subject, asdict(fact), at)

    # Typed helpers, one per kind. Times are UNIX epoch seconds; a missing time means now.

    def call_started(
        self,
        *,
        call_uuid: str,
        direction: str,
        caller: str,
        callee: str,
        started_at: float | None = None,
        did: str = "",
        node: str = "",
    ) -> str:
        started = _now(started_at)
        fact = CallStarted(call_uuid, direction, caller, callee, started, did, node)
        return self.record(fact, started)

    def call_ended(
        self,
        *,
        call_uuid: str,
        direction: str,
        caller: str,
        callee: str,
        started_at: float,
        hangup_cause: str,
        ended_at: float | None = None,
        answered_at: float | None = None,
        did: str = "",
        queue: str = "",
        agent_id: int | None = None,
        ivr_flow: str = "",
        recording_path: str = "",
        hangup_by: str = "",
        node: str = "",
    ) -> str:
        ended = _now(ended_at)
        fact = CallEnded(
            call_uuid=call_uuid,
            direction=direction,
            caller=caller,
            callee=callee,
            started_at=started_at,
            ended_at=ended,
            hangup_cause=hangup_cause,
            answered_at=answered_at,
            did=did,
            queue=queue,
            agent_id=agent_id,
            ivr_flow=ivr_flow,
            recording_path=recording_path,
            hangup_by=hangup_by,
            node=node,
        )
        return self.record(fact, ended)

    def leg_ended(
        self,
        *,
        leg_uuid: str,
        call_uuid: str,
        party: str,
        number: str,
        started_at: float,
        hangup_cause: str,
        ended_at: float | None = None,
        answered_at: float | None = None,
        agent_id: int | None = None,
    ) -> str:
        ended = _now(ended_at)
        fact = LegEnded(
            leg_uuid, call_uuid, party, number, started_at, ended, hangup_cause, answered_at,
            agent_id,
        )  # fmt: skip
        return self.record(fact, ended)

    def agent_state_changed(
        self,
        *,
        agent_id: int,
        old_state: str,
        new_state: str,
        old_state_seconds: float,
        reason: str = "",
        changed_at: float | None = None,
    ) -> str:
        changed = _now(changed_at)
        fact = AgentStateChanged(agent_id, old_state, new_state, changed, old_state_seconds, reason)
        return self.record(fact, changed)

    def queue_entered(self, *, call_uuid: str, queue: str, entered_at: float, position: int) -> str:
        """``entered_at`` names the queue entry: pass the same value to queue_exited."""
        return self.record(QueueEntered(call_uuid, queue, entered_at, position), entered_at)

    def queue_exited(
        self,
        *,
        call_uuid: str,
        queue: str,
        entered_at: float,
        outcome: str,
        exited_at: float | None = None,
        agent_id: int | None = None,
        position: int | None = None,
        overflow_target: str = "",
    ) -> str:
        exited = _now(exited_at)
        fact = QueueExited(
            call_uuid=call_uuid,
            queue=queue,
            entered_at=entered_at,
            exited_at=exited,
            wait_seconds=max(0.0, exited - entered_at),
            outcome=outcome,
            agent_id=agent_id,
            position=position,
            overflow_target=overflow_target,
        )
        return self.record(fact, exited)

    def call_abandoned(
        self,
        *,
        call_uuid: str,
        queue: str,
        entered_at: float,
        position: int,
        abandoned_at: float | None = None,
    ) -> str:
        abandoned = _now(abandoned_at)
        fact = CallAbandoned(
            call_uuid, queue, entered_at, abandoned, max(0.0, abandoned - entered_at), position
        )
        return self.record(fact, abandoned)

    def recording_saved(
        self,
        *,
        call_uuid: str,
        path: str,
        duration_seconds: float,
        size_bytes: int,
        channels: int,
        agent_id: int | None = None,
        saved_at: float | None = None,
    ) -> str:
        saved = _now(saved_at)
        fact = RecordingSaved(
            call_uuid, path, duration_seconds, size_bytes, channels, saved, agent_id
        )
        return self.record(fact, saved)

    def survey_scored(
        self,
        *,
        call_uuid: str,
        score: int,
        agent_id: int | None = None,
        queue: str = "",
        scored_at: float | None = None,
    ) -> str:
        scored = _now(scored_at)
        return self.record(SurveyScored(call_uuid, score, scored, agent_id, queue), scored)

    def ivr_path(
        self,
        *,
        call_uuid: str,
        flow: str,
        started_at: float,
        nodes: list[str],
        digits: list[str],
        variables: dict[str, Any],
        exit: str = "",
        finished_at: float | None = None,
    ) -> str:
        finished = _now(finished_at)
        fact = IvrPathTaken(
            call_uuid, flow, started_at, finished, list(nodes), list(digits), dict(variables), exit
        )
        return self.record(fact, finished)

    def supervisor_action(
        self,
        *,
        supervisor_id: int,
        action: str,
        result: str,
        target_agent_id: int | None = None,
        target_call_uuid: str = "",
        detail: str = "",
        acted_at: float | None = None,
    ) -> str:
        acted = _now(acted_at)
        fact = SupervisorActionTaken(
            supervisor_id, action, acted, result, target_agent_id, target_call_uuid, detail
        )
        return self.record(fact, acted)

    def voicemail_left(
        self,
        *,
        call_uuid: str,
        path: str,
        duration_seconds: float,
        caller: str = "",
        group_id: int | None = None,
        left_at: float | None = None,
    ) -> str:
        left = _now(left_at)
        fact = VoicemailLeft(call_uuid, path, duration_seconds, left, caller, group_id)
        return self.record(fact, left)


def _now(moment: float | None) -> float:
    return time.time() if moment is None else moment
