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
from collections.abc import Callable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from types import NoneType
from typing import Any, ClassVar

import redis

DEFAULT_STREAM = "cc:facts"
DEFAULT_DEAD_LETTER_STREAM = "cc:facts:dead"
COUNTER_TTL_SECONDS = 86_400

DIRECTIONS = frozenset({"inbound", "outbound", "internal"})
QUEUE_OUTCOMES = frozenset({"answered", "abandoned", "overflowed", "voicemail", "callback"})
SUPERVISOR_ACTIONS = frozenset({"listen", "whisper", "barge", "hangup", "logout", "busy", "ready"})
ACTION_RESULTS = frozenset({"ok", "failed"})
# Where a call goes when no daemon handles it (the dialplan's failover ring group), as the
# CDR's hangup_by and the queue exit's target.
FAILOVER = "failover"
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
    """A call reached the daemon (inbound) or was originated. ``at``: when it started."""

    KIND: ClassVar[str] = "call_started"
    call_uuid: str
    direction: str  # DIRECTIONS
    caller: str  # calling number as presented
    callee: str  # dialled number; the DID for inbound calls
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
    """The CDR of a whole call, emitted once when it is over. ``at``: when it ended."""

    KIND: ClassVar[str] = "call_ended"
    call_uuid: str
    direction: str
    caller: str
    callee: str
    started_at: float
    hangup_cause: str  # FreeSWITCH cause name, e.g. NORMAL_CLEARING
    answered_at: float | None = None
    did: str = ""
    queue: str = ""  # queue code, empty when the call never queued
    agent_id: int | None = None  # telephony Agent id of the agent who talked last
    ivr_flow: str = ""
    recording_path: str = ""
    # "caller", "agent", "supervisor", "system" or FAILOVER when known; "customer" on a call
    # the agent dialled (the callee hung up).
    hangup_by: str = ""
    node: str = ""
    # Seconds the caller talked with agents (0: none). None: not known, the time from the
    # answer to the end stands in (what FreeSWITCH calls billsec).
    talk_seconds: float | None = None

    def __post_init__(self) -> None:
        _require(bool(self.call_uuid), "call_uuid must not be empty")
        _check_member(self.direction, DIRECTIONS, "direction")
        _check_not_negative(self.talk_seconds, "talk_seconds")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class FailoverEnded:
    """A call that reached the failover ring group ended: the switch's own record of it
    (cti/failover.py), read by a daemon maybe long after. ``at``: when it ended.

    It completes the call's CDR with the switch's times and cause: the rest (queue, agent,
    IVR flow, recording) is what a daemon knew of the call, if one did; a call no daemon saw
    gets a CDR from this fact alone."""

    KIND: ClassVar[str] = "failover_ended"
    call_uuid: str
    caller: str
    callee: str  # the dialled number (the DID)
    started_at: float
    hangup_cause: str
    answered_at: float | None = None
    node: str = ""
    talk_seconds: float = 0.0  # with the ring group

    def __post_init__(self) -> None:
        _require(bool(self.call_uuid), "call_uuid must not be empty")
        _check_not_negative(self.talk_seconds, "talk_seconds")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class LegEnded:
    """The CDR of one leg (caller, agent, supervisor, outside party). ``at``: when it ended."""

    KIND: ClassVar[str] = "leg_ended"
    leg_uuid: str
    call_uuid: str
    party: str  # LEG_PARTIES
    number: str
    started_at: float
    hangup_cause: str
    answered_at: float | None = None
    agent_id: int | None = None

    def __post_init__(self) -> None:
        _require(bool(self.leg_uuid), "leg_uuid must not be empty")
        _check_member(self.party, LEG_PARTIES, "party")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """An agent moved from state ``old`` to ``new``. ``at``: when."""

    KIND: ClassVar[str] = "agent_state_changed"
    agent_id: int
    old: str
    new: str
    reason: str = ""  # busy reason code, "no_answer", "supervisor"...
    duration: float | None = None  # seconds spent in ``old``, when known
    call_uuid: str = ""  # the call that caused the change, if any

    def __post_init__(self) -> None:
        _check_not_negative(self.duration, "duration")

    @property
    def subject(self) -> str:
        return f"agent:{self.agent_id}"


