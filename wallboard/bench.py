"""`ws_fanout_p99_ms`: an agent state change reaching 1,000 connected websocket clients.

A real daphne server (`config.asgi:application`, the relay included) runs as a subprocess on
the bench Redis and database. `clients` websockets connect to the desk socket as one signed-in
agent (a wall of pages watching one agent: every client is in the same Channels group, so one
change fans out to all of them; the path is the production one: daemon publish on `cc:live`
→ relay → channel layer group → consumer → websocket). The bench then publishes `changes`
agent state events the way the daemon does, each stamped with its publish time, and every
client records the time from publish to receipt. Clients and publisher share one clock.

Call it after `django.setup()`; the bench harness does (`bench/metrics.py`).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AGENT_EMPLOYEE_NUMBER = "990001"
# Clients opening at once: more only queues them in daphne's accept backlog and thread pool.
CONNECT_BATCH = 50


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        return f"sqlite:///{db['NAME']}"
    return (
        f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:"
        f"{db.get('PORT') or 5432}/{db['NAME']}"
    )


def _signed_in_agent() -> tuple[int, str, int]:
    """A bench agent user and a session for it: (agent id, session key, user id)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.services import create_user
    from telephony.models import Agent

    username = f"bench-fanout-{uuid.uuid4().hex[:8]}"
    user = create_user(username, uuid.uuid4().hex, ["agent"])
    agent, _created = Agent.objects.update_or_create(
        employee_number=AGENT_EMPLOYEE_NUMBER,
        defaults={"name": "bench", "extension": AGENT_EMPLOYEE_NUMBER, "user": user},
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return agent.pk, session.session_key, user.pk


def _remove(agent_id: int, session_key: str, user_id: int) -> None:
    from django.contrib.sessions.models import Session

    from accounts.models import User
    from telephony.models import Agent

    Session.objects.filter(session_key=session_key).delete()
    Agent.objects.filter(pk=agent_id).delete()
    User.objects.filter(pk=user_id).delete()


class _Server:
    """daphne serving the project on a free port, with its log in a temporary file."""

    def __init__(self, redis_url: str) -> None:
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile("w+", prefix="ws-fanout-daphne-", suffix=".log")
        env = dict(
            os.environ,
            REDIS_URL=redis_url,
            DATABASE_URL=_database_url(),
            CHANNELS_PREFIX=f"bench{uuid.uuid4().hex[:6]}",
            LOG_LEVEL="WARNING",
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
            + ["config.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited: {self.output()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"daphne did not listen in {timeout} s: {self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-2000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


async def _run_clients(
    port: int, session_key: str, redis_url: str, agent_id: int, clients: int, changes: int
) -> dict[str, Any]:
    import redis.asyncio as aioredis
    import websockets

    from cti.notify import LIVE_CHANNEL

    headers = {"Cookie": f"sessionid={session_key}", "Origin": f"http://127.0.0.1:{port}"}
    url = f"ws://127.0.0.1:{port}/ws/desk/"
    latencies: list[float] = []
    received: dict[int, int] = {}
    all_in: dict[int, asyncio.Event] = {}

    async def open_one() -> Any:
        for attempt in range(5):
            try:
                connection = await websockets.connect(
                    url, additional_headers=headers, open_timeout=30, max_queue=None
                )
                sync = json.loads(await asyncio.wait_for(connection.recv(), 30))
                if sync.get("type") != "sync":
                    raise RuntimeError(f"first message is not a sync: {sync}")
                return connection
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
                await asyncio.sleep(0.2 * (attempt + 1))
        raise RuntimeError("could not connect a websocket client")

    started = time.perf_counter()
    connections = []
    # Connect in batches: each connection costs the server a session and a user lookup.
    for offset in range(0, clients, CONNECT_BATCH):
        batch = min(CONNECT_BATCH, clients - offset)
        connections += await asyncio.gather(*(open_one() for _ in range(batch)))
    connect_seconds = time.perf_counter() - started

    async def listen(connection: Any) -> None:
        async for raw in connection:
            now = time.time()
            message = json.loads(raw)
            event = message.get("event") or {}
            sequence = event.get("bench_sequence")
            if sequence is None:
                continue
            latencies.append((now - event["at"]) * 1000)
            received[sequence] = received.get(sequence, 0) + 1
            if received[sequence] == clients:
                all_in[sequence].set()

    listeners = [asyncio.create_task(listen(c)) for c in connections]
    publisher = aioredis.Redis.from_url(redis_url, decode_responses=True)
    lost = 0
    states = ("ready", "busy")
    try:
        for sequence in range(changes):
            all_in[sequence] = asyncio.Event()
            event = {
                "type": "agent",
                "agent_id": agent_id,
                "old": states[(sequence + 1) % 2],
                "state": states[sequence % 2],
                "reason": "bench" if states[sequence % 2] == "busy" else "",
                "call_uuid": None,
                "bench_sequence": sequence,
                "at": time.time(),
            }
            await publisher.publish(LIVE_CHANNEL, json.dumps(event))
            try:
                await asyncio.wait_for(all_in[sequence].wait(), 5)
            except TimeoutError:
                lost += clients - received.get(sequence, 0)
            # Changes of one agent come seconds apart in real life; keep them apart here too.
            await asyncio.sleep(0.02)
    finally:
        await publisher.aclose()
        for task in listeners:
            task.cancel()
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
    return {"latencies": latencies, "lost": lost, "connect_seconds": connect_seconds}


def measure_ws_fanout(
    redis_url: str, clients: int = 1000, changes: int = 200, quick: bool = False
) -> dict[str, Any]:
    """Publish→receive latency of agent state changes at `clients` websocket clients."""
    import websockets

    agent_id, session_key, user_id = _signed_in_agent()
    server = _Server(redis_url)
    try:
        server.wait_ready(30)
        outcome = asyncio.run(
            _run_clients(server.port, session_key, redis_url, agent_id, clients, changes)
        )
    finally:
        server.stop()
        _remove(agent_id, session_key, user_id)
    latencies = outcome["latencies"]
    if not latencies:
        raise RuntimeError("no client received any change")
    return {
        "ws_fanout_p99_ms": round(_percentile(latencies, 0.99), 2),
        "ws_fanout_p50_ms": round(_percentile(latencies, 0.50), 2),
        "ws_fanout_max_ms": round(max(latencies), 2),
        "clients": clients,
        "changes": changes,
        "deliveries": len(latencies),
        "lost": outcome["lost"],
        "connect_seconds": round(outcome["connect_seconds"], 2),
        "quick": quick,
        "websockets_version": websockets.__version__,
    }
