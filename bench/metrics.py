"""The fixed set of metrics ``make bench`` reports, their units and goals, and who measures them.

A *metric* is one figure in results.json. A *benchmark* is one measurement function in the
code base that produces one or more metrics in one run (routing gives three percentiles from
one load); each benchmark runs in its own subprocess. Names, units and goals here are the
contract with docs/benchmarks.md and anything that reads results.json: change them together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Profile = Literal["full", "quick", "smoke"]
PROFILES: tuple[Profile, ...] = ("full", "quick", "smoke")


@dataclass(frozen=True)
class Goal:
    """A threshold a metric must meet: ``>= 50000`` or ``<= 5``."""

    comparison: Literal[">=", "<="]
    threshold: float

    def is_met_by(self, value: float) -> bool:
        if self.comparison == ">=":
            return value >= self.threshold
        return value <= self.threshold

    def __str__(self) -> str:
        threshold = self.threshold
        shown = str(int(threshold)) if threshold == int(threshold) else str(threshold)
        return f"{self.comparison} {shown}"


@dataclass(frozen=True)
class Metric:
    """One reported figure: its fixed name, unit, goal (None when it is only recorded)."""

    name: str
    unit: str
    goal: Goal | None
    description: str


@dataclass(frozen=True)
class Benchmark:
    """One measurement function and how the harness calls it.

    ``targets`` are ``"module:function"`` candidates tried in order; the first one that
    imports is called, with the keyword arguments of the profile (only those the function
    accepts). ``result_keys`` maps each metric name to the key of the returned dict that holds
    its value. ``arguments`` values may use the placeholders ``{redis_url}``,
    ``{database_url}`` and ``{traces}`` (the list of recorded ``.rx`` files).
    """

    name: str
    targets: tuple[str, ...]
    result_keys: dict[str, str]
    arguments: dict[Profile, dict[str, object]]
    timeout_seconds: dict[Profile, float]
    pin_one_core: bool = False
    needs_redis: bool = False
    needs_django: bool = False
    needs_traces: bool = False

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(self.result_keys)


METRICS: tuple[Metric, ...] = (
    Metric(
        "esl_events_per_s",
        "frames/s",
        Goal(">=", 50_000),
        "ESL frames parsed into typed events and dispatched per second, one core, replaying "
        "the recorded FreeSWITCH sessions with their original TCP read boundaries.",
    ),
    Metric(
        "route_p50_ms",
        "ms",
        None,
        "Median time from a call entering a queue to an agent being picked and marked "
        "offered (one atomic Redis operation), under open-loop Poisson arrivals.",
    ),
    Metric("route_p99_ms", "ms", Goal("<=", 5), "99th percentile of the same routing latency."),
    Metric("route_p999_ms", "ms", Goal("<=", 20), "99.9th percentile of the same routing latency."),
    Metric(
        "sim_inbound_cps_sustained",
        "calls/s",
        Goal(">=", 300),
        "Highest rate of new inbound calls (DID -> daemon -> queue -> agent with recording -> "
        "survey with DTMF -> hangup -> facts) the daemon sustains against the switch simulator "
        "without backlog or failed calls; open-loop Poisson arrivals, ramped.",
    ),
    Metric(
        "sim_lost_facts",
        "facts",
        Goal("<=", 0),
        "Facts (CDRs, agent state changes...) produced during the inbound load that are "
        "missing from PostgreSQL once the persister has drained the stream.",
    ),
    Metric(
        "persist_facts_per_s",
        "facts/s",
        None,
        "Facts moved from the Redis Stream into PostgreSQL per second by the persister "
        "(idempotent upserts, acknowledged after commit).",
    ),
    Metric(
        "ws_fanout_p99_ms",
        "ms",
        Goal("<=", 100),
        "99th percentile time from an agent state change published by the daemon to its "
        "arrival on each of 1,000 connected websocket clients.",
    ),
    Metric(
        "daemon_peak_rss_mb",
        "MB",
        None,
        "Peak resident memory of the CTI daemon process during the inbound load.",
    ),
)

METRICS_BY_NAME: dict[str, Metric] = {metric.name: metric for metric in METRICS}


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        name="esl",
        targets=("cti.esl.bench:measure_events_per_second",),
        result_keys={"esl_events_per_s": "value"},
        arguments={
            "full": {"paths": "{traces}", "seconds": 20.0},
            "quick": {"paths": "{traces}", "seconds": 3.0},
            "smoke": {"paths": "{traces}", "seconds": 0.2},
        },
        timeout_seconds={"full": 45, "quick": 7, "smoke": 8},
        pin_one_core=True,
        needs_traces=True,
    ),
    Benchmark(
        name="routing",
        targets=("cti.acd.bench:measure_routing",),
        result_keys={
            "route_p50_ms": "route_p50_ms",
            "route_p99_ms": "route_p99_ms",
            "route_p999_ms": "route_p999_ms",
        },
        arguments={
            "full": {"redis_url": "{redis_url}", "agents": 5000, "queues": 200, "calls": 20000},
            "quick": {
                "redis_url": "{redis_url}",
                "agents": 500,
                "queues": 20,
                "calls": 2000,
                "quick": True,
            },
            "smoke": {
                "redis_url": "{redis_url}",
                "agents": 50,
                "queues": 5,
                "calls": 200,
                "quick": True,
            },
        },
        timeout_seconds={"full": 180, "quick": 22, "smoke": 8},
        # The daemon is one gevent process: routing latency is what one core delivers.
        pin_one_core=True,
        needs_redis=True,
    ),
    Benchmark(
        name="persist",
        targets=(
            "cti.facts_bench:measure_persist_rate",
            "cti.persister:measure_persist_rate",
        ),
        result_keys={"persist_facts_per_s": "persist_facts_per_s"},
        arguments={
            "full": {"redis_url": "{redis_url}", "facts": 50000},
            "quick": {"redis_url": "{redis_url}", "facts": 5000, "quick": True},
            "smoke": {"redis_url": "{redis_url}", "facts": 200, "quick": True},
        },
        timeout_seconds={"full": 100, "quick": 10, "smoke": 8},
        needs_redis=True,
        needs_django=True,
    ),
    Benchmark(
        name="inbound",
        targets=("cti.bench_inbound:measure_inbound",),
        result_keys={
            "sim_inbound_cps_sustained": "sim_inbound_cps_sustained",
            "sim_lost_facts": "sim_lost_facts",
            "daemon_peak_rss_mb": "daemon_peak_rss_mb",
        },
        # ``seconds`` is the load itself (the ramp); starting the daemon and the persister,
        # logging the agents in, draining and auditing the facts come on top (about 15 s
        # for the quick run and up to 60 s for the full one on a busy 2-core machine).
        arguments={
            "full": {
                "redis_url": "{redis_url}",
                "database_url": "{database_url}",
                "target_cps": 300,
                "seconds": 100.0,
                "quick": False,
            },
            "quick": {
                "redis_url": "{redis_url}",
                "database_url": "{database_url}",
                "target_cps": 300,
                "seconds": 3.0,
                "quick": True,
            },
            "smoke": {
                "redis_url": "{redis_url}",
                "database_url": "{database_url}",
                "target_cps": 20,
                "seconds": 1.0,
                "quick": True,
            },
        },
        timeout_seconds={"full": 180, "quick": 22, "smoke": 8},
        needs_redis=True,
        needs_django=True,
    ),
    Benchmark(
        name="ws_fanout",
        targets=("wallboard.bench:measure_ws_fanout", "desk.bench:measure_ws_fanout"),
        result_keys={"ws_fanout_p99_ms": "ws_fanout_p99_ms"},
        # Full: 1,000 clients (connecting them takes 10-15 s on the shared 2-core machine),
        # 120 changes 0.25 s apart. Quick: 100 clients, 20 changes 0.1 s apart (the web server's
        # start-up is most of its time).
        arguments={
            "full": {
                "redis_url": "{redis_url}",
                "clients": 1000,
                "changes": 120,
                "interval": 0.25,
                "quick": False,
            },
            "quick": {
                "redis_url": "{redis_url}",
                "clients": 100,
                "changes": 20,
                "interval": 0.1,
                "quick": True,
            },
            "smoke": {"redis_url": "{redis_url}", "clients": 20, "changes": 5, "quick": True},
        },
        timeout_seconds={"full": 85, "quick": 12, "smoke": 8},
        needs_redis=True,
        needs_django=True,
    ),
)

BENCHMARKS_BY_NAME: dict[str, Benchmark] = {benchmark.name: benchmark for benchmark in BENCHMARKS}

# Whole-run ceilings from issue 8 (10 min full, 1 min quick); the per-benchmark timeouts
# above add up to less, and a benchmark never gets more than what is left of the budget.
RUN_BUDGET_SECONDS: dict[Profile, float] = {"full": 590.0, "quick": 58.0, "smoke": 18.0}


# Allowance for a worker's preparation before its timeout starts: creating and migrating the
# bench database on a first run, emptying Redis. Counted in the run budget all the same.
PREPARE_SECONDS: dict[Profile, float] = {"full": 120.0, "quick": 30.0, "smoke": 15.0}


def is_valid_figure(value: object) -> bool:
    """A figure the harness accepts: a finite, non-negative real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value >= 0
