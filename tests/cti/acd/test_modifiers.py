"""Routing modifiers: long distance, call priority, owner and last agent first."""

from __future__ import annotations

import pytest

from cti.acd.modifiers import (
    SECONDS_PER_DAY,
    apply_preferred,
    call_priority,
    is_long_distance,
    preferred_agents,
)
from cti.acd.strategies import AgentCandidate, AgentStatus, WaitingCall, order_agents

NOW = 2_000_000.0


@pytest.mark.parametrize(
    ("number", "center", "expected"),
    [
        ("01062345678", "010", False),  # Beijing fixed line
        ("01062345678", "Beijing", False),
        ("01062345678", "北京", False),
        ("02123456789", "010", True),  # Shanghai fixed line
        ("075512345678", "0755", False),
        ("075512345678", "Shenzhen", False),
        ("13800138000", "010", False),  # a Beijing mobile block
        ("+8613800138000", "Beijing", False),
        ("13912345678", "010", True),  # a Changzhou mobile block
        ("13912345678", "0519", False),
        ("+14155550100", "010", True),  # abroad
        ("8001", "010", False),  # an extension
        ("62345678", "010", False),  # a local number dialed without its area code
        ("4008001234", "010", False),  # nationwide service number
        ("", "010", False),
        ("not a number", "010", False),
    ],
)
def test_is_long_distance(number, center, expected):
    assert is_long_distance(number, center) is expected


def test_call_priority_adds_vip_and_long_distance_boosts():
    assert call_priority(5, 0, 10, False, 3) == 5
    assert call_priority(5, 1, 10, False, 3) == 15
    assert call_priority(5, 2, 10, True, 3) == 28
    assert call_priority(-1, 0, 10, True, 3) == 2


def agent(agent_id: int, **fields) -> AgentCandidate:
    fields.setdefault("status", AgentStatus.READY)
    fields.setdefault("registered", True)
    fields.setdefault("skills", {})
    return AgentCandidate(id=agent_id, **fields)


def test_preferred_agents_owner_then_last_within_lookback():
    call = WaitingCall(
        "c", "q", owner_agent_id=7, last_agent_id=8, last_served_at=NOW - 2 * SECONDS_PER_DAY
    )
    options = {"now": NOW}
    assert preferred_agents(
        call, route_to_owner_agent=True, last_agent_lookback_days=3, **options
    ) == [(7, "owner_agent"), (8, "last_agent")]
    assert preferred_agents(
        call, route_to_owner_agent=False, last_agent_lookback_days=3, **options
    ) == [(8, "last_agent")]
    # Served two days ago: outside a one-day look-back, and 0 days turns the feature off.
    assert (
        preferred_agents(call, route_to_owner_agent=False, last_agent_lookback_days=1, **options)
        == []
    )
    assert (
        preferred_agents(call, route_to_owner_agent=False, last_agent_lookback_days=0, **options)
        == []
    )


def test_apply_preferred_falls_back_to_the_strategy():
    call = WaitingCall("c", "q", owner_agent_id=2, last_agent_id=3, last_served_at=NOW)
    candidates = [
        agent(1, idle_since=1.0),
        agent(2, status=AgentStatus.TALKING),
        agent(3, idle_since=5.0),
    ]
    ordering = order_agents("longest_idle", call, candidates, NOW)
    preferred = [(2, "owner_agent"), (3, "last_agent")]
    result, reason = apply_preferred(call, ordering, candidates, preferred, NOW)
    assert reason == "last_agent" and result.agent_ids == (3, 1)
    result, reason = apply_preferred(call, ordering, candidates, [(2, "owner_agent")], NOW)
    assert reason == "strategy" and result.agent_ids == (1, 3)
    candidates[1] = agent(2)
    ring = order_agents("ring_all", call, candidates, NOW)
    result, reason = apply_preferred(call, ring, candidates, preferred, NOW)
    # The owner gets the call alone, even in a ring-all queue.
    assert reason == "owner_agent" and result.agent_ids == (2,) and not result.ring_together
