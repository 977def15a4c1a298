"""Live ACD state in Redis: agents, waiting calls, offers. Every change is one Lua script.

The daemon is the only writer (ARCHITECTURE rule 1). Several daemons may share one Redis:
picking an agent and marking it offered happen in the same script (rule 3), so one agent is
never given two calls. Key names are listed in docs/acd.md.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import redis

from cti.acd import lua
from cti.acd.strategies import AgentStatus, WaitingCall

S = AgentStatus


class Operation(StrEnum):
    """The operations that change an agent's status."""

    LOGIN = "login"
    LOGOUT = "logout"
    SET_READY = "set_ready"
    SET_BUSY = "set_busy"
    RESERVE = "reserve"
    OFFER_ANSWERED = "offer_answered"
    OFFER_FAILED = "offer_failed"
    CALL_ENDED = "call_ended"
    WRAP_UP_DONE = "wrap_up_done"
    TAKE_CALL = "take_call"


# The agent state machine as data: each operation, the statuses it may start from and the
# statuses it may lead to. Scripts receive the allowed sources from here and refuse others.
OPERATIONS: Mapping[Operation, tuple[frozenset[AgentStatus], frozenset[AgentStatus]]] = {
    Operation.LOGIN: (frozenset({S.LOGGED_OUT}), frozenset({S.READY, S.BUSY})),
    Operation.LOGOUT: (frozenset({S.READY, S.BUSY, S.WRAP_UP}), frozenset({S.LOGGED_OUT})),
    Operation.SET_READY: (frozenset({S.BUSY, S.WRAP_UP}), frozenset({S.READY})),
    Operation.SET_BUSY: (frozenset({S.READY, S.BUSY, S.WRAP_UP}), frozenset({S.BUSY})),
    Operation.RESERVE: (frozenset({S.READY}), frozenset({S.OFFERED})),
    Operation.OFFER_ANSWERED: (frozenset({S.OFFERED}), frozenset({S.TALKING})),
    Operation.OFFER_FAILED: (frozenset({S.OFFERED}), frozenset({S.READY, S.BUSY})),
    Operation.CALL_ENDED: (frozenset({S.TALKING}), frozenset({S.WRAP_UP, S.READY})),
    Operation.WRAP_UP_DONE: (frozenset({S.WRAP_UP}), frozenset({S.READY})),
    # A consulted agent (busy "consult") takes over the call the first agent left.
    Operation.TAKE_CALL: (frozenset({S.BUSY}), frozenset({S.TALKING})),
}

TRANSITIONS: frozenset[tuple[AgentStatus, AgentStatus]] = frozenset(
    (source, target)
    for sources, targets in OPERATIONS.values()
    for source in sources
    for target in targets
)


def can_transition(source: AgentStatus, target: AgentStatus) -> bool:
    """Is ``source -> target`` a transition of the agent state machine?"""
    return (source, target) in TRANSITIONS


class OfferOutcome(StrEnum):
    """Why an offer ended without the agent answering."""

    NO_ANSWER = "no_answer"
    REJECT = "reject"
    BUSY = "busy"
    # Not the agent's fault: another agent answered a ring-all call, or the caller left.
    CANCELLED = "cancelled"


# The busy reason set after too many no-answers in a row (a system BusyReason, written by
# the OFFER_FAILED script).
NO_ANSWER_REASON = "no_answer"
# Separates the packed details of a call (the ASCII unit separator never occurs in them).
_FIELD_SEPARATOR = "\x1f"


class AcdError(Exception):
    """Base of the store's refusals."""


class IllegalTransition(AcdError):
    """The operation is not allowed from the agent's current status."""

    def __init__(self, agent_id: int, operation: Operation, current: str) -> None:
        super().__init__(f"agent {agent_id}: {operation} is not allowed from {current}")
        self.agent_id = agent_id
        self.operation = operation
        self.current = AgentStatus(current)