@dataclass(frozen=True, slots=True)
class QueueEntered:
    """A call joined a queue at ``entered_at`` (default ``at``), which names the entry."""

    KIND: ClassVar[str] = "queue_entered"
    call_uuid: str
    queue: str
    position: int  # 1 = first in line
    entered_at: float | None = None  # when absent, the fact's ``at``

    def __post_init__(self) -> None:
        _require(self.position >= 1, "position starts at 1")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class QueueExited:
    """A call left a queue. ``entered_at`` is the ``at`` of its queue_entered fact."""

    KIND: ClassVar[str] = "queue_exited"
    call_uuid: str
    queue: str
    entered_at: float
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
    """呼损: the caller hung up while waiting in a queue. ``at``: when the caller gave up."""

    KIND: ClassVar[str] = "call_abandoned"
    call_uuid: str
    queue: str
    entered_at: float  # the ``at`` of the queue_entered fact
    wait_seconds: float
    position: int  # position when the caller gave up

    def __post_init__(self) -> None:
        _check_not_negative(self.wait_seconds, "wait_seconds")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class RecordingSaved:
    """A recording file was closed on disk. ``at``: when it was saved."""

    KIND: ClassVar[str] = "recording_saved"
    call_uuid: str
    path: str
    duration: float  # seconds
    size: int  # bytes
    channels: int  # 1 mono, 2 stereo (caller left, agent right)
    agent_id: int | None = None

    def __post_init__(self) -> None:
        _require(self.channels in (1, 2), "channels must be 1 or 2")
        _check_not_negative(self.size, "size")
        _check_not_negative(self.duration, "duration")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class SurveyScored:
    """The caller rated the call (1 very unsatisfied ... 4 very satisfied). ``at``: when."""

    KIND: ClassVar[str] = "survey_scored"
    call_uuid: str
    score: int
    agent_id: int | None = None
    queue: str = ""

    def __post_init__(self) -> None:
        _require(1 <= self.score <= 4, f"score must be 1 to 4, not {self.score}")

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class IvrPathTaken:
    """The path one call took through an IVR flow. ``at``: when the flow finished."""

    KIND: ClassVar[str] = "ivr_path"
    call_uuid: str
    flow: str
    started_at: float
    nodes: list[str] = field(default_factory=list)  # node ids in the order visited
    digits: dict[str, Any] = field(default_factory=dict)  # DTMF input, by node id
    variables: dict[str, Any] = field(default_factory=dict)
    exit: str = ""  # how the flow ended: "queue:<code>", "hangup", "transfer:<number>"...

    @property
    def subject(self) -> str:
        return self.call_uuid


@dataclass(frozen=True, slots=True)
class SupervisorActionTaken:
    """Audit of a supervisor's intervention. ``at``: when it was carried out."""

    KIND: ClassVar[str] = "supervisor_action"
    supervisor_id: int  # accounts.User id
    action: str  # SUPERVISOR_ACTIONS
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
    """A caller left a voicemail for an agent group. ``at``: when the message was saved."""

    KIND: ClassVar[str] = "voicemail_left"
    call_uuid: str
    path: str
    duration: float  # seconds
    caller: str = ""
    group_id: int | None = None  # telephony AgentGroup id

    def __post_init__(self) -> None:
        _check_not_negative(self.duration, "duration")

    @property
    def subject(self) -> str:
        return self.call_uuid


