"""Runs the benchmarks, each in its own process, and turns what they return into results.

The harness never measures anything itself and never makes a figure up: a metric whose
function is missing, crashes, times out or returns nothing usable is reported with value
``null``, status ``not measured`` and the reason in ``note``.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.metrics import (
    BENCHMARKS,
    METRICS,
    METRICS_BY_NAME,
    PREPARE_SECONDS,
    RUN_BUDGET_SECONDS,
    Benchmark,
    Profile,
    is_valid_figure,
)

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_RESULTS_PATH = REPOSITORY / "bench" / "results.json"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/callcenter"

PASS = "pass"
FAIL = "fail"
MEASURED = "measured"
NOT_MEASURED = "not measured"

# Lines of a dead worker's output kept in the note: enough to name the error, short enough
# for a table.
_OUTPUT_TAIL_LINES = 3


@dataclass(frozen=True)
class BenchSettings:
    """Where the bench runs: servers, recorded traces, load profile and time budget."""

    redis_url: str
    database_url: str
    traces_dir: str | None
    profile: Profile
    budget_seconds: float

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str], profile: Profile | None = None
    ) -> BenchSettings:
        """Read REDIS_URL, DATABASE_URL, FS_TRACES_DIR and BENCH_QUICK, with bench defaults."""
        if profile is None:
            quick = environ.get("BENCH_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}
            profile = "quick" if quick else "full"
        traces = environ.get("FS_TRACES_DIR") or str(REPOSITORY.parent / "shared" / "fs-traces")
        return cls(
            redis_url=environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
            database_url=environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            traces_dir=traces if pathlib.Path(traces).is_dir() else None,
            profile=profile,
            budget_seconds=RUN_BUDGET_SECONDS[profile],
        )


@dataclass
class MetricResult:
    """One row of results.json."""

    name: str
    value: float | None
    unit: str
    goal: str | None
    params: dict[str, Any] = field(default_factory=dict)
    status: str = NOT_MEASURED
    note: str = ""


@dataclass
class BenchmarkOutcome:
    """What one worker process reported, or why it reported nothing."""

    ok: bool
    reason: str = ""
    returned: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def select_benchmarks(names: Iterable[str] | None) -> list[tuple[Benchmark, tuple[str, ...]]]:
    """The benchmarks to run and, for each, the metrics wanted from it.

    ``names`` may mix metric names and benchmark names; None means everything.
    """
    if names is None:
        return [(benchmark, benchmark.metric_names) for benchmark in BENCHMARKS]
    wanted = set(names)
    known = set(METRICS_BY_NAME) | {benchmark.name for benchmark in BENCHMARKS}
    unknown = sorted(wanted - known)
    if unknown:
        raise ValueError(f"unknown metric or benchmark: {', '.join(unknown)}")
    selection = []
    for benchmark in BENCHMARKS:
        if benchmark.name in wanted:
            selection.append((benchmark, benchmark.metric_names))
            continue
        metrics = tuple(name for name in benchmark.metric_names if name in wanted)
        if metrics:
            selection.append((benchmark, metrics))
    return selection


def build_spec(benchmark: Benchmark, settings: BenchSettings) -> dict[str, Any]:
    """The JSON the worker process reads."""
    return {
        "benchmark": benchmark.name,
        "targets": list(benchmark.targets),
        "arguments": benchmark.arguments[settings.profile],
        "context": {
            "redis_url": settings.redis_url,
            "database_url": settings.database_url,
            "traces_dir": settings.traces_dir,
        },
        "pin_one_core": benchmark.pin_one_core,
        "needs_redis": benchmark.needs_redis,
        "needs_django": benchmark.needs_django,
    }


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-_OUTPUT_TAIL_LINES:])


def _wait_for_worker(
    process: subprocess.Popen[bytes],
    marker: pathlib.Path,
    prepare_seconds: float,
    timeout_seconds: float,
) -> str | None:
    """Wait for the worker; the reason it was killed, or None when it ended by itself.

    Preparation (creating and migrating the database, emptying Redis) has its own allowance,
    so a first run's migrations do not eat the measurement's timeout.
    """
    prepare_deadline = time.monotonic() + prepare_seconds
    measure_deadline: float | None = None
    while process.poll() is None:
        now = time.monotonic()
        if measure_deadline is None and marker.exists():
            measure_deadline = now + timeout_seconds
        if measure_deadline is None and now >= prepare_deadline:
            reason = f"timed out preparing (migrations, Redis) after {prepare_seconds:.0f} s"
            break
        if measure_deadline is not None and now >= measure_deadline:
            reason = f"timed out after {timeout_seconds:.0f} s"
            break
        time.sleep(0.05)
    else:
        return None
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return reason


def run_worker(
    spec: Mapping[str, Any],
    settings: BenchSettings,
    timeout_seconds: float,
    prepare_seconds: float = 30.0,
) -> BenchmarkOutcome:
    """Run ``python -m bench.worker`` on ``spec`` in a new session and collect its result.

    The worker gets its own session so that on a timeout the whole group it started (a
    simulator, a daemon) is killed with it and nothing else.
    """
    environment = dict(os.environ)
    environment.update(
        REDIS_URL=settings.redis_url,
        DATABASE_URL=settings.database_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=os.pathsep.join(
            filter(None, [str(REPOSITORY), environment.get("PYTHONPATH", "")])
        ),
    )
    if settings.traces_dir:
        environment["FS_TRACES_DIR"] = settings.traces_dir
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        spec_path = pathlib.Path(scratch, "spec.json")
        result_path = pathlib.Path(scratch, "result.json")
        output_path = pathlib.Path(scratch, "output.log")
        marker_path = pathlib.Path(scratch, "prepared")
        spec_path.write_text(
            json.dumps({**spec, "prepared_marker": str(marker_path)}), encoding="utf-8"
        )
        with output_path.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.worker", str(spec_path), str(result_path)],
                cwd=REPOSITORY,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            killed_because = _wait_for_worker(
                process, marker_path, max(prepare_seconds, 0.1), max(timeout_seconds, 0.1)
            )
        output_text = output_path.read_text(encoding="utf-8", errors="replace")
        if killed_because:
            return BenchmarkOutcome(
                ok=False, reason=killed_because, details={"output_tail": _tail(output_text)}
            )
        if not result_path.exists():
            return BenchmarkOutcome(
                ok=False,
                reason=f"worker died with exit code {process.returncode}: {_tail(output_text)}",
            )
        report = json.loads(result_path.read_text(encoding="utf-8"))
    details = {
        key: report[key]
        for key in (
            "target",
            "arguments",
            "cpu_affinity",
            "process_peak_rss_mb",
            "prepare_seconds",
            "measure_seconds",
            "wall_seconds",
        )
        if key in report
    }
    if not report.get("ok"):
        if report.get("traceback"):
            details["traceback"] = report["traceback"]
        return BenchmarkOutcome(ok=False, reason=report.get("reason", "unknown"), details=details)
    return BenchmarkOutcome(ok=True, returned=report.get("returned", {}), details=details)


def results_from_outcome(
    benchmark: Benchmark,
    metric_names: Iterable[str],
    outcome: BenchmarkOutcome,
    common_params: Mapping[str, Any],
) -> list[MetricResult]:
    """One MetricResult per wanted metric, judged against its goal."""
    metric_keys = set(benchmark.result_keys.values())
    reported = {key: value for key, value in outcome.returned.items() if key not in metric_keys}
    results = []
    for name in metric_names:
        metric = METRICS_BY_NAME[name]
        params: dict[str, Any] = {"benchmark": benchmark.name, **outcome.details}
        if reported:
            params["reported"] = reported
        params.update(common_params)
        result = MetricResult(
            name=name,
            value=None,
            unit=metric.unit,
            goal=str(metric.goal) if metric.goal else None,
            params=params,
        )
        if not outcome.ok:
            result.note = outcome.reason
        else:
            value = outcome.returned.get(benchmark.result_keys[name])
            if value is None:
                own_reason = outcome.returned.get("reason") or outcome.returned.get("note")
                result.note = (
                    str(own_reason)
                    if own_reason
                    else (f"the benchmark returned no {benchmark.result_keys[name]!r}")
                )
            elif not is_valid_figure(value):
                result.note = f"the benchmark returned an invalid figure: {value!r}"
            else:
                result.value = float(value)
                if metric.goal is None:
                    result.status = MEASURED
                else:
                    result.status = PASS if metric.goal.is_met_by(result.value) else FAIL
        results.append(result)
    return results


def run_benchmarks(
    settings: BenchSettings,
    names: Iterable[str] | None = None,
    machine: Mapping[str, Any] | None = None,
    progress: Any = None,
) -> list[MetricResult]:
    """Run the selected benchmarks one after another, within the profile's time budget."""
    selection = select_benchmarks(names)
    deadline = time.monotonic() + settings.budget_seconds
    common_params: dict[str, Any] = {
        "profile": settings.profile,
        "redis_url": settings.redis_url,
        "database_url": settings.database_url,
    }
    if machine is not None:
        common_params["machine"] = dict(machine)
    results: list[MetricResult] = []
    for benchmark, metric_names in selection:
        remaining = deadline - time.monotonic()
        if remaining < 1:
            outcome = BenchmarkOutcome(
                ok=False,
                reason=f"skipped: the {settings.budget_seconds:.0f} s run budget was spent",
            )
        else:
            if progress is not None:
                progress(f"running {benchmark.name} ({', '.join(metric_names)})")
            prepare = min(PREPARE_SECONDS[settings.profile], remaining)
            timeout = min(benchmark.timeout_seconds[settings.profile], remaining)
            outcome = run_worker(build_spec(benchmark, settings), settings, timeout, prepare)
        results.extend(results_from_outcome(benchmark, metric_names, outcome, common_params))
    order = {metric.name: index for index, metric in enumerate(METRICS)}
    results.sort(key=lambda result: order[result.name])
    return results