class StaleCall(AcdError):
    """The event names a call the agent is no longer offered or talking to."""

    def __init__(self, agent_id: int, expected: str, actual: str) -> None:
        super().__init__(f"agent {agent_id} is on call {actual!r}, not {expected!r}")
        self.agent_id = agent_id
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True, slots=True)
class StateChange:
    """One agent status change, returned by the store so the caller can publish it."""

    agent_id: int
    old: AgentStatus
    new: AgentStatus
    at: float
    reason: str = ""
    call_uuid: str | None = None


@dataclass(frozen=True, slots=True)
class OfferEnd:
    """The result of an offer that ended unanswered (or was cancelled)."""

    change: StateChange
    # Agents still ringing for the same call (ring-all); empty when the call needs routing.
    still_ringing: tuple[int, ...]
    # The call's state after the change: "waiting" (route it again), "connected", or ""
    # when the call is no longer in the ACD.
    call_state: str


@dataclass(frozen=True, slots=True)
class Answered:
    """The result of offer_answered: the change, and ring-all agents to cancel."""

    change: StateChange
    cancel_agents: tuple[int, ...]


class LiveAgent(NamedTuple):
    """An agent's live stats as read from Redis (counters already reset for a new day).

    A named tuple: routing reads a hundred of these per call and tuples build fastest.
    """

    id: int
    status: AgentStatus
    registered: bool
    available_at: float
    calls_today: int
    talk_seconds_today: float
    idle_since: float


