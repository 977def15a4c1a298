"""The daemon's inbound Event Socket connection to FreeSWITCH (port 8021).

:class:`InboundClient` authenticates, subscribes (``event plain <list>`` plus filters),
runs ``api``/``bgapi``, and keeps the connection alive: it reconnects with exponential
backoff and jitter, treats a switch that sends no HEARTBEAT for ``heartbeat_timeout``
seconds as dead, and subscribes again after every reconnect.

The socket reader never waits on handlers: it puts typed events on a bounded queue that
handler greenlets drain. When the queue is full the event is shed and counted; FreeSWITCH
disconnects a listener whose own queue falls 500 events behind, so a slow handler must
cost events, not the connection.
"""

from __future__ import annotations

import logging
import random
import time
import urllib.parse
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import gevent
import gevent.event
import gevent.queue
from gevent.event import AsyncResult
from greenswitch.esl import InboundESL, NotConnectedError

from cti.esl.events import BackgroundJob, Event
from cti.esl.frames import Frame, ParserStats
from cti.esl.protocol import (
    AuthenticationError,
    CommandError,
    ConnectionLost,
    EslError,
    FrameProtocolMixin,
)

logger = logging.getLogger(__name__)

EventHandler = Callable[[Event], None]


@dataclass
class InboundStats:
    """What the client did, beside the parser counters (``parser``, reset per connection)."""

    connects: int = 0
    failed_connects: int = 0
    reconnects: int = 0
    heartbeat_timeouts: int = 0
    events_queued: int = 0
    events_shed: int = 0
    events_handled: int = 0
    handler_errors: int = 0


class _InboundProtocol(FrameProtocolMixin, InboundESL):
    """One TCP connection; a new one is made for every (re)connect."""

    def __init__(
        self,
        owner: InboundClient,
        host: str,
        port: int,
        password: str,
        timeout: float,
        command_timeout: float,
    ) -> None:
        InboundESL.__init__(self, host, port, password, timeout=timeout)
        self._init_frames(ParserStats(), command_timeout)
        self._owner = owner
        self.lost = gevent.event.Event()

    def handle_event(self, event: Event) -> None:
        self._owner._event_received(event)

    def handle_disconnect_notice(self, frame: Frame) -> None:
        logger.info("FreeSWITCH is closing the inbound connection: %r", frame.body[:60])

    def connection_lost(self) -> None:
        self.lost.set()


