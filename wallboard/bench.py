"""`ws_fanout_p99_ms`: an agent state change reaching 1,000 connected websocket clients.

The web tier runs as production runs it (`config.web.web_command`: uvicorn serving
`config.asgi:application`, the relay included) as a subprocess on the bench Redis and
database, with `server_processes` worker processes sharing one port (default: one per CPU,
as `scripts/run_platform.py`). `clients` websockets connect to the desk socket as one
signed-in agent (a wall of pages watching one agent: every client is in `agent.<id>`, so one
change fans out to all of them), at most `concurrency` handshakes at a time. The path is the
production one: daemon publish on `cc:live` → the process's relay → its in-process registry →
each consumer's outbox and sending task → websocket. The bench then publishes `changes` agent
state events the way the daemon does, every `interval` seconds (open loop), each stamped with
its publish time; every client records the arrival time of every change. Clients and
publisher share one clock. Latencies: publish → arrival at each client, warm-up excluded;
`lost`: deliveries missing once the run settled.

Call it after `django.setup()`; the bench harness does (`bench/metrics.py`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AGENT_EMPLOYEE_NUMBER = "990001"
# Handshakes in flight at once: more only queue in the server's accept backlog and in the one
# thread per process where Channels runs the session, user and snapshot lookups.
CONNECT_CONCURRENCY = 64


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    """The database this process uses (under pytest: the test database), as a URL for the web
    server."""
    from django.db import connection

    db = connection.settings_dict
    if "sqlite" in db["ENGINE"]:
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db.get('USER') or 'postgres'}{password}@{db.get('HOST') or '127.0.0.1'}:"
        f"{db.get('PORT') or 5432}/{db['NAME']}"
    )


def _with_persistent_connections(url: str) -> str:
    if "conn_max_age" in url or url.startswith("sqlite"):
        return url
    return f"{url}{'&' if '?' in url else '?'}conn_max_age=60"


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
    """The web tier as production runs it (`config.web.web_command`): `processes` uvicorn
    workers on one free port, their log in a temporary file.

    The log names the worker process of every accepted websocket; the server is ready when
    every worker has logged that it listens (each has its own SO_REUSEPORT socket, and the
    kernel only spreads connections over the sockets that exist when they arrive).
    """

    def __init__(self, redis_url: str, processes: int = 1) -> None:
        from config.web import web_command

        env = dict(
            os.environ,
            REDIS_URL=redis_url,
            # Persistent database connections: without them every session, user and seat
            # lookup of the connect phase opens a new PostgreSQL connection (most of the time
            # it takes to connect 1,000 clients). The fan-out itself touches no database.
            DATABASE_URL=_with_persistent_connections(_database_url()),
            CHANNELS_PREFIX=f"bench{uuid.uuid4().hex[:6]}",
            LOG_LEVEL="WARNING",
        )
        self.port = _free_port()
        self.log = tempfile.NamedTemporaryFile("w+", prefix="ws-fanout-web-", suffix=".log")
        self.processes = processes
        command = web_command("127.0.0.1", self.port, workers=processes, access_log=False)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float) -> None:
        from config.web import READY_MESSAGE

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the web server exited: {self.output()}")
            self.log.seek(0)
            if self.log.read().count(READY_MESSAGE) >= self.processes:
                return
            time.sleep(0.05)
        raise RuntimeError(f"the web server did not listen in {timeout} s: {self.output()}")

    def connections_per_process(self) -> list[int]:
        """Websockets each worker process accepted (from the log), busiest first."""
        self.log.seek(0)
        counts: Counter[str] = Counter(
            match.group(1) for match in _ACCEPTED.finditer(self.log.read())
        )
        return sorted(counts.values(), reverse=True)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()


# `... [<pid>] INFO uvicorn.error: 127.0.0.1:53122 - "WebSocket /ws/desk/" [accepted]`
_ACCEPTED = re.compile(r"\[(\d+)\] INFO uvicorn\.error: \S+ - \"WebSocket [^\"]*\" \[accepted\]")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


class _Client(asyncio.Protocol):
    """One websocket client as cheap as it gets: websockets' sans-I/O protocol on a transport.

    A thousand clients share the bench's one process and core, so per-frame work here delays
    every later client's reading. The arrival time is taken first thing when bytes come in,
    and frames are only kept (`arrivals`), parsed after the run.
    """

    def __init__(
        self, url: str, headers: dict[str, str], index: int, arrivals: list, on_event: Any
    ) -> None:
        from websockets.client import ClientProtocol
        from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
        from websockets.uri import parse_uri

        self.index = index
        # Offer per-message deflate as browsers do; the server is expected to decline it.
        self.protocol = ClientProtocol(
            parse_uri(url),
            origin=headers.get("Origin"),
            extensions=[ClientPerMessageDeflateFactory()],
        )
        self.request = self.protocol.connect()
        for name, value in headers.items():
            if name != "Origin":
                self.request.headers[name] = value
        self.synced: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.arrivals = arrivals
        self.on_event = on_event
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.protocol.send_request(self.request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        from websockets.frames import Frame, Opcode

        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if not isinstance(event, Frame) or event.opcode is not Opcode.TEXT:
                continue
            if not self.synced.done():
                self.synced.set_result(json.loads(event.data))
            else:
                self.arrivals.append((self.index, now, event.data))
                self.on_event()
        self._flush()

    def _flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk and self.transport is not None:
                self.transport.write(chunk)
        if self.protocol.handshake_exc is not None and not self.synced.done():
            self.synced.set_exception(self.protocol.handshake_exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.synced.done():
            self.synced.set_exception(exc or ConnectionError("closed before the sync"))
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.protocol.send_close()
            self._flush()
            self.transport.close()


async def _open_clients(
    port: int,
    path: str,
    headers: dict[str, str],
    clients: int,
    concurrency: int,
    arrivals: list,
    on_event: Any,
) -> list[_Client]:
    """Open `clients` websockets, at most `concurrency` handshakes at a time, concurrently.

    Each client's first frame must be the sync (its consumer is registered by then).
    """
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    url = f"ws://127.0.0.1:{port}{path}"

    async def open_one(index: int) -> _Client:
        last_error: Exception | None = None
        async with gate:
            for attempt in range(5):
                client = _Client(url, headers, index, arrivals, on_event)
                try:
                    await loop.create_connection(lambda made=client: made, "127.0.0.1", port)
                    sync = await asyncio.wait_for(client.synced, 30)
                    if sync.get("type") != "sync":
                        raise RuntimeError(f"first message is not a sync: {sync}")
                    return client
                except Exception as error:  # refused, reset or timed out: retry a few times
                    client.close()
                    last_error = error
                    await asyncio.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"could not connect a websocket client: {last_error!r}")

    return list(await asyncio.gather(*(open_one(index) for index in range(clients))))


async def _run_clients(
    port: int,
    session_key: str,
    redis_url: str,
    agent_id: int,
    clients: int,
    changes: int,
    interval: float,
    settle_seconds: float,
    concurrency: int,
) -> dict[str, Any]:
    import redis.asyncio as aioredis

    from cti.notify import LIVE_CHANNEL

    headers = {"Cookie": f"sessionid={session_key}", "Origin": f"http://127.0.0.1:{port}"}
    arrivals: list[tuple[int, float, str]] = []
    published_at: list[float] = [0.0] * changes
    all_in = asyncio.Event()
    expected = clients * changes

    def on_event() -> None:
        if len(arrivals) >= expected:
            all_in.set()

    started = time.perf_counter()
    connections = await _open_clients(
        port, "/ws/desk/", headers, clients, concurrency, arrivals, on_event
    )
    connect_seconds = time.perf_counter() - started
    publisher = aioredis.Redis.from_url(redis_url, decode_responses=True)
    states = ("ready", "busy")
    try:
        # Open loop: changes go out on a fixed schedule whatever the fan-out is doing, so a
        # slow fan-out shows as queueing delay instead of slowing the publisher down.
        loop = asyncio.get_running_loop()
        first = loop.time()
        for sequence in range(changes):
            await asyncio.sleep(max(0.0, first + sequence * interval - loop.time()))
            state = states[sequence % 2]
            published_at[sequence] = time.time()
            event = {
                "type": "agent",
                "agent_id": agent_id,
                "old": states[(sequence + 1) % 2],
                "state": state,
                "reason": "bench" if state == "busy" else "",
                "call_uuid": None,
                "bench_sequence": sequence,
                "at": published_at[sequence],
            }
            await publisher.publish(LIVE_CHANNEL, json.dumps(event))
        try:
            await asyncio.wait_for(all_in.wait(), settle_seconds)
        except TimeoutError:
            pass
    finally:
        await publisher.aclose()
        for client in connections:
            client.close()
    # received_at[sequence][client] = arrival (wall clock, shared with the publisher).
    received_at: list[dict[int, float]] = [{} for _ in range(changes)]
    for index, arrived, raw in arrivals:
        sequence = (json.loads(raw).get("event") or {}).get("bench_sequence")
        if sequence is not None:
            received_at[sequence][index] = arrived
    return {
        "received_at": received_at,
        "published_at": published_at,
        "connect_seconds": connect_seconds,
    }


def measure_ws_fanout(
    redis_url: str,
    clients: int = 1000,
    changes: int = 200,
    quick: bool = False,
    interval: float = 0.1,
    warmup: int = 2,
    concurrency: int = CONNECT_CONCURRENCY,
    server_processes: int | None = None,
) -> dict[str, Any]:
    """Publish→receive latency of agent state changes at `clients` websocket clients.

    `changes` events go out every `interval` seconds (open loop); the first `warmup` of them
    are not counted. A change missing at a client `settle` seconds after the last publish is
    counted lost (`lost` = missing deliveries, out of `changes × clients`).
    """
    import websockets

    from config.web import default_workers

    server_processes = default_workers() if server_processes is None else server_processes
    load_before = os.getloadavg()
    agent_id, session_key, user_id = _signed_in_agent()
    server = _Server(redis_url, server_processes)
    settle_seconds = 3.0 if quick else 10.0
    try:
        server.wait_ready(30)
        outcome = asyncio.run(
            _run_clients(
                server.port,
                session_key,
                redis_url,
                agent_id,
                clients,
                changes,
                interval,
                settle_seconds,
                concurrency,
            )
        )
        per_process = server.connections_per_process()
    finally:
        server.stop()
        _remove(agent_id, session_key, user_id)
    warmup = min(warmup, max(changes - 1, 0))
    latencies = [
        (arrival - outcome["published_at"][sequence]) * 1000
        for sequence in range(warmup, changes)
        for arrival in outcome["received_at"][sequence].values()
    ]
    lost = sum(clients - len(arrivals) for arrivals in outcome["received_at"])
    if not latencies:
        raise RuntimeError("no client received any change")
    return {
        "ws_fanout_p99_ms": round(_percentile(latencies, 0.99), 2),
        "ws_fanout_p50_ms": round(_percentile(latencies, 0.50), 2),
        "ws_fanout_max_ms": round(max(latencies), 2),
        "clients": clients,
        "server_processes": server_processes,
        "clients_per_process": per_process,
        "changes": changes,
        "warmup_changes": warmup,
        "interval_s": interval,
        "deliveries": len(latencies),
        "lost": lost,
        "connect_seconds": round(outcome["connect_seconds"], 2),
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "quick": quick,
        "websockets_version": websockets.__version__,
    }