@dataclass(frozen=True, slots=True)
class GroupState:
    """What routing reads about a group in one round trip."""

    logged_in: int
    rotation_pointer: int | None
    agents: tuple[LiveAgent, ...]


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A queue's live figures as a script left them: waiting calls, and the arrival time of
    the longest waiting one (None when the queue is empty)."""

    queue: str
    waiting: int
    oldest_arrival: float | None

    def longest_wait(self, now: float) -> float:
        """Seconds the longest-waiting call has waited at ``now`` (0 when empty)."""
        if self.oldest_arrival is None:
            return 0.0
        return max(0.0, now - self.oldest_arrival)

    @classmethod
    def parse(cls, queue: str, waiting: Any, oldest: Any) -> QueueStats:
        return cls(queue, int(waiting), float(oldest) if oldest not in ("", None) else None)


@dataclass(frozen=True, slots=True)
class Reservation:
    """The outcome of reserve(): agents now offered the call, or where it waits."""

    agent_ids: tuple[int, ...]
    # The extensions the agents logged in on, in the same order (what the daemon rings).
    extensions: tuple[str, ...] = ()
    # When nobody was reserved: the call's 1-based position and the group's ready-set size.
    position: int = 0
    ready_agents: int = 0
    # False when the call was not waiting (already offered, connected or gone).
    call_waiting: bool = True
    # The queue's figures right after (None when the call was not waiting).
    stats: QueueStats | None = None


@dataclass(frozen=True, slots=True)
class RemovedCall:
    """A call taken out of the ACD, and the agents that were ringing for it."""

    queue: str
    state: str
    offered_agents: tuple[int, ...]
    # Its 1-based position in the queue when it left (None when it was not waiting).
    position: int | None = None
    # The queue's figures after it left.
    stats: QueueStats | None = None


@dataclass(frozen=True, slots=True)
class QueuedCallRef:
    """A waiting call as the agent-ready path sees it, straight from the sorted set."""

    queue: str
    member: str
    priority: int
    arrived_ms: int
    uuid: str
    required_skills: Mapping[str, int]


def _csv_ids(text: str | None) -> tuple[int, ...]:
    return tuple(int(value) for value in text.split(",") if value) if text else ()


def encode_skills(skills: Mapping[str, int]) -> str:
    """Skills as ``code=level`` pairs (skill codes are slugs, so the separators are safe)."""
    return ",".join(f"{code}={level}" for code, level in sorted(skills.items()))


def decode_skills(text: str) -> dict[str, int]:
    result: dict[str, int] = {}
    for pair in text.split(","):
        if pair:
            code, _, level = pair.partition("=")
            result[code] = int(level)
    return result


def queue_member(call: WaitingCall) -> str:
    """The sorted-set member of a waiting call.

    Members of equal score (priority) sort lexicographically, so the zero-padded arrival time
    in front keeps first-come-first-served within a priority; the call's skills ride along
    so the agent-ready path can match calls without reading their hashes.
    """
    arrived_ms = int(call.arrived_at * 1000)
    return f"{arrived_ms:015d}|{call.uuid}|{encode_skills(call.required_skills)}"


def parse_member(queue: str, member: str, score: float) -> QueuedCallRef:
    arrived, uuid, skills = member.split("|", 2)
    return QueuedCallRef(queue, member, int(-score), int(arrived), uuid, decode_skills(skills))


class AcdStore:
    """Agents, queues and offers in Redis; every state change is atomic and returns old/new.

    ``client`` must decode responses (``decode_responses=True``). ``clock`` returns epoch
    seconds; ``timezone`` decides where "today" ends for the daily counters.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "cc:",
        clock: Callable[[], float] = time.time,
        timezone: str = "Asia/Shanghai",
    ) -> None:
        # Typed loosely: redis-py's stubs do not know replies are str with decode_responses.
        self.client: Any = client
        self.prefix = prefix
        self._clock = clock
        self._zone = ZoneInfo(timezone)

        def register(body: str) -> Any:
            return client.register_script(lua.HELPERS + body)

        self._login = register(lua.LOGIN)
        self._logout = register(lua.LOGOUT)
        self._set_status = register(lua.SET_STATUS)
        self._set_registered = register(lua.SET_REGISTERED)
        self._fetch_group = register(lua.FETCH_GROUP)
        self._reserve = register(lua.RESERVE)
        self._claim = register(lua.CLAIM)
        self._offer_answered = register(lua.OFFER_ANSWERED)
        self._offer_failed = register(lua.OFFER_FAILED)
        self._call_ended = register(lua.CALL_ENDED)
        self._take_call = register(lua.TAKE_CALL)
        self._remove_call = register(lua.REMOVE_CALL)
        self._due = register(lua.DUE)

    # -- helpers -----------------------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    def today(self, now: float | None = None) -> str:
        """The local date whose counters are "today" (YYYYMMDD in the center's timezone)."""
        moment = dt.datetime.fromtimestamp(self.now() if now is None else now, self._zone)
        return moment.strftime("%Y%m%d")

    def agent_key(self, agent_id: int) -> str:
        return f"{self.prefix}agent:{agent_id}"

    def call_key(self, call_uuid: str) -> str:
        return f"{self.prefix}call:{call_uuid}"

    def waiting_key(self, queue: str) -> str:
        return f"{self.prefix}queue:{queue}:waiting"

    def arrivals_key(self, queue: str) -> str:
        return f"{self.prefix}queue:{queue}:arrivals"

    def rotation_key(self, queue: str) -> str:
        return f"{self.prefix}queue:{queue}:rotation"

    def ready_key(self, group_id: int) -> str:
        return f"{self.prefix}group:{group_id}:ready"

    def logged_in_key(self, group_id: int) -> str:
        return f"{self.prefix}group:{group_id}:logged_in"

    def _execute(self, pipe: Any) -> list[Any]:
        """Run a pipeline of reads; on a batching client (cti.notify.BatchingRedis) the
        greenlet's waiting writes go in the same round trip."""
        execute = getattr(self.client, "execute_pipeline", None)
        return execute(pipe) if execute is not None else pipe.execute()

    @staticmethod
    def _allowed(operation: Operation) -> str:
        return ",".join(sorted(OPERATIONS[operation][0]))

    def _change(
        self,
        agent_id: int,
        operation: Operation,
        result: Sequence[Any],
        now: float,
        reason: str = "",
        call_uuid: str | None = None,
    ) -> StateChange:
        if result[0] == "ILLEGAL":
            raise IllegalTransition(agent_id, operation, result[1])
        if result[0] == "STALE":
            raise StaleCall(agent_id, call_uuid or "", result[1])
        return StateChange(
            agent_id, AgentStatus(result[0]), AgentStatus(result[1]), now, reason, call_uuid
        )

    # -- agent status ------------------------------------------------------------------

    def login(
        self,
        agent_id: int,
        extension: str,
        groups: Iterable[int],
        *,
        ready: bool = True,
        busy_reason: str = "",
        registered: bool | None = None,
    ) -> StateChange:
        """Log an agent in on an extension, ready or busy; ``registered`` None keeps it."""
        now = self.now()
        status = AgentStatus.READY if ready else AgentStatus.BUSY
        reason = "" if ready else busy_reason
        flag = "" if registered is None else ("1" if registered else "0")
        groups_csv = ",".join(str(group) for group in groups)
        result = self._login(
            args=[
                self.prefix,
                agent_id,
                self._allowed(Operation.LOGIN),
                repr(now),
                extension,
                groups_csv,
                status.value,
                reason,
                flag,
            ]
        )
        return self._change(agent_id, Operation.LOGIN, result, now, reason)

    def logout(self, agent_id: int) -> StateChange:
        now = self.now()
        result = self._logout(args=[self.prefix, agent_id, self._allowed(Operation.LOGOUT), now])
        return self._change(agent_id, Operation.LOGOUT, result, now)

    def _set(
        self, agent_id: int, operation: Operation, status: AgentStatus, reason: str
    ) -> StateChange:
        now = self.now()
        result = self._set_status(
            args=[
                self.prefix,
                agent_id,
                self._allowed(operation),
                repr(now),
                status.value,
                reason,
                0,
            ]
        )
        return self._change(agent_id, operation, result, now, reason)

    def set_ready(self, agent_id: int) -> StateChange:
        return self._set(agent_id, Operation.SET_READY, AgentStatus.READY, "")

    def set_busy(self, agent_id: int, reason: str) -> StateChange:
        return self._set(agent_id, Operation.SET_BUSY, AgentStatus.BUSY, reason)

    def wrap_up_done(self, agent_id: int) -> StateChange:
        return self._set(agent_id, Operation.WRAP_UP_DONE, AgentStatus.READY, "")

    def wrap_up_done_with_heads(
        self, agent_id: int, queues: Sequence[str], per_queue: int
    ) -> tuple[StateChange, list[QueuedCallRef]]:
        """:meth:`wrap_up_done` and then :meth:`waiting_heads` of the agent's queues, in one
        round trip: the heads are read right after the agent turned ready, as when the two
        went one after the other (a call queued later sees the agent ready itself)."""
        now = self.now()
        operation = Operation.WRAP_UP_DONE
        pipe = self.client.pipeline(transaction=False)
        args = [self.prefix, agent_id, self._allowed(operation), repr(now), "ready", "", 0]
        pipe.evalsha(self._set_status.sha, 0, *args)
        for code in queues:
            pipe.zrange(self.waiting_key(code), 0, per_queue - 1, withscores=True)
        try:
            result, *entries = self._execute(pipe)
        except redis.exceptions.NoScriptError:
            # Redis lost its scripts (restart, SCRIPT FLUSH): the status did not change.
            return self.wrap_up_done(agent_id), self.waiting_heads(queues, per_queue)
        change = self._change(agent_id, operation, result, now, "")
        refs = [
            parse_member(code, member, score)
            for code, found in zip(queues, entries)
            for member, score in found
        ]
        return change, refs

    def set_registered(self, agent_id: int, registered: bool) -> tuple[bool, AgentStatus]:
        """Record SIP registration presence; returns (was registered, current status)."""
        result = self._set_registered(
            args=[self.prefix, agent_id, repr(self.now()), "1" if registered else "0"]
        )
        return result[0] == "1", AgentStatus(result[2])

    def offer_answered(self, agent_id: int, call_uuid: str) -> Answered:
        """The agent answered: offered -> talking; ring-all rivals are returned to cancel."""
        now = self.now()
        result = self._offer_answered(args=[self.prefix, agent_id, call_uuid, repr(now)])
        change = self._change(agent_id, Operation.OFFER_ANSWERED, result, now, "", call_uuid)
        return Answered(change, _csv_ids(result[2]))

    def offer_failed(
        self,
        agent_id: int,
        call_uuid: str,
        kind: OfferOutcome | str,
        *,
        delay_seconds: float = 0.0,
        max_no_answer: int = 3,
    ) -> OfferEnd:
        """An offer ended unanswered: ready after ``delay_seconds``, or busy "no_answer"
        once the agent missed ``max_no_answer`` offers in a row."""
        outcome = OfferOutcome(kind)
        now = self.now()
        result = self._offer_failed(
            args=[
                self.prefix,
                agent_id,
                call_uuid,
                repr(now),
                outcome.value,
                repr(now + delay_seconds),
                max_no_answer,
            ]
        )
        change = self._change(agent_id, Operation.OFFER_FAILED, result, now, "", call_uuid)
        change = StateChange(agent_id, change.old, change.new, now, result[2], call_uuid)
        return OfferEnd(change, _csv_ids(result[3]), result[4])

    def release_offer(self, agent_id: int, call_uuid: str) -> OfferEnd:
        """Cancel an offer without penalty (a ring-all rival answered, or the caller left)."""
        return self.offer_failed(agent_id, call_uuid, OfferOutcome.CANCELLED)

    def call_ended(
        self, agent_id: int, call_uuid: str, talk_seconds: float, wrap_up_seconds: float
    ) -> StateChange:
        """The agent's call ended: counters updated, wrap-up until now + wrap_up_seconds
        (straight to ready when that is zero). The call leaves the ACD."""
        now = self.now()
        result = self._call_ended(
            args=[
                self.prefix,
                agent_id,
                call_uuid,
                repr(now),
                repr(float(talk_seconds)),
                self.today(now),
                repr(float(wrap_up_seconds)),
            ]
        )
        return self._change(agent_id, Operation.CALL_ENDED, result, now, "", call_uuid)

    def take_call(self, agent_id: int, call_uuid: str, reason: str = "consult") -> StateChange:
        """The agent, busy with ``reason`` on a consultation, takes over the call the first
        agent left: talking on it, so it is the agent's call to end (and wrap up)."""
        now = self.now()
        operation = Operation.TAKE_CALL
        result = self._take_call(
            args=[self.prefix, agent_id, self._allowed(operation), call_uuid, repr(now), reason]
        )
        return self._change(agent_id, operation, result, now, "", call_uuid)

    def agent(self, agent_id: int) -> dict[str, str]:
        """The raw hash of one agent (for status displays and tests)."""
        return self.client.hgetall(self.agent_key(agent_id))

    def status(self, agent_id: int) -> AgentStatus:
        value = self.client.hget(self.agent_key(agent_id), "status")
        return AgentStatus(value) if value else AgentStatus.LOGGED_OUT

    def due_wrap_ups(self, now: float | None = None) -> list[int]:
        """Agents whose wrap-up time is over (the daemon then calls wrap_up_done)."""
        moment = self.now() if now is None else now
        key = f"{self.prefix}agents:wrap_up"
        return [int(value) for value in self.client.zrangebyscore(key, "-inf", moment)]

    def due_delays(self, now: float | None = None) -> list[int]:
        """Ready agents whose reject/busy/no-answer delay is over; removed from the schedule."""
        moment = self.now() if now is None else now
        key = f"{self.prefix}agents:delayed"
        pipe = self.client.pipeline(transaction=True)
        pipe.zrangebyscore(key, "-inf", moment)
        pipe.zremrangebyscore(key, "-inf", moment)
        ids, _removed = pipe.execute()
        return [int(value) for value in ids]

    def due_work(
        self, queues: Iterable[str], now: float | None = None
    ) -> tuple[list[int], list[int], dict[str, int]]:
        """The tick's reads in one round trip: :meth:`due_wrap_ups`, :meth:`due_delays`
        (taken off the schedule) and :meth:`queue_lengths` of ``queues``."""
        codes = list(queues)
        moment = self.now() if now is None else now
        wrap_ups, delayed, lengths = self._due(args=[self.prefix, repr(moment), *codes])
        return (
            [int(value) for value in wrap_ups],
            [int(value) for value in delayed],
            {code: int(size) for code, size in zip(codes, lengths)},
        )

    # -- routing reads -----------------------------------------------------------------

    def group_records(
        self,
        group_id: int,
        *,
        rotation_queue: str | None = None,
        extra_agents: Iterable[int] = (),
    ) -> tuple[int, int | None, list[str]]:
        """One round trip: the group's logged-in count, the queue's rotation pointer, and the
        packed live records of the group's ready agents plus ``extra_agents`` (owner, last
        agent). :meth:`parse_record` reads a record; the router caches what it parsed, since
        most records are unchanged from one call to the next."""
        rotation = self.rotation_key(rotation_queue) if rotation_queue else ""
        extra = ",".join(str(agent_id) for agent_id in extra_agents)
        raw = self._fetch_group(args=[self.prefix, group_id, rotation, extra])
        pointer = int(raw[1]) if raw[1] else None
        return int(raw[0]), pointer, raw[2].split(";") if raw[2] else []

    @staticmethod
    def parse_record(record: str, today: str) -> LiveAgent:
        """A packed record (``id,status,registered,available_at,calls,talk,day,idle``)."""
        agent_id, status, registered, available_at, calls, talk, day, idle = record.split(",")
        same_day = day == today
        return LiveAgent(
            int(agent_id),
            AgentStatus(status or "logged_out"),
            registered == "1",
            float(available_at or 0),
            int(calls) if same_day and calls else 0,
            float(talk) if same_day and talk else 0.0,
            float(idle or 0),
        )

    def group_state(
        self,
        group_id: int,
        *,
        rotation_queue: str | None = None,
        extra_agents: Iterable[int] = (),
        now: float | None = None,
    ) -> GroupState:
        """:meth:`group_records`, parsed."""
        today = self.today(now)
        logged_in, pointer, records = self.group_records(
            group_id, rotation_queue=rotation_queue, extra_agents=extra_agents
        )
        agents = tuple(self.parse_record(record, today) for record in records)
        return GroupState(logged_in, pointer, agents)

    # -- queues and offers -------------------------------------------------------------

    def _call_fields(self, call: WaitingCall) -> list[str]:
        # What the scripts read stays in fields of its own; the rest travels as one packed
        # field, so queue entry sends a dozen arguments rather than thirty.
        details = _FIELD_SEPARATOR.join(
            (
                call.caller_number,
                str(call.priority),
                str(call.vip_level),
                "1" if call.is_long_distance else "0",
                "" if call.owner_agent_id is None else str(call.owner_agent_id),
                "" if call.last_agent_id is None else str(call.last_agent_id),
                "" if call.last_served_at is None else repr(call.last_served_at),
                encode_skills(call.required_skills),
            )
        )
        return [
            "queue", call.queue,
            "member", queue_member(call),
            "score", str(-call.priority),
            "arrived_at", repr(call.arrived_at),
            "state", "waiting",
            "details", details,
        ]  # fmt: skip

    def reserve(
        self,
        call: WaitingCall,
        agent_ids: Sequence[int],
        *,
        group_id: int,
        ring_together: bool = False,
        rotation_queue: str | None = None,
        enter: bool = False,
    ) -> Reservation:
        """Atomically offer the call to the first agent of ``agent_ids`` still eligible (every
        eligible one when ``ring_together``). Without one, the call waits in its queue.

        ``enter`` stores the call first (queue entry); otherwise the call must already be
        waiting (re-routing after a failed offer, or a retry).
        """
        now = self.now()
        args: list[Any] = [
            self.prefix,
            call.uuid,
            repr(now),
            "1" if ring_together else "0",
            self.rotation_key(rotation_queue) if rotation_queue else "",
            group_id,
            "1" if enter else "0",
        ]
        if enter:
            fields = self._call_fields(call)
            args.append(len(fields))
            args.extend(fields)
        args.extend(agent_ids)
        result = self._reserve(args=args)
        if result[0] == "OK":
            return Reservation(
                tuple(int(value) for value in result[3::2]),
                tuple(result[4::2]),
                stats=QueueStats.parse(call.queue, result[1], result[2]),
            )
        if result[0] == "NOCALL":
            return Reservation((), call_waiting=False)
        return Reservation(
            (),
            position=int(result[2]),
            ready_agents=int(result[1]),
            stats=QueueStats.parse(call.queue, result[3], result[4]),
        )

    def waiting_heads(self, queues: Iterable[str], per_queue: int) -> list[QueuedCallRef]:
        """The first ``per_queue`` waiting calls of each queue, in one pipeline round trip."""
        codes = list(queues)
        pipe = self.client.pipeline(transaction=False)
        for code in codes:
            pipe.zrange(self.waiting_key(code), 0, per_queue - 1, withscores=True)
        refs: list[QueuedCallRef] = []
        for code, entries in zip(codes, self._execute(pipe)):
            refs.extend(parse_member(code, member, score) for member, score in entries)
        return refs

    def claim(
        self, agent_id: int, calls: Sequence[QueuedCallRef]
    ) -> tuple[QueuedCallRef, str] | None:
        """Offer this agent the first call of ``calls`` still waiting (atomic). Returns the
        call and the agent's extension; None if the agent is not eligible any more or every
        call was taken."""
        if not calls:
            return None
        args: list[Any] = [self.prefix, agent_id, repr(self.now())]
        for ref in calls:
            args.extend((ref.queue, ref.member))
        result = self._claim(args=args)
        if result[0] != "OK":
            return None
        for ref in calls:
            if ref.uuid == result[1]:
                return ref, result[3]
        raise AcdError(f"claimed call {result[1]} was not among the candidates")

    def get_call(self, call_uuid: str) -> tuple[WaitingCall, str, tuple[int, ...]] | None:
        """A call in the ACD: the call, its state, and the agents that already failed it."""
        fields = self.client.hgetall(self.call_key(call_uuid))
        if not fields:
            return None
        caller, priority, vip, long_distance, owner, last_agent, last_served, skills = fields[
            "details"
        ].split(_FIELD_SEPARATOR)
        call = WaitingCall(
            uuid=call_uuid,
            queue=fields["queue"],
            caller_number=caller,
            priority=int(priority),
            vip_level=int(vip),
            is_long_distance=long_distance == "1",
            owner_agent_id=int(owner) if owner else None,
            last_agent_id=int(last_agent) if last_agent else None,
            last_served_at=float(last_served) if last_served else None,
            required_skills=decode_skills(skills),
            arrived_at=float(fields["arrived_at"]),
        )
        return call, fields["state"], _csv_ids(fields.get("tried"))

    def remove_call(self, call_uuid: str) -> RemovedCall | None:
        """Take a call out of the ACD (abandoned, overflowed); returns who was ringing, where
        it stood and the queue's figures after."""
        result = self._remove_call(args=[self.prefix, call_uuid])
        if result[0] != "OK":
            return None
        return RemovedCall(
            result[1],
            result[2],
            _csv_ids(result[3]),
            int(result[4]) if result[4] not in ("", None) else None,
            QueueStats.parse(result[1], result[5], result[6]),
        )

    def position(self, call_uuid: str) -> int | None:
        """1-based position of a waiting call in its queue; None when it is not waiting."""
        fields = self.client.hmget(self.call_key(call_uuid), "queue", "member")
        if not fields[0]:
            return None
        rank = self.client.zrank(self.waiting_key(fields[0]), fields[1])
        return None if rank is None else rank + 1

    def queue_length(self, queue: str) -> int:
        return int(self.client.zcard(self.waiting_key(queue)))

    def longest_wait(self, queue: str, now: float | None = None) -> float:
        """Seconds the longest-waiting call of the queue has waited (0 when empty)."""
        oldest = self.client.zrange(self.arrivals_key(queue), 0, 0, withscores=True)
        if not oldest:
            return 0.0
        return max(0.0, (self.now() if now is None else now) - oldest[0][1])

    def waiting_calls(self, queue: str) -> list[str]:
        """Uuids of the queue's waiting calls, in the order they will be served."""
        members = self.client.zrange(self.waiting_key(queue), 0, -1)
        return [member.split("|", 2)[1] for member in members]

    def queue_lengths(self, queues: Iterable[str]) -> dict[str, int]:
        """Waiting-call counts of several queues in one pipeline round trip."""
        codes = list(queues)
        pipe = self.client.pipeline(transaction=False)
        for code in codes:
            pipe.zcard(self.waiting_key(code))
        return {code: int(size) for code, size in zip(codes, self._execute(pipe))}