Fact = (
    CallStarted
    | CallEnded
    | FailoverEnded
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
            FailoverEnded,
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


def _checker(annotation: Any, name: str) -> Callable[[Any], Any]:
    """A function that checks one JSON value against a field annotation and returns it.

    Ints are accepted for floats; None only where the annotation allows it.
    """
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [option for option in typing.get_args(annotation) if option is not NoneType]
        check_inner = _checker(inner, name)
        return lambda value: None if value is None else check_inner(value)
    if annotation is str:
        return lambda value: value if type(value) is str else _refuse(f"{name} must be a string")
    if annotation is int:
        return lambda value: value if type(value) is int else _refuse(f"{name} must be int")
    if annotation is float:
        return lambda value: (
            float(value) if type(value) in (int, float) else _refuse(f"{name} must be a number")
        )
    if origin is list:
        return lambda value: (
            list(value)
            if type(value) is list and all(type(item) is str for item in value)
            else _refuse(f"{name} must be a list of strings")
        )
    if origin is dict:
        return lambda value: (
            dict(value) if type(value) is dict else _refuse(f"{name} must be an object")
        )
    raise TypeError(f"{name}: unsupported annotation {annotation!r}")


def _refuse(message: str) -> Any:
    raise FactError(message)


@dataclass(frozen=True, slots=True)
class _FieldRule:
    name: str
    check: Callable[[Any], Any]
    required: bool


# Resolved once at import, so decoding a fact does no reflection.
_FIELD_RULES: Mapping[str, tuple[_FieldRule, ...]] = types.MappingProxyType(
    {
        kind: tuple(
            _FieldRule(
                spec.name,
                _checker(typing.get_type_hints(cls)[spec.name], spec.name),
                spec.default is MISSING and spec.default_factory is MISSING,
            )
            for spec in fields(cls)
        )
        for kind, cls in FACT_TYPES.items()
    }
)


def decode_fact(kind: str, payload: Any) -> Fact:
    """Build the typed fact for a stream entry; raises FactError when it does not fit.

    Keys the catalogue does not know are ignored, so a newer daemon may add optional fields
    before the persister learns them; None for a field that has a default means the default.
    """
    cls = FACT_TYPES.get(kind)
    if cls is None:
        raise FactError(f"unknown fact kind {kind!r}")
    _require(type(payload) is dict, "payload must be a JSON object")
    values: dict[str, Any] = {}
    for rule in _FIELD_RULES[kind]:
        value = payload.get(rule.name)
        if value is None:
            if rule.required:
                raise FactError(f"payload lacks {rule.name!r}")
            # The daemon's models hold None for "not known"; the catalogue's default says so.
            continue
        values[rule.name] = rule.check(value)
    return cls(**values)


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

# The same append for an agent_state_changed fact whose ``duration`` (seconds in the old
# state) the script works out from the agent's "since" key, which it moves to the change's
# time: so the read, the move and the append need no reply and can wait in a batch.
# KEYS[1] stream, KEYS[2] counter, KEYS[3] since key; ARGV: ttl, maxlen, kind, subject, at,
# payload up to the duration's value, payload after it. A missing or unreadable previous time
# (or one after ``at``) gives null, "not known". %.17g keeps the double exact.
_APPEND_AGENT_SCRIPT = """
local previous = tonumber(redis.call('GET', KEYS[3]) or '')
redis.call('SET', KEYS[3], ARGV[5])
local duration = 'null'
if previous then
  local seconds = tonumber(ARGV[5]) - previous
  if seconds >= 0 then duration = string.format('%.17g', seconds) end
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], now[1] .. string.format('%06d', now[2]))
end
local seq = string.format('%d', redis.call('INCR', KEYS[2]))
redis.call('EXPIRE', KEYS[2], ARGV[1])
local payload = ARGV[6] .. duration .. ARGV[7]
local id
if ARGV[2] ~= '' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'kind', ARGV[3],
    'subject', ARGV[4], 'seq', seq, 'at', ARGV[5], 'payload', payload)
else
  id = redis.call('XADD', KEYS[1], '*', 'kind', ARGV[3],
    'subject', ARGV[4], 'seq', seq, 'at', ARGV[5], 'payload', payload)
end
return {id, seq}
"""


# json.dumps with these options builds a new encoder on every call; one is enough.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode

# The payload fields of each kind, in declaration order (asdict copies every value deeply;
# a payload is encoded at once, so the fact's own values do).
_PAYLOAD_FIELDS: Mapping[type, tuple[str, ...]] = types.MappingProxyType(
    {cls: tuple(spec.name for spec in fields(cls)) for cls in FACT_TYPES.values()}
)


def _batch_of(client: Any) -> Any:
    """The current batch pipeline of a batching client (cti.notify.BatchingRedis), or None."""
    method = getattr(client, "queued", None)
    return method() if method is not None else None


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
        """Append one fact and return its stream id. ``at`` defaults to now.

        Inside a write batch of the client (``cti.notify.BatchingRedis.batch``) the append
        joins the batch and the id is not known yet: it returns "".
        """
        batch = _batch_of(self.redis)
        if batch is not None:
            self.append_to(batch, kind, subject, payload, at)
            return ""
        stream_id, _ = self.emit_with_seq(kind, subject, payload, at)
        return stream_id

    def _args(self, kind: str, subject: str, encoded: str, at: float | None) -> list[Any]:
        when = time.time() if at is None else at
        return [
            self.counter_ttl_seconds,
            "" if self.maxlen is None else self.maxlen,
            kind,
            subject,
            repr(float(when)),
            encoded,
        ]

    def append_to(
        self, pipe: Any, kind: str, subject: str, payload: dict, at: float | None = None
    ) -> None:
        """Add the append of one fact to a pipeline (the same atomic script as emit; its
        reply, ``[stream id, seq]``, comes with the pipeline's)."""
        args = self._args(kind, subject, _encode(payload), at)
        # EVAL, not EVALSHA: a pipeline cannot reload a script Redis lost, and a fact that
        # failed with NOSCRIPT after the live change was sent would break the order.
        pipe.eval(_APPEND_SCRIPT, 2, self.stream, self.counter_key(subject), *args)

    def agent_state_changed_since(
        self,
        since_key: str,
        *,
        agent_id: int,
        old: str,
        new: str,
        reason: str = "",
        call_uuid: str = "",
        at: float,
        pipe: Any = None,
    ) -> None:
        """An agent_state_changed fact whose duration is ``at`` minus the time stored at
        ``since_key`` (none when absent), which then becomes ``at``. Read, move and append
        are one script, added to ``pipe`` (sent at once without one)."""
        fact = AgentStateChanged(agent_id, old, new, reason, None, call_uuid)
        head = _encode({"agent_id": agent_id, "old": old, "new": new, "reason": reason})
        tail = ',"call_uuid":' + _encode(call_uuid) + "}"
        args = self._args(fact.KIND, fact.subject, "", at)
        args[-1:] = [head[:-1] + ',"duration":', tail]
        keys = (self.stream, self.counter_key(fact.subject), since_key)
        if pipe is None:
            self.redis.eval(_APPEND_AGENT_SCRIPT, 3, *keys, *args)
        else:
            pipe.eval(_APPEND_AGENT_SCRIPT, 3, *keys, *args)

    def emit_with_seq(
        self, kind: str, subject: str, payload: dict, at: float | None = None
    ) -> tuple[str, int]:
        """Like emit, and also return the sequence number the fact received."""
        stream_id, seq = self._append(
            keys=[self.stream, self.counter_key(subject)],
            args=self._args(kind, subject, _encode(payload), at),
        )
        if isinstance(stream_id, bytes):
            stream_id = stream_id.decode()
        return stream_id, int(seq)

    def record(self, fact: Fact, at: float | None = None) -> str:
        """Append a typed fact under its own kind and subject."""
        names = _PAYLOAD_FIELDS.get(type(fact))
        payload = (
            {name: getattr(fact, name) for name in names} if names is not None else asdict(fact)
        )
        return self.emit(fact.KIND, fact.subject, payload, at)

    # Typed helpers, one per kind. ``at`` is when the fact happened (epoch seconds, default
    # now); the payload's own times (started_at, entered_at...) are also epoch seconds.

    def call_started(
        self,
        *,
        call_uuid: str,
        direction: str,
        caller: str,
        callee: str,
        did: str = "",
        node: str = "",
        at: float | None = None,
    ) -> str:
        return self.record(CallStarted(call_uuid, direction, caller, callee, did, node), at)

    def call_ended(
        self,
        *,
        call_uuid: str,
        direction: str,
        caller: str,
        callee: str,
        started_at: float,
        hangup_cause: str,
        answered_at: float | None = None,
        did: str = "",
        queue: str = "",
        agent_id: int | None = None,
        ivr_flow: str = "",
        recording_path: str = "",
        hangup_by: str = "",
        node: str = "",
        talk_seconds: float | None = None,
        at: float | None = None,
    ) -> str:
        fact = CallEnded(
            call_uuid=call_uuid,
            direction=direction,
            caller=caller,
            callee=callee,
            started_at=started_at,
            hangup_cause=hangup_cause,
            answered_at=answered_at,
            did=did,
            queue=queue,
            agent_id=agent_id,
            ivr_flow=ivr_flow,
            recording_path=recording_path,
            hangup_by=hangup_by,
            node=node,
            talk_seconds=talk_seconds,
        )
        return self.record(fact, at)

    def failover_ended(
        self,
        *,
        call_uuid: str,
        caller: str,
        callee: str,
        started_at: float,
        hangup_cause: str,
        answered_at: float | None = None,
        node: str = "",
        talk_seconds: float = 0.0,
        at: float | None = None,
    ) -> str:
        fact = FailoverEnded(
            call_uuid, caller, callee, started_at, hangup_cause, answered_at, node, talk_seconds
        )
        return self.record(fact, at)

    def leg_ended(
        self,
        *,
        leg_uuid: str,
        call_uuid: str,
        party: str,
        number: str,
        started_at: float,
        hangup_cause: str,
        answered_at: float | None = None,
        agent_id: int | None = None,
        at: float | None = None,
    ) -> str:
        fact = LegEnded(
            leg_uuid, call_uuid, party, number, started_at, hangup_cause, answered_at, agent_id
        )
        return self.record(fact, at)

    def agent_state_changed(
        self,
        *,
        agent_id: int,
        old: str,
        new: str,
        reason: str = "",
        duration: float | None = None,
        call_uuid: str = "",
        at: float | None = None,
    ) -> str:
        return self.record(AgentStateChanged(agent_id, old, new, reason, duration, call_uuid), at)

    def queue_entered(self, *, call_uuid: str, queue: str, position: int, entered_at: float) -> str:
        """``entered_at`` names the queue entry: pass the same value to queue_exited."""
        return self.record(QueueEntered(call_uuid, queue, position, entered_at), entered_at)

    def queue_exited(
        self,
        *,
        call_uuid: str,
        queue: str,
        entered_at: float,
        outcome: str,
        agent_id: int | None = None,
        position: int | None = None,
        overflow_target: str = "",
        at: float | None = None,
    ) -> str:
        exited = _now(at)
        fact = QueueExited(
            call_uuid=call_uuid,
            queue=queue,
            entered_at=entered_at,
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
        at: float | None = None,
    ) -> str:
        abandoned = _now(at)
        wait = max(0.0, abandoned - entered_at)
        return self.record(CallAbandoned(call_uuid, queue, entered_at, wait, position), abandoned)

    def recording_saved(
        self,
        *,
        call_uuid: str,
        path: str,
        duration: float,
        size: int,
        channels: int,
        agent_id: int | None = None,
        at: float | None = None,
    ) -> str:
        fact = RecordingSaved(call_uuid, path, duration, size, channels, agent_id)
        return self.record(fact, at)

    def survey_scored(
        self,
        *,
        call_uuid: str,
        score: int,
        agent_id: int | None = None,
        queue: str = "",
        at: float | None = None,
    ) -> str:
        return self.record(SurveyScored(call_uuid, score, agent_id, queue), at)

    def ivr_path(
        self,
        *,
        call_uuid: str,
        flow: str,
        started_at: float,
        nodes: list[str],
        digits: dict[str, Any] | None = None,
        variables: dict[str, Any] | None = None,
        exit: str = "",
        at: float | None = None,
    ) -> str:
        fact = IvrPathTaken(
            call_uuid, flow, started_at, list(nodes), dict(digits or {}), dict(variables or {}),
            exit,
        )  # fmt: skip
        return self.record(fact, at)

    def supervisor_action(
        self,
        *,
        supervisor_id: int,
        action: str,
        result: str,
        target_agent_id: int | None = None,
        target_call_uuid: str = "",
        detail: str = "",
        at: float | None = None,
    ) -> str:
        fact = SupervisorActionTaken(
            supervisor_id, action, result, target_agent_id, target_call_uuid, detail
        )
        return self.record(fact, at)

    def voicemail_left(
        self,
        *,
        call_uuid: str,
        path: str,
        duration: float,
        caller: str = "",
        group_id: int | None = None,
        at: float | None = None,
    ) -> str:
        return self.record(VoicemailLeft(call_uuid, path, duration, caller, group_id), at)


def _now(moment: float | None) -> float:
    return time.time() if moment is None else moment
