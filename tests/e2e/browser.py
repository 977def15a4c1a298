"""Chromium through Playwright in its own thread; the web tier and the fact persister as
subprocesses.

The switch simulator runs on gevent in the test's main thread, and Playwright's sync API
blocks the thread it runs in; so the browser lives in a thread of its own and the test hands
it one step at a time, waiting on gevent so the simulator keeps running meanwhile.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent

from config.web import READY_MESSAGE, web_command

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def ensure_vendor_bundle() -> None:
    """static/vendor is built by `npm ci && npm run build` in frontend/ (make setup does it)."""
    if (ROOT / "static" / "vendor" / "alpine.min.js").exists():
        return
    frontend = ROOT / "frontend"
    if not (frontend / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=frontend, check=True)
    subprocess.run(["npm", "run", "build"], cwd=frontend, check=True)


class ProjectProcess:
    """A process of the platform, started as production starts it, on the test's database and
    Redis, its output in a log file."""

    def __init__(
        self, command: list[str], database_url: str, redis_url: str, log_path: Path
    ) -> None:
        self.log_path = log_path
        self._log = open(log_path, "w")
        env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()


class WebServer(ProjectProcess):
    """The web tier as production runs it (`config.web`, two uvicorn workers, so the pages'
    websockets may land on different processes) on a free port."""

    def __init__(self, database_url: str, redis_url: str, log_path: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        command = web_command("127.0.0.1", self.port, workers=2)
        super().__init__(command, database_url, redis_url, log_path)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.log_path.read_text(errors="replace").count(READY_MESSAGE) >= 2:
                return
            if self.process.poll() is not None:
                break
            gevent.sleep(0.1)
        raise RuntimeError("the web server did not start:\n" + self.log())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class FactPersister(ProjectProcess):
    """`manage.py run_persister`: the daemon's facts (CDRs, recordings...) into PostgreSQL.
    Its consumer group reads the stream from the start, so it may start after the daemon."""

    def __init__(self, database_url: str, redis_url: str, log_path: Path) -> None:
        # A short block lets it see the stop request soon.
        command = [sys.executable, "manage.py", "run_persister", "--block-ms", "200"]
        super().__init__(command, database_url, redis_url, log_path)


class _Box:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class BrowserThread:
    """Runs `step(browser_state)` callables in the Playwright thread, one at a time."""

    def __init__(self) -> None:
        self._requests: queue.Queue = queue.Queue()
        self.state: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            try:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            except BaseException as error:
                # Every step fails at once with the reason (not a step timeout a minute on).
                failure = RuntimeError(f"Chromium ({CHROMIUM}) did not start: {error}")
                while True:
                    step, box = self._requests.get()
                    if step is None:
                        return
                    box.error = failure
                    box.done.set()
            self.state["browser"] = browser
            while True:
                step, box = self._requests.get()
                if step is None:
                    break
                try:
                    box.result = step(self.state)
                except BaseException as error:  # handed back to the test thread
                    box.error = error
                box.done.set()
            browser.close()

    def run(self, step: Callable[[dict], Any], timeout: float = 60) -> Any:
        box = _Box()
        self._requests.put((step, box))
        deadline = time.monotonic() + timeout
        while not box.done.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError("browser step took too long")
            gevent.sleep(0.05)
        if box.error is not None:
            raise box.error
        return box.result

    def close(self) -> None:
        self._requests.put((None, None))
        self._thread.join(20)
