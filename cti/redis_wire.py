"""The daemon's Redis command path, without redis-py's per-command machinery.

redis-py 8 spends more Python on one command than the daemon spends deciding what to send:
a checkout from a locked pool with metrics, a retry wrapper and closures, deprecation and
HIMPORT checks, observability recorders on every step. Profiled under load, that was about
a quarter of the daemon's CPU. :class:`WireConnections` keeps the same connections (redis-py's
own connection class, so the handshake, AUTH, database, RESP3 and the hiredis reader are
redis-py's) and does only what a command needs on them:

- a connection is taken from a list of idle ones (at most ``size`` open, a greenlet waits
  up to ``wait_seconds`` for one), after a zero-timeout poll that drops one the server
  closed while it was idle (Redis restarted);
- the command, or a whole pipeline, is packed by hiredis and sent in one write; the replies
  are read with the connection's hiredis reader and go through the client's own response
  callbacks, so every command returns what redis-py would return;
- a failure to connect, or to send one command on an idle connection the server closed, is
  retried on a new connection, three times with a short pause; any other failure raises, as
  the server may have run the commands (a retried fact append would be stored twice).

Commands that need more (transactions, WATCH, pipelines with registered scripts, replies
that must not be decoded) take redis-py's path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import gevent
import gevent.lock
import gevent.monkey
import hiredis
import redis
from redis._parsers.hiredis import NOT_ENOUGH_DATA
from redis.client import EMPTY_RESPONSE, NEVER_DECODE, Pipeline
from redis.exceptions import ResponseError
from redis.utils import HIREDIS_AVAILABLE

from cti.sockio import send_all

logger = logging.getLogger(__name__)

# The operating system's poll, even when gevent has patched the select module: a readiness
# check with a zero timeout never blocks, and gevent's emulation of it (watchers, a Timeout)
# costs as much as a whole command.
_os_poll = gevent.monkey.get_original("select", "poll")
_POLLIN = 0x001


def readable_now(fileno: int) -> bool:
    """Whether the socket has something to read (or was closed), without waiting."""
    poller = _os_poll()
    poller.register(fileno, _POLLIN)
    return bool(poller.poll(0))


CONNECT_ATTEMPTS = 3
_PUSH_TYPE = getattr(hiredis, "PushNotification", None)
CONNECT_PAUSE_SECONDS = 0.1

Command = tuple[tuple[Any, ...], dict[str, Any]]


def available(client: redis.Redis) -> bool:
    """Whether ``client``'s connections can take the wire path: plain TCP or unix socket
    connections (not TLS, not a cluster), with redis-py's hiredis parser (hiredis is in
    requirements.txt)."""
    kind = client.connection_pool.connection_class
    plain = kind in (redis.connection.UnixDomainSocketConnection,) or (
        issubclass(kind, redis.connection.Connection)
        and not issubclass(kind, redis.connection.SSLConnection)
    )
    return plain and bool(HIREDIS_AVAILABLE)


def _pack(args: tuple[Any, ...]) -> bytes:
    name = args[0]
    if isinstance(name, str) and " " in name:  # "SCRIPT LOAD", "CLIENT SETNAME"...
        args = tuple(name.split()) + tuple(args[1:])
    return hiredis.pack_command(args)


class WireConnections:
    """Idle connections of one client and the commands sent on them."""

    def __init__(self, client: redis.Redis, size: int, wait_seconds: float) -> None:
        self._client = client
        pool = client.connection_pool
        self._make: Callable[[], Any] = lambda: pool.connection_class(**pool.connection_kwargs)
        self._idle: list[Any] = []
        self._slots = gevent.lock.BoundedSemaphore(size)
        self._wait_seconds = wait_seconds
        self.size = size

    # -- connections ----------------------------------------------------------------------
    def _take_slot(self) -> None:
        if not self._slots.acquire(timeout=self._wait_seconds):
            raise redis.ConnectionError(
                f"no Redis connection free after {self._wait_seconds:g} s ({self.size} open)"
            )

    def _checkout(self) -> Any:
        """A live connection; its slot is taken (:meth:`_take_slot`) and given back by
        :meth:`_checkin`, or here when connecting fails."""
        try:
            while self._idle:
                connection = self._idle.pop()
                if not self._closed_while_idle(connection):
                    return connection
                connection.disconnect()
            connection = self._make()
            connection.connect()
            return connection
        except BaseException:
            self._slots.release()
            raise

    @staticmethod
    def _closed_while_idle(connection: Any) -> bool:
        """Something to read on an idle connection means the server closed it (or sent what
        nobody asked for): either way it is not used again."""
        sock = connection._sock
        parser = connection._parser
        if sock is None or getattr(parser, "_reader", None) is None:
            return True
        return parser._reader.has_data() or readable_now(sock.fileno())

    def _checkin(self, connection: Any, healthy: bool) -> None:
        if healthy:
            self._idle.append(connection)
        else:
            connection.disconnect()
        self._slots.release()

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.disconnect()

    # -- commands -------------------------------------------------------------------------
    def _roundtrip(self, packed: bytes, count: int) -> list[Any]:
        """Send ``packed`` (``count`` commands) and return their raw replies (errors as
        exception objects, in place)."""
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            self._take_slot()  # waiting for a free connection is not retried
            try:
                connection = self._checkout()
            except (redis.ConnectionError, OSError) as error:
                if attempt == CONNECT_ATTEMPTS:
                    raise redis.ConnectionError(str(error)) from error
                gevent.sleep(CONNECT_PAUSE_SECONDS * attempt)
                continue
            healthy = False
            try:
                try:
                    send_all(connection._sock, packed)
                except OSError as error:
                    # The connection died while idle. One command, cut off, never ran:
                    # retry it on a new connection. Of a pipeline, the whole commands
                    # that got through may have run: raise.
                    if attempt == CONNECT_ATTEMPTS or count > 1:
                        raise redis.ConnectionError(f"sending to Redis: {error}") from error
                    continue
                replies = self._read(connection, count)
                healthy = True
                return replies
            finally:
                self._checkin(connection, healthy)
        raise AssertionError("unreachable")

    @staticmethod
    def _read(connection: Any, count: int) -> list[Any]:
        parser = connection._parser
        reader = parser._reader
        sock = connection._sock
        buffer = parser._buffer
        replies: list[Any] = []
        push_type = _PUSH_TYPE
        while len(replies) < count:
            reply = reader.gets()
            if reply is NOT_ENOUGH_DATA:
                try:
                    size = sock.recv_into(buffer)
                except OSError as error:
                    raise redis.ConnectionError(f"reading from Redis: {error}") from error
                if not size:
                    raise redis.ConnectionError("Redis closed the connection")
                reader.feed(buffer, 0, size)
                continue
            if push_type is not None and isinstance(reply, push_type):
                continue  # a RESP3 push nobody subscribed to on this connection
            if isinstance(reply, redis.ConnectionError):
                raise reply
            replies.append(reply)
        return replies

    def _parse(self, command: Command, reply: Any) -> Any:
        if isinstance(reply, ResponseError):
            return reply
        args, options = command
        callback = self._client.response_callbacks.get(args[0])
        if callback is None:
            return reply
        if options:
            options = {k: v for k, v in options.items() if k not in ("keys", EMPTY_RESPONSE)}
        return callback(reply, **options)

    def execute(self, args: tuple[Any, ...], options: dict[str, Any]) -> Any:
        """One command; its parsed reply, or its error raised."""
        reply = self._roundtrip(_pack(args), 1)[0]
        if isinstance(reply, ResponseError):
            if EMPTY_RESPONSE in options:
                return options[EMPTY_RESPONSE]
            raise reply
        return self._parse((args, options), reply)

    def execute_stack(self, commands: Sequence[Command], raise_on_error: bool) -> list[Any]:
        """A non-transactional pipeline in one round trip, with redis-py's result shape:
        parsed replies, errors in place, the first one raised (annotated) if asked."""
        packed = b"".join([_pack(args) for args, _options in commands])
        replies = self._roundtrip(packed, len(commands))
        results = [self._parse(command, reply) for command, reply in zip(commands, replies)]
        if raise_on_error:
            for number, result in enumerate(results, 1):
                if isinstance(result, ResponseError):
                    # The message redis-py's pipelines give, so logs read the same.
                    command = " ".join(map(str, commands[number - 1][0]))[:100]
                    result.args = (
                        f"Command # {number} ({command}) of pipeline caused error: "
                        f"{result.args[0]}",
                        *result.args[1:],
                    )
                    raise result
        return results


def needs_redis_py(options: dict[str, Any]) -> bool:
    """Replies that must stay bytes take redis-py's path."""
    return NEVER_DECODE in options


class WirePipeline(Pipeline):
    """A non-transactional pipeline whose commands are queued as they are and sent through
    :class:`WireConnections`; with registered scripts or WATCH it is redis-py's."""

    wire: WireConnections | None = None

    def execute_command(self, *args: Any, **options: Any) -> Any:
        # Pipeline sets ``transaction`` (a method on Redis) to a bool.
        if self.watching or args[0] == "WATCH" or self.transaction:  # type: ignore[truthy-function]
            return super().execute_command(*args, **options)
        self.command_stack.append((args, options))
        return self

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack = self.command_stack
        wire = self.wire
        if (
            wire is None
            or self.transaction  # type: ignore[truthy-function]
            or self.scripts
            or self.watching
            or any(needs_redis_py(options) for _args, options in stack)
        ):
            return super().execute(raise_on_error)
        if not stack:
            return []
        try:
            return wire.execute_stack(stack, raise_on_error)
        finally:
            self.reset()
