"""Routing latency of the ACD against a real Redis: queue entry -> agent reserved.

``measure_routing`` loads a synthetic center (agents across groups, queues with skills and
all strategies but ring-all), then feeds a stream of arrivals. Each arrival is timed from the
moment the call enters its queue (building the call, priority and long distance included)
to the moment an agent is reserved, i.e. when the daemon would send the originate. Agents
answer at once and are released after a simulated talk lasting a fixed number of later
arrivals, so most agents stay ready; releasing offers them waiting calls (timed apart).
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections import deque
from typing import Any

import redis

from cti.acd.notifier import RecordingNotifier
from cti.acd.router import Router
from cti.acd.store import AcdStore
from cti.config import ConfigSnapshot

BENCH_PREFIX = "cc:bench:"
SKILLS = ("mandarin", "english", "cantonese", "loans", "cards", "insurance")
STRATEGIES = (
    "round_robin",
    "fewest_calls",
    "longest_idle",
    "least_talk_time",
    "top_down",
    "random",
)


class _NullNotifier(RecordingNotifier):
    """Counts nothing: the benchmark measures routing, not an event sink."""

    def agent_state_changed(self, change: Any) -> None:
        return None

    def agent_registration_changed(self, agent_id: int, registered: bool) -> None:
        return None

    def call_queued(self, call: Any, position: int) -> None:
        return None

    def call_offered(self, decision: Any) -> None:
        return None

    def call_left_queue(self, call_uuid: str, queue: str, reason: str) -> None:
        return None


def synthetic_config(agents: int, queues: int, seed: int = 1) -> dict[str, Any]:
    """A center: one group per four queues, agents spread over the groups (a tenth of them
    also in a second group), two or three skills each; queues need at most one skill."""
    rng = random.Random(seed)
    group_count = max(1, queues // 4)
    agent_rows = []
    for agent_id in range(1, agents + 1):
        group = (agent_id - 1) % group_count + 1
        memberships = [{"group": group, "level": rng.randint(1, 3), "position": agent_id}]
        if rng.random() < 0.1 and group_count > 1:
            other = rng.randint(1, group_count)
            if other != group:
                memberships.append({"group": other, "level": 2, "position": agent_id})
        skills = {code: rng.randint(3, 10) for code in rng.sample(SKILLS, rng.randint(2, 3))}
        skills.setdefault("mandarin", rng.randint(5, 10))
        agent_rows.append(
            {
                "id": agent_id,
                "employee_number": str(100000 + agent_id),
                "name": f"agent {agent_id}",
                "user_id": None,
                "extension": str(100000 + agent_id),
                "enabled": True,
                "max_no_answer": 3,
                "wrap_up_seconds": 0,
                "reject_delay_seconds": 10,
                "busy_delay_seconds": 30,
                "skills": skills,
                "groups": memberships,
            }
        )
    queue_rows = []
    for index in range(queues):
        required = {"mandarin": 3}
        if index % 3 == 0:
            required[SKILLS[1 + index % 5]] = 3
        queue_rows.append(
            {
                "id": index + 1,
                "code": f"q{index + 1}",
                "name": f"queue {index + 1}",
                "group": index % group_count + 1,
                "strategy": STRATEGIES[index % len(STRATEGIES)],
                "priority": index % 3,
                "ring_timeout_seconds": 15,
                "vip_priority_boost": 10,
                "long_distance_priority_boost": 5,
                "route_to_owner_agent": True,
                "last_agent_lookback_days": 7,
                "required_skills": required,
            }
        )
    groups = [
        {"id": g, "name": f"group {g}", "kind": "team", "supervisors": []}
        for g in range(1, group_count + 1)
    ]
    return {"version": 1, "agents": agent_rows, "queues": queue_rows, "groups": groups}


def _delete_prefix(client: redis.Redis, prefix: str) -> None:
    batch = []
    for key in client.scan_iter(match=prefix + "*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            client.unlink(*batch)
            batch.clear()
    if batch:
        client.unlink(*batch)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def measure_routing(
    redis_url: str,
    agents: int = 5000,
    queues: int = 200,
    calls: int = 20000,
    quick: bool = False,
) -> dict[str, Any]:
    """Route ``calls`` arrivals and return latency percentiles in milliseconds.

    Keys live under ``cc:bench:`` in the URL's database and are removed before and after.
    ``quick`` shrinks the run (for smoke tests): 500 agents, 20 queues, 2,000 calls.
    """
    if quick:
        agents, queues, calls = min(agents, 500), min(queues, 20), min(calls, 2000)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    _delete_prefix(client, BENCH_PREFIX)
    rng = random.Random(42)
    snapshot = ConfigSnapshot.from_data(synthetic_config(agents, queues))
    store = AcdStore(client, prefix=BENCH_PREFIX)
    router = Router(
        store,
        lambda: snapshot,
        _NullNotifier(),
        center_area_code="010",
        rng=random.Random(3),
    )
    try:
        pipe_started = time.perf_counter()
        for agent_id in snapshot.agents_by_id:
            router.login(agent_id, registered=True)
        setup_seconds = time.perf_counter() - pipe_started

        queue_codes = list(snapshot.queues_by_code)
        callers = [
            "010" + str(rng.randint(60000000, 89999999))
            if i % 3 == 0
            else "1380013" + str(rng.randint(1000, 9999))
            if i % 3 == 1
            else "021" + str(rng.randint(60000000, 89999999))
            for i in range(1000)
        ]
        talk_arrivals = max(10, agents // 20)
        warm_up = max(100, calls // 10)
        talking: deque[tuple[int, int, str]] = deque()
        route_ms: list[float] = []
        release_ms: list[float] = []
        ping_ms: list[float] = []
        cpu_ms: list[float] = []
        reserved = queued = 0
        gc.collect()
        gc.freeze()
        started = time.perf_counter()
        for number in range(calls + warm_up):
            # Release the agents whose simulated talk is over; they pick up waiting calls.
            while talking and talking[0][0] <= number:
                _, agent_id, call_uuid = talking.popleft()
                began = time.perf_counter_ns()
                outcome = router.call_ended(agent_id, call_uuid, talk_seconds=60.0)
                release_ms.append((time.perf_counter_ns() - began) / 1e6)
                for offer in outcome.offers:
                    router.offer_answered(offer.agent_ids[0], offer.call_uuid)
                    talking.append((number + talk_arrivals, offer.agent_ids[0], offer.call_uuid))
            queue = queue_codes[rng.randrange(len(queue_codes))]
            caller = callers[number % len(callers)]
            vip = 1 if number % 17 == 0 else 0
            owner = rng.randint(1, agents) if number % 5 == 0 else None
            call_uuid = f"bench-{number}"
            if number % 10 == 0:
                # The machine's own noise floor, measured beside the routes it disturbs.
                began = time.perf_counter_ns()
                client.ping()
                ping_ms.append((time.perf_counter_ns() - began) / 1e6)
            cpu_began = time.thread_time_ns()
            began = time.perf_counter_ns()
            call = router.new_call(call_uuid, queue, caller, vip_level=vip, owner_agent_id=owner)
            decision = router.route(call)
            elapsed = (time.perf_counter_ns() - began) / 1e6
            if number >= warm_up:
                route_ms.append(elapsed)
                cpu_ms.append((time.thread_time_ns() - cpu_began) / 1e6)
                if decision.reserved:
                    reserved += 1
                else:
                    queued += 1
            if decision.reserved:
                agent_id = decision.agent_ids[0]
                router.offer_answered(agent_id, call_uuid)
                talking.append((number + talk_arrivals, agent_id, call_uuid))
        wall = time.perf_counter() - started
        gc.unfreeze()
        for values in (route_ms, release_ms, ping_ms, cpu_ms):
            values.sort()
        return {
            "route_p50_ms": round(statistics.median(route_ms), 4),
            "route_p99_ms": round(_percentile(route_ms, 0.99), 4),
            "route_p999_ms": round(_percentile(route_ms, 0.999), 4),
            "route_max_ms": round(route_ms[-1], 4),
            "calls": len(route_ms),
            "reserved": reserved,
            "queued": queued,
            "route_client_cpu_p50_ms": round(_percentile(cpu_ms, 0.5), 4),
            "route_client_cpu_p99_ms": round(_percentile(cpu_ms, 0.99), 4),
            "redis_ping_p50_ms": round(_percentile(ping_ms, 0.5), 4),
            "redis_ping_p99_ms": round(_percentile(ping_ms, 0.99), 4),
            "release_p99_ms": round(_percentile(release_ms, 0.99), 4),
            "agents": agents,
            "queues": queues,
            "talking_at_end": len(talking),
            "login_seconds": round(setup_seconds, 2),
            "wall_seconds": round(wall, 2),
        }
    finally:
        _delete_prefix(client, BENCH_PREFIX)
        client.close()
