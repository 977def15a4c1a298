"""Fixtures for the ACD tests: a controllable clock, a store on the test Redis DB, a router."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from cti.acd.notifier import RecordingNotifier
from cti.acd.router import Router
from cti.acd.store import AcdStore
from cti.config import ConfigSnapshot

START = 1_760_000_000.0  # 2025-10-09 in Beijing; any fixed instant works


class FakeClock:
    """Epoch seconds that only move when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def agent_config(
    agent_id: int,
    groups: Iterable[tuple[int, int, int]] = ((1, 1, 1),),
    skills: dict[str, int] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """One agent as telephony/snapshot.py publishes it; groups are (group, level, position)."""
    data = {
        "id": agent_id,
        "employee_number": f"{1000 + agent_id}",
        "name": f"Agent {agent_id}",
        "user_id": None,
        "extension": f"{8000 + agent_id}",
        "enabled": True,
        "max_no_answer": 3,
        "wrap_up_seconds": 10,
        "reject_delay_seconds": 10,
        "busy_delay_seconds": 30,
        "skills": skills or {},
        "groups": [{"group": g, "level": level, "position": pos} for g, level, pos in groups],
    }
    data.update(overrides)
    return data


def queue_config(code: str, group: int = 1, **overrides: Any) -> dict[str, Any]:
    data = {
        "id": abs(hash(code)) % 100_000,
        "code": code,
        "name": code,
        "group": group,
        "strategy": "longest_idle",
        "priority": 0,
        "ring_timeout_seconds": 15,
        "vip_priority_boost": 10,
        "long_distance_priority_boost": 0,
        "route_to_owner_agent": True,
        "last_agent_lookback_days": 0,
        "required_skills": {},
    }
    data.update(overrides)
    return data


def snapshot(agents: list[dict[str, Any]], queues: list[dict[str, Any]]) -> ConfigSnapshot:
    groups = sorted(
        {m["group"] for a in agents for m in a["groups"]} | {q["group"] for q in queues}
    )
    return ConfigSnapshot.from_data(
        {
            "version": 1,
            "agents": agents,
            "queues": queues,
            "groups": [
                {"id": g, "name": f"g{g}", "kind": "team", "supervisors": []} for g in groups
            ],
        }
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(redis_client, clock) -> AcdStore:
    return AcdStore(redis_client, clock=clock)


class RouterFactory:
    """Builds a router over a given configuration; the configuration can be swapped."""

    def __init__(self, store: AcdStore) -> None:
        self.store = store
        self.notifier = RecordingNotifier()
        self.config = ConfigSnapshot.empty()

    def __call__(
        self, agents: list[dict[str, Any]], queues: list[dict[str, Any]], **options: Any
    ) -> Router:
        import random

        self.config = snapshot(agents, queues)
        options.setdefault("rng", random.Random(7))
        return Router(self.store, lambda: self.config, self.notifier, **options)


@pytest.fixture
def make_router(store) -> RouterFactory:
    return RouterFactory(store)