class InboundClient:
    """Inbound ESL client with supervision. Dependencies come in through the constructor.

    ``on(name, handler)`` registers a handler for an event name (``"*"`` for all; for
    CUSTOM events pass ``subclass=``). Call :meth:`start` to connect in the background and
    stay connected, or :meth:`connect` for one attempt that raises on failure.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8021,
        password: str = "ClueCon",
        *,
        events: Sequence[str] = ("ALL",),
        event_format: str = "plain",
        filters: Iterable[tuple[str, str]] = (),
        queue_size: int = 10000,
        handler_greenlets: int = 1,
        heartbeat_timeout: float | None = 60.0,
        connect_timeout: float = 5.0,
        command_timeout: float = 10.0,
        reconnect_initial: float = 0.5,
        reconnect_max: float = 30.0,
        job_ttl: float = 600.0,
        rng: random.Random | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.password = password
        self.events = list(events)
        self.event_format = event_format
        self.filters: list[tuple[str, str]] = list(filters)
        self.heartbeat_timeout = heartbeat_timeout
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.job_ttl = job_ttl
        self.stats = InboundStats()
        self._rng = rng or random.Random()
        self._queue: gevent.queue.Queue = gevent.queue.Queue(maxsize=queue_size)
        self._handler_count = handler_greenlets
        self._handlers: dict[tuple[str, str], list[EventHandler]] = defaultdict(list)
        self._connect_callbacks: list[Callable[[InboundClient], None]] = []
        self._jobs: dict[str, tuple[AsyncResult, float, Callable[[BackgroundJob], None] | None]]
        self._jobs = {}
        self._protocol: _InboundProtocol | None = None
        self._connected = gevent.event.Event()
        self._stopping = gevent.event.Event()
        self._workers: list[gevent.Greenlet] = []
        self._supervisor: gevent.Greenlet | None = None
        self._last_heartbeat = time.monotonic()
        self.last_error: BaseException | None = None

    @classmethod
    def from_url(cls, url: str, **options) -> InboundClient:
        """``esl://:password@host:port`` (the form of FREESWITCH_ESL_URL)."""
        parts = urllib.parse.urlsplit(url)
        return cls(
            parts.hostname or "127.0.0.1",
            parts.port or 8021,
            urllib.parse.unquote(parts.password or "ClueCon"),
            **options,
        )

    # -- registration -------------------------------------------------------------------

    def on(self, name: str, handler: EventHandler, subclass: str = "") -> None:
        """Call ``handler(event)`` (in a handler greenlet) for events named ``name``."""
        self._handlers[(name, subclass)].append(handler)

    def on_connect(self, callback: Callable[[InboundClient], None]) -> None:
        """Run ``callback(client)`` after every successful (re)connect and subscription,
        e.g. to rebuild call state that events missed while disconnected."""
        self._connect_callbacks.append(callback)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._protocol is not None and self._protocol.connected

    @property
    def parser_stats(self) -> ParserStats | None:
        return self._protocol.stats if self._protocol is not None else None

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def connect(self) -> None:
        """One attempt: open, authenticate, subscribe. Raises on failure."""
        self._start_workers()
        self._open()

    def start(self) -> None:
        """Connect in the background and stay connected until :meth:`stop`."""
        self._stopping.clear()
        self._start_workers()
        if self._supervisor is None or self._supervisor.dead:
            self._supervisor = gevent.spawn(self._supervise)

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.kill()
            self._supervisor = None
        protocol = self._protocol
        if protocol is not None and protocol.connected:
            try:
                protocol.send("exit", timeout=1.0)
            except (EslError, OSError):
                pass
        if protocol is not None:
            protocol.close()
        self._connected.clear()
        gevent.killall(self._workers)
        self._workers = []

    def _start_workers(self) -> None:
        self._workers = [worker for worker in self._workers if not worker.dead]
        while len(self._workers) < self._handler_count:
            self._workers.append(gevent.spawn(self._work))

    def _open(self) -> None:
        protocol = _InboundProtocol(
            self, self.host, self.port, self.password, self.connect_timeout, self.command_timeout
        )
        try:
            with gevent.Timeout(self.connect_timeout, ConnectionLost("connect timed out")):
                try:
                    protocol.connect()
                except ValueError:
                    raise AuthenticationError("FreeSWITCH refused the ESL password") from None
                except NotConnectedError as error:
                    if protocol.rejection:
                        raise AuthenticationError(protocol.rejection.strip()) from None
                    raise ConnectionLost(str(error) or "closed before auth") from None
            self._protocol = protocol
            self._last_heartbeat = time.monotonic()
            protocol.command(f"event {self.event_format} {' '.join(self._subscription())}")
            for header, value in self.filters:
                protocol.command(f"filter {header} {value}")
        except BaseException:
            protocol.close()
            raise
        self.stats.connects += 1
        self._connected.set()
        logger.info("ESL connected to %s:%d", self.host, self.port)
        for callback in self._connect_callbacks:
            gevent.spawn(self._run_callback, callback)

    def _subscription(self) -> list[str]:
        names = list(self.events)
        if "ALL" not in names:
            # bgapi results and liveness depend on these two.
            for needed in ("BACKGROUND_JOB", "HEARTBEAT"):
                if needed not in names:
                    names.insert(0, needed)
        return names

    def _run_callback(self, callback: Callable[[InboundClient], None]) -> None:
        try:
            callback(self)
        except Exception:
            logger.exception("ESL on_connect callback failed")

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        ceiling = min(self.reconnect_max, self.reconnect_initial * (2**attempt))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _supervise(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                self._open()
            except (EslError, OSError, NotConnectedError) as error:
                self.last_error = error
                self.stats.failed_connects += 1
                delay = self.backoff_delay(attempt)
                attempt += 1
                logger.warning(
                    "ESL connect to %s:%d failed (%s); retry in %.2fs",
                    self.host,
                    self.port,
                    error,
                    delay,
                )
                self._stopping.wait(delay)
                continue
            attempt = 0
            self._watch(self._protocol)
            self._connected.clear()
            if not self._stopping.is_set():
                self.stats.reconnects += 1
                logger.warning("ESL connection to %s:%d lost; reconnecting", self.host, self.port)

    def _watch(self, protocol: _InboundProtocol | None) -> None:
        """Return when the connection is gone, closing it first if HEARTBEATs stopped."""
        if protocol is None:
            return
        timeout = self.heartbeat_timeout
        interval = None if timeout is None else min(1.0, timeout / 4)
        while not protocol.lost.wait(interval):
            if self._stopping.is_set():
                return
            if timeout is not None and time.monotonic() - self._last_heartbeat > timeout:
                self.stats.heartbeat_timeouts += 1
                logger.warning(
                    "no HEARTBEAT from %s:%d for %.1fs; reconnecting", self.host, self.port, timeout
                )
                protocol.close()
                protocol.lost.wait(self.connect_timeout)
                return

    # -- events -------------------------------------------------------------------------

    def _event_received(self, event: Event) -> None:
        """Runs in the socket reader: bookkeeping and a non-blocking hand-over only."""
        if type(event) is BackgroundJob:
            self._job_done(event)  # type: ignore[arg-type]
        elif event.name == "HEARTBEAT":
            self._last_heartbeat = time.monotonic()
        try:
            self._queue.put_nowait(event)
        except gevent.queue.Full:
            self.stats.events_shed += 1
            if self.stats.events_shed in (1, 10, 100) or self.stats.events_shed % 1000 == 0:
                logger.warning(
                    "ESL handler queue full: %d events shed so far", self.stats.events_shed
                )
            return
        self.stats.events_queued += 1

    def _work(self) -> None:
        while True:
            event = self._queue.get()
            self._dispatch(event)

    def _dispatch(self, event: Event) -> None:
        handlers = self._handlers
        selected = handlers.get((event.name, event.subclass), [])
        if event.subclass:
            selected = selected + handlers.get((event.name, ""), [])
        selected = selected + handlers.get(("*", ""), [])
        for handler in selected:
            try:
                handler(event)
            except Exception:
                self.stats.handler_errors += 1
                logger.exception("ESL handler %r failed on %r", handler, event)
        self.stats.events_handled += 1

    # -- commands -----------------------------------------------------------------------

    def _require(self) -> _InboundProtocol:
        protocol = self._protocol
        if protocol is None or not protocol.connected:
            raise ConnectionLost("not connected to FreeSWITCH")
        return protocol

    def api(self, command: str, timeout: float | None = None) -> str:
        """Run ``api <command>`` and return its output. Blocks event delivery on this
        connection while FreeSWITCH runs it (use :meth:`bgapi` for slow commands)."""
        return self._require().api(command, timeout)

    def command(self, command: str, timeout: float | None = None) -> str:
        """Any ESL command answered by command/reply; returns Reply-Text, raises on -ERR."""
        return self._require().command(command, timeout)

    def bgapi(
        self,
        command: str,
        callback: Callable[[BackgroundJob], None] | None = None,
        job_uuid: str | None = None,
    ) -> str:
        """Start ``bgapi <command>``; return its job uuid at once.

        The BACKGROUND_JOB event resolves :meth:`job_result` ``(job_uuid)`` and, when
        given, calls ``callback(event)`` in its own greenlet. The uuid is chosen here and
        sent as ``Job-UUID`` so that the result cannot arrive before it is expected.
        """
        self._forget_old_jobs()
        job_uuid = job_uuid or str(uuid.uuid4())
        self._jobs[job_uuid] = (AsyncResult(), time.monotonic(), callback)
        try:
            self._require().command(f"bgapi {command}\nJob-UUID: {job_uuid}")
        except BaseException:
            self._jobs.pop(job_uuid, None)
            raise
        return job_uuid

    def job_result(self, job_uuid: str) -> AsyncResult:
        """The AsyncResult a :meth:`bgapi` job resolves with its BackgroundJob event."""
        return self._jobs[job_uuid][0]

    def _job_done(self, event: BackgroundJob) -> None:
        entry = self._jobs.get(event.job_uuid or "")
        if entry is None:
            return
        result, _started, callback = entry
        result.set(event)
        if callback is not None:
            gevent.spawn(self._run_job_callback, callback, event)

    @staticmethod
    def _run_job_callback(callback: Callable[[BackgroundJob], None], event: BackgroundJob) -> None:
        try:
            callback(event)
        except Exception:
            logger.exception("bgapi callback failed for job %s", event.job_uuid)

    def _forget_old_jobs(self) -> None:
        limit = time.monotonic() - self.job_ttl
        for job_uuid in [key for key, (_, started, _) in self._jobs.items() if started < limit]:
            result = self._jobs.pop(job_uuid)[0]
            if not result.ready():
                result.set_exception(CommandError(job_uuid, "no BACKGROUND_JOB within job_ttl"))

    def add_filter(self, header: str, value: str) -> None:
        """``filter <header> <value>``, remembered and sent again after every reconnect."""
        self.filters.append((header, value))
        if self.connected:
            self._require().command(f"filter {header} {value}")

    def delete_filter(self, header: str, value: str) -> None:
        if (header, value) in self.filters:
            self.filters.remove((header, value))
        if self.connected:
            self._require().command(f"filter delete {header} {value}")
