"""The ACD router: strategies, modifiers and the Redis store composed into routing decisions.

The daemon calls :meth:`Router.route` when a call enters a queue, and the agent operations
(:meth:`Router.set_ready`, :meth:`Router.offer_failed`, ...) when agents or offers change;
each of those returns the offers it made so the daemon can ring the agents. Every change is
also reported to the injected :class:`~cti.acd.notifier.AcdNotifier`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cti.acd.modifiers import apply_preferred, call_priority, is_long_distance, preferred_agents
from cti.acd.notifier import AcdNotifier
from cti.acd.store import (
    AcdError,
    AcdStore,
    Answered,
    OfferEnd,
    OfferOutcome,
    QueuedCallRef,
    QueueStats,
    RemovedCall,
    StateChange,
)
from cti.acd.strategies import (
    AgentCandidate,
    AgentStatus,
    StrategyName,
    WaitingCall,
    has_skills,
    order_agents,
)
from cti.config import ConfigSnapshot


class UnknownQueue(AcdError):
    """The call names a queue the configuration snapshot does not have."""


class UnknownAgent(AcdError):
    """The agent is not in the configuration snapshot."""


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """The outcome of routing one call.

    ``reason`` is one of: owner_agent, last_agent, strategy, agent_ready (reserved), or
    no_agent_ready, no_agent_logged_in (waiting in the queue), call_not_waiting.
    """

    call_uuid: str
    queue: str
    agent_ids: tuple[int, ...]
    reason: str
    extensions: tuple[str, ...] = ()
    ring_together: bool = False
    ring_timeout_seconds: int = 0
    # 1-based queue position when the call waits.
    position: int = 0
    # The queue's figures right after the reservation script (None when it did not run on
    # a waiting call).
    stats: QueueStats | None = None

    @property
    def reserved(self) -> bool:
        return bool(self.agent_ids)


@dataclass
class Outcome:
    """What an agent operation changed, and the offers it made as a consequence."""

    changes: list[StateChange] = field(default_factory=list)
    offers: list[RouteDecision] = field(default_factory=list)
    # remove_call: the call taken out (None when it was not in the ACD).
    removed: RemovedCall | None = None


@dataclass(frozen=True, slots=True)
class _ConfigIndex:
    """The snapshot re-indexed for routing; rebuilt only when the snapshot changes."""

    snapshot: ConfigSnapshot
    members: Mapping[int, Mapping[int, tuple[int, int]]]
    skills: Mapping[int, Mapping[str, int]]
    agent_groups: Mapping[int, tuple[int, ...]]
    queues_by_group: Mapping[int, tuple[str, ...]]

    @classmethod
    def build(cls, snapshot: ConfigSnapshot) -> _ConfigIndex:
        members: dict[int, dict[int, tuple[int, int]]] = {}
        skills: dict[int, Mapping[str, int]] = {}
        agent_groups: dict[int, tuple[int, ...]] = {}
        for agent_id, agent in snapshot.agents_by_id.items():
            if not agent.get("enabled", True):
                continue
            skills[agent_id] = dict(agent.get("skills", {}))
            groups = []
            for membership in agent.get("groups", []):
                group = int(membership["group"])
                groups.append(group)
                members.setdefault(group, {})[agent_id] = (
                    int(membership.get("level", 1)),
                    int(membership.get("position", 1)),
                )
            agent_groups[agent_id] = tuple(groups)
        queues_by_group: dict[int, list[str]] = {}
        for code, queue in snapshot.queues_by_code.items():
            queues_by_group.setdefault(int(queue["group"]), []).append(code)
        return cls(
            snapshot,
            members,
            skills,
            agent_groups,
            {group: tuple(codes) for group, codes in queues_by_group.items()},
        )


class Router:
    """Routes calls to agents and keeps agent state, through :class:`AcdStore`.

    ``config`` returns the current configuration snapshot (for instance
    ``lambda: reader.current``). ``rng`` drives the random strategy (seed it for replays).
    ``center_area_code`` is the center's own area ("010" or "Beijing") for long distance.
    """

    def __init__(
        self,
        store: AcdStore,
        config: Callable[[], ConfigSnapshot],
        notifier: AcdNotifier,
        *,
        center_area_code: str = "",
        country: str = "CN",
        rng: random.Random | None = None,
        no_answer_delay_seconds: float = 5.0,
        reserve_window: int = 16,
        heads_per_queue: int = 8,
    ) -> None:
        self.store = store
        self._config = config
        self.notifier = notifier
        self.center_area_code = center_area_code
        self.country = country
        self._rng = rng or random.Random()
        self.no_answer_delay_seconds = no_answer_delay_seconds
        # Only the first few agents of an ordering go to Redis: the script stops at the first
        # eligible one, and a whole group would make every reservation carry it.
        self.reserve_window = reserve_window
        self.heads_per_queue = heads_per_queue
        self._index: _ConfigIndex | None = None
        self._cache_snapshot: ConfigSnapshot | None = None
        self._cache_day = ""
        self._candidate_cache: dict[int, dict[str, AgentCandidate]] = {}

    # -- configuration -----------------------------------------------------------------

    def _current(self) -> _ConfigIndex:
        snapshot = self._config()
        if self._index is None or self._index.snapshot is not snapshot:
            self._index = _ConfigIndex.build(snapshot)
        return self._index

    def _queue(self, code: str) -> dict[str, Any]:
        queue = self._current().snapshot.queues_by_code.get(code)
        if queue is None:
            raise UnknownQueue(code)
        return queue

    def _agent(self, agent_id: int) -> dict[str, Any]:
        agent = self._current().snapshot.agents_by_id.get(agent_id)
        if agent is None:
            raise UnknownAgent(agent_id)
        return agent

    def new_call(
        self,
        call_uuid: str,
        queue: str,
        caller_number: str = "",
        *,
        vip_level: int = 0,
        owner_agent_id: int | None = None,
        last_agent_id: int | None = None,
        last_served_at: float | None = None,
        extra_skills: Mapping[str, int] | None = None,
        arrived_at: float | None = None,
    ) -> WaitingCall:
        """Build the call entering ``queue``: priority from the queue's boosts, long distance
        from the caller's number, skills from the queue (plus any the IVR added)."""
        config = self._queue(queue)
        long_distance = bool(self.center_area_code) and is_long_distance(
            caller_number, self.center_area_code, self.country
        )
        skills = dict(config.get("required_skills", {}))
        for code, level in (extra_skills or {}).items():
            skills[code] = max(level, skills.get(code, 0))
        return WaitingCall(
            uuid=call_uuid,
            queue=queue,
            caller_number=caller_number,
            priority=call_priority(
                int(config.get("priority", 0)),
                vip_level,
                int(config.get("vip_priority_boost", 0)),
                long_distance,
                int(config.get("long_distance_priority_boost", 0)),
            ),
            vip_level=vip_level,
            is_long_distance=long_distance,
            owner_agent_id=owner_agent_id,
            last_agent_id=last_agent_id,
            last_served_at=last_served_at,
            required_skills=skills,
            arrived_at=self.store.now() if arrived_at is None else arrived_at,
        )

    # -- routing -----------------------------------------------------------------------

    def _candidates(
        self,
        index: _ConfigIndex,
        group: int,
        records: list[str],
        today: str,
        preferred: set[int],
        exclude: Iterable[int],
    ) -> list[AgentCandidate]:
        """Candidates from packed records; a record seen before (same agent, same stats, same
        configuration and day) reuses the candidate built then."""
        # Identity, not equality: comparing two snapshots would compare the whole config.
        if self._cache_snapshot is not index.snapshot or self._cache_day != today:
            self._cache_snapshot, self._cache_day = index.snapshot, today
            self._candidate_cache = {}
        cache = self._candidate_cache.setdefault(group, {})
        if len(cache) > 4 * len(records) + 1024:
            cache.clear()
        members = index.members.get(group, {})
        skipped = set(exclude)
        candidates = []
        seen: set[int] = set()
        for record in records:
            candidate = cache.get(record)
            if candidate is None:
                live = self.store.parse_record(record, today)
                membership = members.get(live.id)
                if membership is None and live.id not in preferred:
                    continue
                level, position = membership or (1, 1)
                candidate = AgentCandidate(
                    live.id,
                    live.status,
                    live.registered,
                    index.skills.get(live.id, {}),
                    level,
                    position,
                    live.calls_today,
                    live.talk_seconds_today,
                    live.idle_since,
                    live.available_at,
                )
                if membership is not None:
                    cache[record] = candidate
            if candidate.id in skipped or candidate.id in seen:
                continue
            seen.add(candidate.id)
            candidates.append(candidate)
        return candidates

    def route(
        self, call: WaitingCall, *, enter: bool = True, exclude: Sequence[int] = ()
    ) -> RouteDecision:
        """Reserve an agent for the call, or leave it waiting in its queue.

        ``enter`` is True when the call enters the queue, False to route a call that already
        waits (after an unanswered offer); ``exclude`` lists agents not to try this time.
        """
        index = self._current()
        queue = self._queue(call.queue)
        group = int(queue["group"])
        strategy = queue.get("strategy", StrategyName.LONGEST_IDLE)
        round_robin = strategy == StrategyName.ROUND_ROBIN
        timeout = int(queue.get("ring_timeout_seconds", 0))
        decision: RouteDecision | None = None
        for attempt in range(2):
            now = self.store.now()
            preferred = preferred_agents(
                call,
                route_to_owner_agent=bool(queue.get("route_to_owner_agent", False)),
                last_agent_lookback_days=int(queue.get("last_agent_lookback_days", 0)),
                now=now,
            )
            preferred_ids = {agent_id for agent_id, _ in preferred}
            logged_in, pointer, records = self.store.group_records(
                group,
                rotation_queue=call.queue if round_robin else None,
                extra_agents=preferred_ids,
            )
            today = self.store.today(now)
            candidates = self._candidates(index, group, records, today, preferred_ids, exclude)
            ordering = order_agents(
                strategy, call, candidates, now, rotation_pointer=pointer, rng=self._rng
            )
            ordering, reason = apply_preferred(call, ordering, candidates, preferred, now)
            agent_ids = ordering.agent_ids
            if not ordering.ring_together:
                agent_ids = agent_ids[: self.reserve_window]
            reservation = self.store.reserve(
                call,
                agent_ids,
                group_id=group,
                ring_together=ordering.ring_together,
                rotation_queue=call.queue if round_robin and reason == "strategy" else None,
                enter=enter and attempt == 0,
            )
            if reservation.agent_ids:
                decision = RouteDecision(
                    call.uuid,
                    call.queue,
                    reservation.agent_ids,
                    reason,
                    reservation.extensions,
                    ordering.ring_together and len(reservation.agent_ids) > 1,
                    timeout,
                    stats=reservation.stats,
                )
                self._announce_offer(decision, now)
                return decision
            if not reservation.call_waiting:
                return RouteDecision(call.uuid, call.queue, (), "call_not_waiting")
            reason = "no_agent_logged_in" if logged_in == 0 else "no_agent_ready"
            decision = RouteDecision(
                call.uuid,
                call.queue,
                (),
                reason,
                ring_timeout_seconds=timeout,
                position=reservation.position,
                stats=reservation.stats,
            )
            # An agent that turned ready after our read but before the call was queued may
            # have looked for waiting calls too early; one more pass closes that gap.
            if reservation.ready_agents == 0:
                break
        assert decision is not None
        self.notifier.call_queued(call, decision.position)
        return decision

    def _announce_offer(self, decision: RouteDecision, now: float) -> None:
        for agent_id in decision.agent_ids:
            self.notifier.agent_state_changed(
                StateChange(
                    agent_id, AgentStatus.READY, AgentStatus.OFFERED, now, "", decision.call_uuid
                )
            )
        self.notifier.call_offered(decision)

    def _agent_queues(self, agent_id: int) -> list[str]:
        index = self._current()
        queues: list[str] = []
        for group in index.agent_groups.get(agent_id, ()):
            queues.extend(index.queues_by_group.get(group, ()))
        return queues

    def agent_ready(
        self, agent_id: int, heads: list[QueuedCallRef] | None = None
    ) -> RouteDecision | None:
        """Offer a ready agent the best waiting call of its queues: highest priority first,
        then the longest waiting. None when there is nothing it can take. ``heads``: the
        queues' heads when already read (:meth:`AcdStore.wrap_up_done_with_heads`)."""
        index = self._current()
        queues = self._agent_queues(agent_id)
        if not queues:
            return None
        skills = index.skills.get(agent_id, {})
        if heads is None:
            heads = self.store.waiting_heads(queues, self.heads_per_queue)
        refs = [ref for ref in heads if has_skills(skills, ref.required_skills)]
        if not refs:
            return None
        refs.sort(key=lambda ref: (-ref.priority, ref.arrived_ms, ref.uuid))
        claimed = self.store.claim(agent_id, refs[: self.reserve_window])
        if claimed is None:
            return None
        ref, extension = claimed
        queue = self._queue(ref.queue)
        decision = RouteDecision(
            ref.uuid,
            ref.queue,
            (agent_id,),
            "agent_ready",
            (extension,),
            False,
            int(queue.get("ring_timeout_seconds", 0)),
        )
        self._announce_offer(decision, self.store.now())
        return decision

    def reroute(self, call_uuid: str, *, skip_tried: bool = True) -> RouteDecision | None:
        """Route a waiting call again; right after a failed offer, the agents that already
        failed it are skipped (``skip_tried``) so the next agent rings, not the same one."""
        found = self.store.get_call(call_uuid)
        if found is None:
            return None
        call, state, tried = found
        if state != "waiting":
            return RouteDecision(call_uuid, call.queue, (), "call_not_waiting")
        return self.route(call, enter=False, exclude=tried if skip_tried else ())

    def remove_call(self, call_uuid: str, reason: str) -> Outcome:
        """The call leaves the ACD (abandoned, overflowed...): ringing agents are released."""
        outcome = Outcome()
        removed = self.store.remove_call(call_uuid)
        if removed is None:
            return outcome
        outcome.removed = removed
        for agent_id in removed.offered_agents:
            self._release(agent_id, call_uuid, outcome)
        self.notifier.call_left_queue(call_uuid, removed.queue, reason)
        return outcome

    # -- agent operations --------------------------------------------------------------

    def _changed(self, change: StateChange, outcome: Outcome) -> None:
        outcome.changes.append(change)
        self.notifier.agent_state_changed(change)

    def _offer_to(self, agent_id: int, outcome: Outcome) -> None:
        decision = self.agent_ready(agent_id)
        if decision is not None:
            outcome.offers.append(decision)

    def _release(self, agent_id: int, call_uuid: str, outcome: Outcome) -> None:
        try:
            end = self.store.release_offer(agent_id, call_uuid)
        except AcdError:
            # The agent already moved on (its own failure event came first): nothing to undo.
            return
        self._changed(end.change, outcome)
        self._offer_to(agent_id, outcome)

    def login(
        self,
        agent_id: int,
        extension: str | None = None,
        *,
        ready: bool = True,
        busy_reason: str = "",
        registered: bool | None = None,
    ) -> Outcome:
        """Log in on ``extension`` (default: the configured one); ready agents get a call."""
        agent = self._agent(agent_id)
        outcome = Outcome()
        change = self.store.login(
            agent_id,
            extension or agent["extension"],
            self._current().agent_groups.get(agent_id, ()),
            ready=ready,
            busy_reason=busy_reason,
            registered=registered,
        )
        self._changed(change, outcome)
        if ready:
            self._offer_to(agent_id, outcome)
        return outcome

    def logout(self, agent_id: int) -> Outcome:
        outcome = Outcome()
        self._changed(self.store.logout(agent_id), outcome)
        return outcome

    def set_ready(self, agent_id: int) -> Outcome:
        outcome = Outcome()
        self._changed(self.store.set_ready(agent_id), outcome)
        self._offer_to(agent_id, outcome)
        return outcome

    def set_busy(self, agent_id: int, reason: str) -> Outcome:
        outcome = Outcome()
        self._changed(self.store.set_busy(agent_id, reason), outcome)
        return outcome

    def set_registered(self, agent_id: int, registered: bool) -> Outcome:
        """SIP registration came or went; a ready agent that registers gets a call."""
        outcome = Outcome()
        was_registered, status = self.store.set_registered(agent_id, registered)
        if was_registered != registered:
            self.notifier.agent_registration_changed(agent_id, registered)
        if registered and not was_registered and status is AgentStatus.READY:
            self._offer_to(agent_id, outcome)
        return outcome

    def offer_answered(self, agent_id: int, call_uuid: str) -> Outcome:
        """The agent answered; agents still ringing for the same call are released."""
        outcome = Outcome()
        answered: Answered = self.store.offer_answered(agent_id, call_uuid)
        self._changed(answered.change, outcome)
        for other in answered.cancel_agents:
            self._release(other, call_uuid, outcome)
        return outcome

    def offer_failed(self, agent_id: int, call_uuid: str, kind: OfferOutcome | str) -> Outcome:
        """The offer ended unanswered (no_answer, reject, busy): the agent waits out its delay
        (or turns busy after too many no-answers) and the call goes to the next agent."""
        outcome_kind = OfferOutcome(kind)
        agent = self._agent(agent_id)
        if outcome_kind is OfferOutcome.REJECT:
            delay = float(agent.get("reject_delay_seconds", 0))
        elif outcome_kind is OfferOutcome.BUSY:
            delay = float(agent.get("busy_delay_seconds", 0))
        elif outcome_kind is OfferOutcome.NO_ANSWER:
            delay = float(agent.get("no_answer_delay_seconds", self.no_answer_delay_seconds))
        else:
            delay = 0.0
        end: OfferEnd = self.store.offer_failed(
            agent_id,
            call_uuid,
            outcome_kind,
            delay_seconds=delay,
            max_no_answer=int(agent.get("max_no_answer", 3)),
        )
        outcome = Outcome()
        self._changed(end.change, outcome)
        if end.call_state == "waiting":
            decision = self.reroute(call_uuid)
            if decision is not None and decision.reserved:
                outcome.offers.append(decision)
        if end.change.new is AgentStatus.READY and delay <= 0:
            self._offer_to(agent_id, outcome)
        return outcome

    def call_ended(self, agent_id: int, call_uuid: str, talk_seconds: float) -> Outcome:
        """The agent's call ended: wrap-up for the agent's configured time, then ready."""
        agent = self._agent(agent_id)
        outcome = Outcome()
        change = self.store.call_ended(
            agent_id, call_uuid, talk_seconds, float(agent.get("wrap_up_seconds", 0))
        )
        self._changed(change, outcome)
        if change.new is AgentStatus.READY:
            self._offer_to(agent_id, outcome)
        return outcome

    def take_call(self, agent_id: int, call_uuid: str) -> Outcome:
        """A consulted agent takes over the call the first agent left (see the store)."""
        outcome = Outcome()
        self._changed(self.store.take_call(agent_id, call_uuid), outcome)
        return outcome

    def wrap_up_done(self, agent_id: int) -> Outcome:
        outcome = Outcome()
        self._changed(self.store.wrap_up_done(agent_id), outcome)
        self._offer_to(agent_id, outcome)
        return outcome

    def tick(self, sweep_per_queue: int = 3) -> Outcome:
        """Periodic work (call it about once a second): end due wrap-ups, offer calls to
        agents whose delay ran out, and retry the head of every queue with waiting calls."""
        outcome = Outcome()
        # One round trip for what is due; nothing more when nothing is.
        wrap_ups, delayed, lengths = self.store.due_work(self._current().snapshot.queues_by_code)
        for agent_id in wrap_ups:
            try:
                # The agent's queue heads come back with the status change.
                change, heads = self.store.wrap_up_done_with_heads(
                    agent_id, self._agent_queues(agent_id), self.heads_per_queue
                )
            except AcdError:
                continue
            self._changed(change, outcome)
            decision = self.agent_ready(agent_id, heads)
            if decision is not None:
                outcome.offers.append(decision)
        for agent_id in delayed:
            self._offer_to(agent_id, outcome)
        for code, length in lengths.items():
            if not length:
                continue
            for ref in self.store.waiting_heads([code], min(length, sweep_per_queue)):
                # Seconds after any failure: agents that missed the call may take it now.
                decision = self.reroute(ref.uuid, skip_tried=False)
                if decision is None or not decision.reserved:
                    break
                outcome.offers.append(decision)
        return outcome