def write_results(results: Iterable[MetricResult], path: pathlib.Path) -> None:
    """Write results.json atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    payload = [asdict(result) for result in results]
    temporary.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    temporary.replace(path)


def format_value(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def format_table(results: Iterable[MetricResult], note_width: int = 70) -> str:
    """The results as a plain-text table: name, value, unit, goal, status, note."""
    header = ("metric", "value", "unit", "goal", "status", "note")
    rows = [header]
    for result in results:
        note = result.note if len(result.note) <= note_width else result.note[: note_width - 1]
        if len(result.note) > note_width:
            note += "…"
        rows.append(
            (
                result.name,
                format_value(result.value),
                result.unit,
                result.goal or "-",
                result.status,
                note,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    right_aligned = {1}
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(widths[column]) if column in right_aligned else cell.ljust(widths[column])
            for column, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def format_machine(machine: Mapping[str, Any]) -> str:
    """One paragraph naming the machine and the date, printed above the table."""
    return (
        f"{machine['date']}  {machine['cpu_model']}, {machine['cpu_cores']} cores "
        f"({machine['cpu_cores_usable']} usable, load {machine['load_average_1m']}), "
        f"{machine['memory_gb']} GB RAM, "
        f"Python {machine['python']}, Redis {machine['redis_server']}, "
        f"PostgreSQL {machine['postgresql_server']}, commit {machine['git_commit']}"
    )
