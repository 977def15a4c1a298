"""Measurement functions that misbehave on purpose, for the harness's isolation tests."""

from __future__ import annotations

import os
import time


def raises(**_arguments: object) -> dict:
    raise RuntimeError("boom inside the benchmark")


def exits_hard(**_arguments: object) -> dict:
    # Skips every handler and finally block, like a segfault or the OOM killer would.
    os._exit(3)


def sleeps(**_arguments: object) -> dict:
    time.sleep(60)
    return {}


def returns_list(**_arguments: object) -> list:
    return [1, 2, 3]


def routing_figures(redis_url: str, agents: int) -> dict:
    """Declares only two parameters: the harness must not pass the others."""
    return {
        "route_p50_ms": 0.5,
        "route_p99_ms": 7.5,
        "route_p999_ms": float("nan"),
        "agents_seen": agents,
        "redis_url_seen": redis_url,
        "cpus_seen": sorted(os.sched_getaffinity(0)),
    }


def applied_migrations(redis_url: str) -> dict:
    """Reads the database through Django, as the persister's benchmark will."""
    from django.db.migrations.recorder import MigrationRecorder

    return {"persist_facts_per_s": MigrationRecorder.Migration.objects.count()}
