"""``python -m bench``: run the benchmarks, print the table, write bench/results.json.

``BENCH_QUICK=1`` (or ``--profile quick``) runs smaller loads within a minute.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

from bench.harness import (
    DEFAULT_RESULTS_PATH,
    FAIL,
    REPOSITORY,
    BenchSettings,
    format_machine,
    format_table,
    run_benchmarks,
    select_benchmarks,
    write_results,
)
from bench.machine import describe_machine
from bench.metrics import BENCHMARKS, METRICS, PROFILES


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Measure the platform against its goals."
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        help="load size: full (under 10 min), quick (under 1 min, same as BENCH_QUICK=1), "
        "smoke (seconds, for the harness's own test)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="metric or benchmark names to run (default: all)",
    )
    parser.add_argument(
        "--output",
        type=pathlib.Path,
        default=DEFAULT_RESULTS_PATH,
        help=f"where to write the results (default: {DEFAULT_RESULTS_PATH})",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a metric misses its goal"
    )
    parser.add_argument("--list", action="store_true", help="list metrics and benchmarks")
    return parser.parse_args(argv)


def list_metrics() -> str:
    lines = ["metrics:"]
    for metric in METRICS:
        goal = str(metric.goal) if metric.goal else "no goal"
        lines.append(f"  {metric.name:28} {metric.unit:9} {goal}")
    lines.append("benchmarks:")
    for benchmark in BENCHMARKS:
        lines.append(f"  {benchmark.name:12} {' or '.join(benchmark.targets)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    if arguments.list:
        print(list_metrics())
        return 0
    try:
        select_benchmarks(arguments.only)
    except ValueError as error:
        print(f"python -m bench: {error}", file=sys.stderr)
        return 2
    # Read the project's .env the way Django settings do, so "as configured" means the same.
    import environ

    environ.Env.read_env(REPOSITORY / ".env", overwrite=False)
    settings = BenchSettings.from_environment(os.environ, arguments.profile)
    machine = describe_machine(REPOSITORY, settings.redis_url, settings.database_url)
    print(format_machine(machine), flush=True)
    print(
        f"profile {settings.profile} (budget {settings.budget_seconds:.0f} s), "
        f"Redis {settings.redis_url}, database {settings.database_url}",
        flush=True,
    )

    def progress(message: str) -> None:
        print(f"  {message}", flush=True)

    results = run_benchmarks(settings, arguments.only, machine, progress)
    write_results(results, arguments.output)
    print()
    print(format_table(results))
    print(f"\nwritten to {arguments.output}")
    if arguments.strict and any(result.status == FAIL for result in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
