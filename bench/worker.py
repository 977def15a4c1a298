"""Runs one benchmark inside its own process: ``python -m bench.worker SPEC.json RESULT.json``.

The parent (bench.harness) writes the specification; this process finds the measurement
function, prepares what it needs (one pinned core, an emptied Redis database, a migrated
PostgreSQL database), calls it and writes what it returned, or why it could not, to
RESULT.json. Everything heavy is imported here and only here, so a crash, a leak or a pinned
affinity stays in this process.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import json
import os
import pathlib
import resource
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class Unavailable(Exception):
    """The measurement function does not exist (yet): reported as not measured."""


class Refused(Exception):
    """The environment is unsafe or unfit for this benchmark: reported as not measured."""


def module_exists(module_name: str) -> bool:
    """Whether ``module_name`` can be found, importing at most its parent packages.

    Only the absence of the module itself (or of a parent package) counts; a dependency
    missing inside an existing module is a real error and propagates.
    """
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return False
        raise


def locate_targets(targets: list[str]) -> list[str]:
    """The ``module:function`` candidates whose module exists, without importing them."""
    present = [target for target in targets if module_exists(target.partition(":")[0])]
    if not present:
        missing = ", ".join(target.partition(":")[0] for target in targets)
        raise Unavailable(f"no module {missing}")
    return present


def load_target(targets: list[str]) -> tuple[str, Callable[..., Any]]:
    """Import the located candidates in order and return the first function found."""
    reasons = []
    for target in targets:
        module_name, _, function_name = target.partition(":")
        function = getattr(importlib.import_module(module_name), function_name, None)
        if callable(function):
            return target, function
        reasons.append(f"{module_name} has no {function_name}()")
    raise Unavailable("; ".join(reasons))


def resolve_arguments(arguments: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Replace the placeholders ``{redis_url}``, ``{database_url}`` and ``{traces}``."""
    resolved: dict[str, Any] = {}
    for name, value in arguments.items():
        if value == "{traces}":
            resolved[name] = find_traces(context.get("traces_dir"))
        elif value == "{redis_url}":
            resolved[name] = context["redis_url"]
        elif value == "{database_url}":
            resolved[name] = context["database_url"]
        else:
            resolved[name] = value
    return resolved


def find_traces(traces_dir: str | None) -> list[pathlib.Path]:
    """Every recorded ``.rx`` file under the fs-traces folder, in a stable order."""
    if not traces_dir:
        raise Refused("no fs-traces folder: set FS_TRACES_DIR or create ../shared/fs-traces")
    root = pathlib.Path(traces_dir)
    paths = sorted(root.rglob("*.rx"))
    if not paths:
        raise Refused(f"no recorded .rx files under {root}")
    return paths


def accepted_arguments(function: Callable[..., Any], offered: Mapping[str, Any]) -> dict[str, Any]:
    """The offered keyword arguments the function declares (all of them if it takes **kwargs).

    The functions are written by other engineers at the same time as this harness; offering
    a superset and passing what each declares keeps the two from breaking each other.
    """
    parameters = inspect.signature(function).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(offered)
    return {name: value for name, value in offered.items() if name in parameters}


def pin_to_one_core() -> list[int]:
    """Restrict this process (and what it starts) to one CPU; returns the CPU set."""
    allowed = sorted(os.sched_getaffinity(0))
    # The highest-numbered CPU: the lowest tends to take more interrupt and housekeeping work.
    chosen = {allowed[-1]}
    os.sched_setaffinity(0, chosen)
    return sorted(chosen)


def empty_redis_database(redis_url: str) -> None:
    """Flush the bench's own Redis database, refusing database 0 (live state by default)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        database = client.connection_pool.connection_kwargs.get("db", 0)
        if int(database) == 0:
            raise Refused(
                f"refusing to flush Redis database 0 ({redis_url}); "
                "point REDIS_URL at a spare database such as redis://127.0.0.1:6379/9"
            )
        try:
            client.flushdb()
        except redis.RedisError as error:
            raise Refused(f"Redis at {redis_url} is unusable: {error}") from error
    finally:
        client.close()


def ensure_postgres_database(database_url: str) -> None:
    """Create the database named in a PostgreSQL URL when the server does not have it yet."""
    parts = urlsplit(database_url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        return
    import psycopg2
    from psycopg2 import sql

    name = parts.path.lstrip("/")
    try:
        psycopg2.connect(database_url, connect_timeout=5).close()
        return
    except psycopg2.OperationalError as error:
        if "does not exist" not in str(error):
            raise Refused(f"PostgreSQL at {database_url} is unusable: {error}") from error
    maintenance_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    connection = psycopg2.connect(maintenance_url, connect_timeout=5)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def set_up_django(database_url: str) -> None:
    """Django on the bench database, migrated; migrate's chatter is kept off the output."""
    ensure_postgres_database(database_url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    with contextlib.redirect_stdout(io.StringIO()):
        call_command("migrate", interactive=False, verbosity=0)


def describe_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments as results.json records them: long path lists become a count."""
    described: dict[str, Any] = {}
    for name, value in arguments.items():
        if isinstance(value, list) and value and isinstance(value[0], pathlib.Path):
            described[name] = f"{len(value)} files under {os.path.commonpath(value)}"
        else:
            described[name] = value
    return described


def run(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Carry out one specification; the returned dict is what RESULT.json holds."""
    started = time.perf_counter()
    outcome: dict[str, Any] = {"ok": False}
    try:
        cpu_affinity = pin_to_one_core() if spec.get("pin_one_core") else None
        outcome["cpu_affinity"] = cpu_affinity or sorted(os.sched_getaffinity(0))
        targets = locate_targets(list(spec["targets"]))
        context = spec["context"]
        arguments = resolve_arguments(spec["arguments"], context)
        if spec.get("needs_redis"):
            empty_redis_database(context["redis_url"])
        if spec.get("needs_django"):
            set_up_django(context["database_url"])
        target, function = load_target(targets)
        call_arguments = accepted_arguments(function, arguments)
        outcome["target"] = target
        outcome["arguments"] = describe_arguments(call_arguments)
        outcome["prepare_seconds"] = time.perf_counter() - started
        if spec.get("prepared_marker"):
            # Tells the parent that the measurement's own timeout starts now.
            pathlib.Path(spec["prepared_marker"]).touch()
        measured_at = time.perf_counter()
        returned = function(**call_arguments)
        outcome["measure_seconds"] = time.perf_counter() - measured_at
        if not isinstance(returned, Mapping):
            raise TypeError(f"{target} returned {type(returned).__name__}, not a dict")
        outcome["returned"] = dict(returned)
        outcome["ok"] = True
    except Unavailable as error:
        outcome.update(kind="unavailable", reason=f"not implemented yet: {error}")
    except Refused as error:
        outcome.update(kind="refused", reason=str(error))
    except Exception as error:
        outcome.update(
            kind="error",
            reason=f"{type(error).__name__}: {error}",
            traceback=traceback.format_exc(limit=8),
        )
    outcome["wall_seconds"] = time.perf_counter() - started
    # ru_maxrss is in kilobytes on Linux.
    outcome["process_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return outcome


def main(argv: list[str]) -> int:
    spec_path, result_path = argv
    spec = json.loads(pathlib.Path(spec_path).read_text(encoding="utf-8"))
    outcome = run(spec)
    temporary = pathlib.Path(result_path + ".tmp")
    temporary.write_text(json.dumps(outcome, default=str), encoding="utf-8")
    temporary.replace(result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
