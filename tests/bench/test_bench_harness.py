"""The bench harness: a tiny end-to-end run, and one benchmark's failure staying its own.

These tests never look at real figures: benchmarks do not run in the test suite.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import time

import pytest

from bench.harness import (
    MEASURED,
    NOT_MEASURED,
    REPOSITORY,
    BenchSettings,
    format_table,
    results_from_outcome,
    run_worker,
    select_benchmarks,
)
from bench.metrics import BENCHMARKS_BY_NAME, METRICS, METRICS_BY_NAME, Benchmark, Goal

FIXED_NAMES = {
    "esl_events_per_s",
    "route_p50_ms",
    "route_p99_ms",
    "route_p999_ms",
    "sim_inbound_cps_sustained",
    "sim_lost_facts",
    "persist_facts_per_s",
    "ws_fanout_p99_ms",
    "daemon_peak_rss_mb",
}


def database_url_of(settings_dict: dict) -> str:
    """The URL of the database pytest-django set up, for the bench's child processes."""
    engine = settings_dict["ENGINE"]
    if "sqlite" in engine:
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


@pytest.mark.timeout(60)
def test_smoke_run_writes_valid_results(tmp_path, settings, transactional_db):
    # transactional_db: the benchmarks' rows land in the test database and are emptied after.
    from django.db import connection

    output = tmp_path / "results.json"
    environment = dict(
        os.environ,
        REDIS_URL=settings.REDIS_URL,
        DATABASE_URL=database_url_of(connection.settings_dict),
    )
    environment.pop("BENCH_QUICK", None)
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--profile", "smoke", "--output", str(output)],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=50,
    )
    elapsed = time.monotonic() - started
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # The smoke budget is 18 s; a runaway harness would blow far past this.
    assert elapsed < 30

    results = json.loads(output.read_text(encoding="utf-8"))
    assert isinstance(results, list)
    assert [row["name"] for row in results] == [metric.name for metric in METRICS]
    assert {row["name"] for row in results} == FIXED_NAMES
    for row in results:
        assert {"name", "value", "unit", "goal", "params", "status", "note"} <= row.keys()
        metric = METRICS_BY_NAME[row["name"]]
        assert row["unit"] == metric.unit
        assert row["goal"] == (str(metric.goal) if metric.goal else None)
        assert row["params"]["profile"] == "smoke"
        machine = row["params"]["machine"]
        assert machine["cpu_cores"] >= 1 and machine["python"] and machine["date"]
        if row["value"] is None:
            assert row["status"] == NOT_MEASURED
            assert row["note"], f"{row['name']} is not measured without a reason"
        else:
            assert isinstance(row["value"], int | float) and math.isfinite(row["value"])
            expected = (
                MEASURED
                if metric.goal is None
                else ("pass" if metric.goal.is_met_by(row["value"]) else "fail")
            )
            assert row["status"] == expected

    table = completed.stdout
    assert "metric" in table and "status" in table
    for name in FIXED_NAMES:
        assert name in table
    assert results[0]["params"]["machine"]["cpu_model"] in table


def isolated(benchmark_name: str, target: str, **changes) -> Benchmark:
    benchmark = BENCHMARKS_BY_NAME[benchmark_name]
    return dataclasses.replace(
        benchmark, targets=(f"tests.bench.fake_measures:{target}",), needs_redis=False, **changes
    )


@pytest.fixture
def smoke_settings():
    return BenchSettings(
        redis_url="redis://127.0.0.1:6379/10",
        database_url="postgres://postgres@127.0.0.1:5432/unused",
        traces_dir=None,
        profile="smoke",
        budget_seconds=10,
    )


def run_isolated(benchmark, settings, timeout=8.0):
    from bench.harness import build_spec

    outcome = run_worker(build_spec(benchmark, settings), settings, timeout)
    return outcome, results_from_outcome(benchmark, benchmark.metric_names, outcome, {})


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("raises", "RuntimeError: boom inside the benchmark"),
        ("exits_hard", "worker died with exit code 3"),
        ("returns_list", "returned list, not a dict"),
        ("does_not_exist", "not implemented yet: tests.bench.fake_measures has no"),
    ],
)
def test_a_failing_benchmark_is_reported_not_measured(smoke_settings, target, reason):
    outcome, results = run_isolated(isolated("routing", target), smoke_settings)
    assert not outcome.ok
    assert reason in outcome.reason
    assert [result.name for result in results] == ["route_p50_ms", "route_p99_ms", "route_p999_ms"]
    for result in results:
        assert result.value is None and result.status == NOT_MEASURED
        assert reason in result.note


