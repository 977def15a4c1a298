"""The pure strategies: eligibility, orderings, round-robin fairness (hypothesis)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.acd.strategies import (
    AgentCandidate,
    AgentStatus,
    StrategyName,
    WaitingCall,
    is_eligible,
    order_agents,
    round_robin,
)

NOW = 1_000_000.0
SKILL_CODES = ("en", "zh", "loans")

skills_strategy = st.dictionaries(st.sampled_from(SKILL_CODES), st.integers(1, 10), max_size=3)


@st.composite
def candidates_strategy(draw):
    count = draw(st.integers(0, 25))
    ids = draw(st.lists(st.integers(1, 500), min_size=count, max_size=count, unique=True))
    return [
        AgentCandidate(
            id=agent_id,
            status=draw(st.sampled_from(list(AgentStatus))),
            registered=draw(st.booleans()),
            skills=draw(skills_strategy),
            level=draw(st.integers(1, 5)),
            position=draw(st.integers(1, 50)),
            calls_today=draw(st.integers(0, 100)),
            talk_seconds_today=draw(st.floats(0, 30_000)),
            idle_since=draw(st.floats(NOW - 10_000, NOW)),
            available_at=draw(st.sampled_from([0.0, NOW - 1, NOW, NOW + 5, NOW + 600])),
        )
        for agent_id in ids
    ]


def make_call(**fields) -> WaitingCall:
    fields.setdefault("uuid", "call-1")
    fields.setdefault("queue", "sales")
    return WaitingCall(**fields)


def ready(agent_id: int, **fields) -> AgentCandidate:
    fields.setdefault("status", AgentStatus.READY)
    fields.setdefault("registered", True)
    fields.setdefault("skills", {})
    return AgentCandidate(id=agent_id, **fields)


@settings(max_examples=150, deadline=None)
@given(
    candidates=candidates_strategy(),
    required=skills_strategy,
    strategy=st.sampled_from(list(StrategyName)),
    pointer=st.none() | st.integers(0, 500),
    seed=st.integers(0, 1000),
)
def test_strategies_return_exactly_the_eligible_agents(
    candidates, required, strategy, pointer, seed
):
    call = make_call(required_skills=required)
    ordering = order_agents(
        strategy, call, candidates, NOW, rotation_pointer=pointer, rng=random.Random(seed)
    )
    by_id = {agent.id: agent for agent in candidates}
    for agent_id in ordering.agent_ids:
        agent = by_id[agent_id]
        # Never a busy, offered, talking, wrap-up, logged-out, delayed or unregistered agent.
        assert agent.status is AgentStatus.READY
        assert agent.registered
        assert agent.available_at <= NOW
        for code, minimum in required.items():
            assert agent.skills.get(code, 0) >= minimum
    expected = {agent.id for agent in candidates if is_eligible(agent, call, NOW)}
    assert sorted(ordering.agent_ids) == sorted(expected)
    assert ordering.ring_together == (strategy == StrategyName.RING_ALL)


@pytest.mark.parametrize(
    "agent",
    [
        ready(1, status=AgentStatus.BUSY),
        ready(1, status=AgentStatus.OFFERED),
        ready(1, status=AgentStatus.TALKING),
        ready(1, status=AgentStatus.WRAP_UP),
        ready(1, status=AgentStatus.LOGGED_OUT),
        ready(1, registered=False),
        ready(1, available_at=NOW + 0.5),
        ready(1, skills={"en": 4}),
    ],
)
def test_each_reason_to_be_ineligible(agent):
    call = make_call(required_skills={"en": 5})
    assert not is_eligible(agent, call, NOW)
    assert is_eligible(ready(1, skills={"en": 5}), call, NOW)


def test_skill_minimum_levels():
    call = make_call(required_skills={"en": 5, "loans": 3})
    agents = [
        ready(1, skills={"en": 5, "loans": 3}),
        ready(2, skills={"en": 9}),
        ready(3, skills={"en": 4, "loans": 9}),
        ready(4, skills={"en": 10, "loans": 10, "zh": 1}),
    ]
    assert set(order_agents("top_down", call, agents, NOW).agent_ids) == {1, 4}


@settings(max_examples=60, deadline=None)
@given(agent_count=st.integers(1, 30), call_count=st.integers(0, 400))
def test_round_robin_is_fair(agent_count, call_count):
    agents = [ready(agent_id * 3) for agent_id in range(1, agent_count + 1)]
    counts: Counter[int] = Counter()
    pointer = None
    for _ in range(call_count):
        ordering = round_robin(make_call(), agents, NOW, pointer)
        counts[ordering.agent_ids[0]] += 1
        pointer = ordering.rotation_pointer
    values = [counts[agent.id] for agent in agents]
    assert max(values) - min(values) <= 1
    assert sum(values) == call_count


def test_round_robin_rotates_past_the_pointer_and_wraps():
    agents = [ready(5), ready(2), ready(9)]
    assert round_robin(make_call(), agents, NOW, None).agent_ids == (2, 5, 9)
    assert round_robin(make_call(), agents, NOW, 5).agent_ids == (9, 2, 5)
    assert round_robin(make_call(), agents, NOW, 9).agent_ids == (2, 5, 9)
    # The pointer may name an agent that has since left: rotation continues after it.
    assert round_robin(make_call(), agents, NOW, 6).agent_ids == (9, 2, 5)
    assert round_robin(make_call(), [], NOW, 6).rotation_pointer == 6


def test_fewest_calls_longest_idle_least_talk_time_top_down():
    agents = [
        ready(1, calls_today=5, idle_since=NOW - 100, talk_seconds_today=50, level=2, position=1),
        ready(2, calls_today=1, idle_since=NOW - 10, talk_seconds_today=900, level=1, position=2),
        ready(3, calls_today=1, idle_since=NOW - 500, talk_seconds_today=10, level=1, position=1),
    ]
    call = make_call()
    assert order_agents("fewest_calls", call, agents, NOW).agent_ids == (3, 2, 1)
    assert order_agents("longest_idle", call, agents, NOW).agent_ids == (3, 1, 2)
    assert order_agents("least_talk_time", call, agents, NOW).agent_ids == (3, 1, 2)
    assert order_agents("top_down", call, agents, NOW).agent_ids == (3, 2, 1)
    ring = order_agents("ring_all", call, agents, NOW)
    assert ring.ring_together and set(ring.agent_ids) == {1, 2, 3}


def test_random_is_reproducible_with_a_seed_and_varies_between_seeds():
    agents = [ready(agent_id) for agent_id in range(1, 21)]
    first = order_agents("random", make_call(), agents, NOW, rng=random.Random(11))
    again = order_agents("random", make_call(), agents, NOW, rng=random.Random(11))
    assert first == again
    orderings = {
        order_agents("random", make_call(), agents, NOW, rng=random.Random(seed)).agent_ids
        for seed in range(10)
    }
    assert len(orderings) > 5
    with pytest.raises(ValueError):
        order_agents("random", make_call(), agents, NOW)
