"""What the figures were measured on: CPU, cores, memory, Python, servers, commit, date."""

from __future__ import annotations

import datetime
import os
import pathlib
import platform
import subprocess
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git_commit(repository: pathlib.Path) -> str | None:
    try:
        completed = subprocess.run(
            ["git", "-C", str(repository), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None


def _redis_version(redis_url: str) -> str:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        return str(client.info("server").get("redis_version", "unknown"))
    except redis.RedisError as error:
        return f"unreachable ({error})"
    finally:
        client.close()


def _postgres_version(database_url: str) -> str:
    if not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return "not PostgreSQL"
    import psycopg2

    # The bench database may not exist yet: the server's version is the same from any DB.
    parts = urlsplit(database_url)
    maintenance_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    try:
        connection = psycopg2.connect(maintenance_url, connect_timeout=3)
    except psycopg2.Error as error:
        return f"unreachable ({str(error).strip()})"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return str(cursor.fetchone()[0])
    finally:
        connection.close()


def describe_machine(repository: pathlib.Path, redis_url: str, database_url: str) -> dict[str, Any]:
    """A JSON-ready description of this machine and the servers the bench uses."""
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)),
        "memory_gb": _memory_gb(),
        # Other work on the machine moves the figures; the load at the start says how much.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": _git_commit(repository),
        "redis_server": _redis_version(redis_url),
        "postgresql_server": _postgres_version(database_url),
    }