def test_a_missing_module_is_not_implemented_yet(smoke_settings):
    benchmark = dataclasses.replace(
        BENCHMARKS_BY_NAME["persist"], targets=("cti.no_such_module:measure",), needs_redis=False
    )
    outcome, results = run_isolated(benchmark, smoke_settings)
    assert outcome.reason == "not implemented yet: no module cti.no_such_module"
    assert results[0].value is None and results[0].status == NOT_MEASURED


def test_a_hanging_benchmark_is_killed_at_its_timeout(smoke_settings):
    started = time.monotonic()
    outcome, results = run_isolated(isolated("ws_fanout", "sleeps"), smoke_settings, timeout=2.0)
    # The fake sleeps 60 s; well under that means it was killed (start-up is slow when the
    # machine is busy, hence the margin).
    assert time.monotonic() - started < 30
    assert outcome.reason == "timed out after 2 s"
    assert results[0].status == NOT_MEASURED


def test_figures_are_judged_and_arguments_filtered(smoke_settings):
    benchmark = isolated("routing", "routing_figures")
    outcome, results = run_isolated(benchmark, smoke_settings)
    assert outcome.ok, outcome.reason
    by_name = {result.name: result for result in results}
    # p50 has no goal; p99 misses its 5 ms goal; NaN is refused, never reported as a figure.
    assert (by_name["route_p50_ms"].value, by_name["route_p50_ms"].status) == (0.5, MEASURED)
    assert (by_name["route_p99_ms"].value, by_name["route_p99_ms"].status) == (7.5, "fail")
    assert by_name["route_p999_ms"].value is None
    assert "invalid figure" in by_name["route_p999_ms"].note
    reported = by_name["route_p50_ms"].params["reported"]
    assert reported["agents_seen"] == 50
    assert reported["redis_url_seen"] == "redis://127.0.0.1:6379/10"
    # Pinned to one core because routing's goal is what one daemon process delivers.
    assert len(reported["cpus_seen"]) == 1
    assert by_name["route_p50_ms"].params["arguments"] == {
        "redis_url": "redis://127.0.0.1:6379/10",
        "agents": 50,
    }
    assert "route_p99_ms" in format_table(results)


def test_goals_and_selection():
    assert Goal(">=", 50_000).is_met_by(50_000) and not Goal(">=", 50_000).is_met_by(49_999.9)
    assert Goal("<=", 0).is_met_by(0) and not Goal("<=", 0).is_met_by(1)
    assert str(Goal("<=", 5)) == "<= 5"
    selected = select_benchmarks(["route_p99_ms", "esl"])
    assert [(benchmark.name, metrics) for benchmark, metrics in selected] == [
        ("esl", ("esl_events_per_s",)),
        ("routing", ("route_p99_ms",)),
    ]
    with pytest.raises(ValueError, match="unknown metric"):
        select_benchmarks(["route_p98_ms"])


def test_a_django_benchmark_runs_on_the_migrated_database(smoke_settings, transactional_db):
    from django.db import connection

    bench_settings = dataclasses.replace(
        smoke_settings, database_url=database_url_of(connection.settings_dict)
    )
    outcome, results = run_isolated(
        isolated("persist", "applied_migrations"), bench_settings, timeout=40
    )
    assert outcome.ok, outcome.reason
    assert results[0].value > 0 and results[0].status == MEASURED


def test_a_missing_bench_database_is_created(settings):
    import psycopg2

    from bench.worker import ensure_postgres_database

    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("creating the bench database is PostgreSQL-specific")
    name = f"{settings.DATABASES['default']['NAME'].removeprefix('test_')}_bench_check"
    server = database_url_of({**settings.DATABASES["default"], "NAME": "postgres"})

    def database_exists() -> bool:
        connection = psycopg2.connect(server.replace("postgres://", "postgresql://", 1))
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                return cursor.fetchone() is not None
        finally:
            connection.close()

    def drop_database() -> None:
        connection = psycopg2.connect(server.replace("postgres://", "postgresql://", 1))
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.close()

    drop_database()
    try:
        ensure_postgres_database(server.rsplit("/", 1)[0] + f"/{name}")
        assert database_exists()
        # A second call finds it and changes nothing.
        ensure_postgres_database(server.rsplit("/", 1)[0] + f"/{name}")
    finally:
        drop_database()
    assert not database_exists()
