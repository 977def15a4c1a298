"""ACD strategies: pure functions from (waiting call, candidate agents) to an ordering.

Nothing here does I/O (ARCHITECTURE rule 4). The router fetches live agent stats from Redis,
builds :class:`AgentCandidate` objects, asks a strategy for an ordering, then reserves the
first agent of that ordering that is still eligible in one atomic Redis operation.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class AgentStatus(StrEnum):
    """Live status of an agent, written only by the daemon."""

    LOGGED_OUT = "logged_out"
    READY = "ready"
    BUSY = "busy"
    OFFERED = "offered"
    TALKING = "talking"
    WRAP_UP = "wrap_up"


class StrategyName(StrEnum):
    """Queue strategies; the values match telephony.choices.Strategy."""

    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    LONGEST_IDLE = "longest_idle"
    LEAST_TALK_TIME = "least_talk_time"
    TOP_DOWN = "top_down"
    RING_ALL = "ring_all"
    RANDOM = "random"


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A call waiting in (or entering) a queue, with what routing needs to know about it."""

    uuid: str
    queue: str
    caller_number: str = ""
    priority: int = 0
    vip_level: int = 0
    is_long_distance: bool = False
    owner_agent_id: int | None = None
    last_agent_id: int | None = None
    # When the last agent served this caller (epoch seconds); the look-back window needs it.
    last_served_at: float | None = None
    required_skills: Mapping[str, int] = field(default_factory=dict)
    arrived_at: float = 0.0


@dataclass(slots=True)
class AgentCandidate:
    """An agent of the queue's group with its live state, config and today's statistics.

    Not frozen: the router builds a hundred of these per call, and a frozen dataclass's
    constructor is several times slower. Strategies never modify them.
    """

    id: int
    status: AgentStatus
    registered: bool
    skills: Mapping[str, int]
    level: int = 1
    position: int = 1
    calls_today: int = 0
    talk_seconds_today: float = 0.0
    idle_since: float = 0.0
    # Before this instant the agent is held back by a reject/busy/no-answer delay.
    available_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Ordering:
    """What a strategy returns: agent ids in offer order, and how to ring them."""

    agent_ids: tuple[int, ...]
    # ring_all: the caller rings every agent at once and the first to answer wins.
    ring_together: bool = False
    # round_robin: the pointer to store if the first agent of the ordering is reserved.
    rotation_pointer: int | None = None


def has_skills(agent_skills: Mapping[str, int], required: Mapping[str, int]) -> bool:
    """True when the agent holds every required skill at least at its minimum level."""
    for code, minimum in required.items():
        if agent_skills.get(code, 0) < minimum:
            return False
    return True


def is_eligible(agent: AgentCandidate, call: WaitingCall, now: float) -> bool:
    """May this agent be offered this call right now?

    Only a registered, ready agent outside any delay, holding the call's skills at their
    minimum levels. Busy, offered, talking, wrap-up and logged-out agents never are.
    """
    return (
        agent.status is AgentStatus.READY
        and agent.registered
        and agent.available_at <= now
        and has_skills(agent.skills, call.required_skills)
    )


def eligible_agents(
    call: WaitingCall, candidates: Iterable[AgentCandidate], now: float
) -> list[AgentCandidate]:
    """The shared filter every strategy applies first."""
    return [agent for agent in candidates if is_eligible(agent, call, now)]


def _by_group_rank(agent: AgentCandidate) -> tuple[int, int, int]:
    return (agent.level, agent.position, agent.id)


def round_robin(
    call: WaitingCall,
    candidates: Sequence[AgentCandidate],
    now: float,
    rotation_pointer: int | None = None,
) -> Ordering:
    """Fair rotation: start with the first agent (by id) after the one served last."""
    eligible = sorted(agent.id for agent in eligible_agents(call, candidates, now))
    if not eligible:
        return Ordering((), rotation_pointer=rotation_pointer)
    start = 0
    if rotation_pointer is not None:
        for index, agent_id in enumerate(eligible):
            if agent_id > rotation_pointer:
                start = index
                break
        else:
            start = 0
    ordered = tuple(eligible[start:] + eligible[:start])
    return Ordering(ordered, rotation_pointer=ordered[0])


def fewest_calls(call: WaitingCall, candidates: Sequence[AgentCandidate], now: float) -> Ordering:
    """平均话务量: fewest calls answered today first; the longest idle breaks ties."""
    eligible = eligible_agents(call, candidates, now)
    eligible.sort(key=lambda agent: (agent.calls_today, agent.idle_since, agent.id))
    return Ordering(tuple(agent.id for agent in eligible))


def longest_idle(call: WaitingCall, candidates: Sequence[AgentCandidate], now: float) -> Ordering:
    """The agent idle the longest first."""
    eligible = eligible_agents(call, candidates, now)
    eligible.sort(key=lambda agent: (agent.idle_since, agent.id))
    return Ordering(tuple(agent.id for agent in eligible))


def least_talk_time(
    call: WaitingCall, candidates: Sequence[AgentCandidate], now: float
) -> Ordering:
    """The agent with the least talk time today first."""
    eligible = eligible_agents(call, candidates, now)
    eligible.sort(key=lambda agent: (agent.talk_seconds_today, agent.idle_since, agent.id))
    return Ordering(tuple(agent.id for agent in eligible))


def top_down(call: WaitingCall, candidates: Sequence[AgentCandidate], now: float) -> Ordering:
    """Always from the top of the group: lowest level first, then lowest position."""
    eligible = eligible_agents(call, candidates, now)
    eligible.sort(key=_by_group_rank)
    return Ordering(tuple(agent.id for agent in eligible))


def ring_all(call: WaitingCall, candidates: Sequence[AgentCandidate], now: float) -> Ordering:
    """Every eligible agent, rung together; the first to answer takes the call."""
    eligible = eligible_agents(call, candidates, now)
    eligible.sort(key=_by_group_rank)
    return Ordering(tuple(agent.id for agent in eligible), ring_together=True)


def random_order(
    call: WaitingCall, candidates: Sequence[AgentCandidate], now: float, rng: random.Random
) -> Ordering:
    """A random ordering drawn from the RNG passed in (seed it to replay a decision)."""
    ids = sorted(agent.id for agent in eligible_agents(call, candidates, now))
    rng.shuffle(ids)
    return Ordering(tuple(ids))


SimpleStrategy = Callable[[WaitingCall, Sequence[AgentCandidate], float], Ordering]

SIMPLE_STRATEGIES: Mapping[StrategyName, SimpleStrategy] = {
    StrategyName.FEWEST_CALLS: fewest_calls,
    StrategyName.LONGEST_IDLE: longest_idle,
    StrategyName.LEAST_TALK_TIME: least_talk_time,
    StrategyName.TOP_DOWN: top_down,
    StrategyName.RING_ALL: ring_all,
}


def order_agents(
    strategy: str,
    call: WaitingCall,
    candidates: Sequence[AgentCandidate],
    now: float,
    *,
    rotation_pointer: int | None = None,
    rng: random.Random | None = None,
) -> Ordering:
    """Dispatch to the named strategy; every input the strategy needs is passed in."""
    name = StrategyName(strategy)
    if name is StrategyName.ROUND_ROBIN:
        return round_robin(call, candidates, now, rotation_pointer)
    if name is StrategyName.RANDOM:
        if rng is None:
            raise ValueError("the random strategy needs an rng")
        return random_order(call, candidates, now, rng)
    return SIMPLE_STRATEGIES[name](call, candidates, now)
