"""The web tier's command (config.web): workers on one port, each serving pages, supervision."""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from config import web

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(90)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_workers_come_from_the_environment_or_the_cpus(monkeypatch):
    monkeypatch.setenv("WEB_WORKERS", "3")
    assert web.default_workers() == 3
    assert web.web_command("0.0.0.0", 8000)[-2:] == ["--workers", "3"]
    monkeypatch.setenv("WEB_WORKERS", "0")
    with pytest.raises(ValueError, match="at least 1"):
        web.default_workers()
    monkeypatch.delenv("WEB_WORKERS")
    assert web.default_workers() == len(__import__("os").sched_getaffinity(0))


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.1)


def start_two_workers(tmp_path) -> tuple[subprocess.Popen, int, Path]:
    """The web tier with two workers on a free port; returns once both listen."""
    port = free_port()
    log_path = tmp_path / "web.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            web.web_command("127.0.0.1", port, workers=2), cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_for(lambda: log_path.read_text().count(web.READY_MESSAGE) >= 2)
    return server, port, log_path


def test_two_workers_share_the_port_and_both_serve_pages(tmp_path):
    server, port, log_path = start_two_workers(tmp_path)
    try:
        for _ in range(20):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/") as reply:
                assert reply.status == 200
        workers = {
            line.split("[", 1)[1].split("]", 1)[0]
            for line in log_path.read_text().splitlines()
            if web.READY_MESSAGE in line
        }
        assert len(workers) == 2  # two processes, each bound to the same port
    finally:
        server.terminate()
        server.wait(20)
    assert server.returncode == 0


def test_a_worker_that_cannot_listen_stops_the_web_tier_with_an_error(tmp_path):
    # The port is taken by a socket without SO_REUSEPORT: every worker fails at start, and
    # the supervisor exits non-zero instead of restarting them forever.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            web.web_command("127.0.0.1", port, workers=2), cwd=ROOT, capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode != 0
    assert "Address already in use" in result.stdout + result.stderr


def test_a_worker_that_dies_later_is_restarted(tmp_path, monkeypatch):
    monkeypatch.setattr(web, "CRASH_WINDOW_SECONDS", 0.0)
    supervisor = web.Supervisor("127.0.0.1", free_port(), 1, access_log=False)
    # Stand-in workers: short-lived processes, so the supervisor sees each one exit.
    started = []

    def start_worker():
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
        started.append(process)
        if len(started) >= 3:
            supervisor.stopping = True
        return process, time.monotonic()

    monkeypatch.setattr(supervisor, "start_worker", start_worker)
    monkeypatch.setattr(web.signal, "signal", lambda *args: None)
    assert supervisor.run() == 0
    assert len(started) >= 3  # the first worker and at least two restarts


def test_workers_stop_when_their_supervisor_is_killed(tmp_path):
    server, port, _log_path = start_two_workers(tmp_path)
    server.kill()  # no chance to stop its workers itself
    server.wait(10)

    def port_free() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) != 0

    wait_for(port_free, 20)  # the workers got SIGTERM from the kernel and left
