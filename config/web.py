"""How the web tier is served: uvicorn worker processes running `config.asgi:application`.

`python -m config.web --host H --port P [--workers N]` is the one command line, used by
`scripts/run_platform.py` (make run / make demo), the browser tests and the websocket fan-out
benchmark, so all three run what production runs.

Why these choices (measured with `wallboard.bench`, 1,000 websocket clients, docs/wallboard.md):
- uvicorn with uvloop, httptools and websockets' sans-I/O protocol sends a frame for a
  fraction of what daphne's Twisted/autobahn stack costs per frame;
- several worker processes, each with its own `SO_REUSEPORT` socket on the same port: the
  kernel spreads new connections evenly over them (one shared listening socket, uvicorn's own
  `--workers`, let whichever worker woke first take them: 16 pages all on one worker in four
  runs of five). Each worker runs its own live relay (realtime.relay) for its own pages, so a
  fan-out to 1,000 pages is split over the cores;
- no per-message deflate: the live frames are small JSON documents and compressing each one
  once per page costs more CPU than the bytes it saves;
- no ASGI lifespan: Django's ASGI handler does not implement it (the relay starts with the
  first websocket instead).

With several workers this process supervises them: a worker that dies after running a while
is restarted; one that dies within `CRASH_WINDOW_SECONDS` of starting (a port in use, an
import error) stops the web tier with its exit status, so the failure is seen. `WEB_WORKERS`
sets the default number of workers (else one per usable CPU).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGGING_CONFIG = Path(__file__).resolve().parent / "uvicorn_logging.json"
APPLICATION = "config.asgi:application"
# Seconds a stopping worker waits for open websockets (pages reconnect to another worker).
GRACEFUL_SHUTDOWN_SECONDS = 5
# A worker dying this soon after its start is a configuration error, not a crash to restart.
CRASH_WINDOW_SECONDS = 10.0
READY_MESSAGE = "web worker ready on"

logger = logging.getLogger("config.web")


def default_workers() -> int:
    """`WEB_WORKERS` from the environment, else one per usable CPU."""
    configured = os.environ.get("WEB_WORKERS", "").strip()
    if configured:
        workers = int(configured)
        if workers < 1:
            raise ValueError(f"WEB_WORKERS must be at least 1, not {workers}")
        return workers
    return max(1, len(os.sched_getaffinity(0)))


def web_command(
    host: str,
    port: int,
    workers: int | None = None,
    python: str = sys.executable,
    access_log: bool = True,
) -> list[str]:
    """The argv that serves the platform on `host:port` with `workers` processes."""
    workers = default_workers() if workers is None else workers
    command = [python, "-m", "config.web", "--host", host, "--port", str(port)]
    command += ["--workers", str(workers)]
    return command + ([] if access_log else ["--no-access-log"])


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A TCP socket bound to `host:port` that other workers may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(False)
    return sock


def run_worker(host: str, port: int, access_log: bool) -> None:
    """One uvicorn server: load the application, then listen, then serve until told to stop."""
    import uvicorn

    sys.path.insert(0, str(ROOT))
    config = uvicorn.Config(
        APPLICATION,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="off",
        log_config=str(LOGGING_CONFIG),
        access_log=access_log,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    config.load()  # import Django first: a listening worker is one that can answer
    sock = listening_socket(host, port, config.backlog)
    logging.getLogger("uvicorn.error").info("%s %s:%d", READY_MESSAGE, host, port)
    uvicorn.Server(config).run(sockets=[sock])


def _die_with_supervisor() -> None:
    """In a new worker, before it runs: the kernel sends it SIGTERM when the supervisor dies
    (killed outright, it cannot stop its workers itself; orphans would hold the port)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Supervisor:
    """Runs `count` worker processes, restarts crashed ones, stops them all on a signal."""

    def __init__(self, host: str, port: int, count: int, access_log: bool) -> None:
        self.argv = [sys.executable, "-m", "config.web", "--host", host, "--port", str(port)]
        self.argv += ["--workers", "1"] + ([] if access_log else ["--no-access-log"])
        self.count = count
        self.stopping = False
        self.workers: list[tuple[subprocess.Popen, float]] = []

    def start_worker(self) -> tuple[subprocess.Popen, float]:
        preexec = _die_with_supervisor if sys.platform == "linux" else None
        return subprocess.Popen(self.argv, cwd=ROOT, preexec_fn=preexec), time.monotonic()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.workers = [self.start_worker() for _ in range(self.count)]
        status = 0
        while not self.stopping:
            for index, (process, started) in enumerate(self.workers):
                code = process.poll()
                if code is None or self.stopping:
                    continue
                if time.monotonic() - started < CRASH_WINDOW_SECONDS:
                    logger.error("web worker %d exited with %s at start", process.pid, code)
                    status = code or 1
                    self.stopping = True
                    break
                logger.warning("web worker %d exited with %s; restarting it", process.pid, code)
                self.workers[index] = self.start_worker()
            time.sleep(0.2)
        self._terminate()
        return status

    def _stop(self, *_args: object) -> None:
        self.stopping = True

    def _terminate(self) -> None:
        for process, _started in self.workers:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + GRACEFUL_SHUTDOWN_SECONDS + 5
        for process, _started in self.workers:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the platform's web tier (uvicorn).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None, help="default: WEB_WORKERS or CPUs")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false")
    args = parser.parse_args(argv)
    workers = default_workers() if args.workers is None else args.workers
    if workers < 1:
        parser.error("--workers must be at least 1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if workers == 1:
        run_worker(args.host, args.port, args.access_log)
        return 0
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"
    )
    return Supervisor(args.host, args.port, workers, args.access_log).run()


if __name__ == "__main__":
    sys.exit(main())
