"""greenswitch's ESL protocol with our frame parser reading the socket.

greenswitch (the project's ESL library) reads the socket line by line, builds a dict per
event with a regex-free but per-line Python loop, and URL-decodes whole blocks before
splitting them (so an encoded newline breaks a header). We keep its connection model (the
FIFO of pending command replies, the auth handshake of ``InboundESL.connect``) and replace
the parts on the hot path: the reader (``receive_events``), the event processor, and
``send`` (which used ``socket.send`` without a lock, so two greenlets could interleave
partial writes).
"""

from __future__ import annotations

import logging
from typing import Any

import gevent
import gevent.lock
from gevent.event import AsyncResult
from greenswitch.esl import NotConnectedError

from cti.esl.events import Event, EventParseError, parse_event
from cti.esl.frames import Frame, FrameParser, ParserStats
from cti.sockio import send_all

logger = logging.getLogger(__name__)

RECEIVE_SIZE = 65536


class EslError(Exception):
    """Base of the errors raised by the ESL edge."""


class ConnectionLost(EslError, NotConnectedError):
    """The socket closed (or was never open) before the command got its reply."""


class CommandTimeout(EslError):
    """FreeSWITCH did not answer a command in time."""


class CommandError(EslError):
    """FreeSWITCH answered a command with ``-ERR``."""

    def __init__(self, command: str, reply: str) -> None:
        super().__init__(f"{command}: {reply}")
        self.command = command
        self.reply = reply


class AuthenticationError(EslError):
    """The password was refused (or the peer rejected us before asking for one)."""


class FrameProtocolMixin:
    """Mixed into a greenswitch ``ESLProtocol`` subclass, before it in the bases.

    Subclasses implement :meth:`handle_event`, and may override
    :meth:`handle_disconnect_notice` and :meth:`connection_lost`.
    """

    # Provided by greenswitch's ESLProtocol / set by the subclass.
    sock: Any
    connected: bool
    _run: bool
    _commands_sent: list[AsyncResult]
    _auth_request_event: gevent.event.Event
    _receive_events_greenlet: gevent.Greenlet | None

    def _init_frames(self, stats: ParserStats | None, command_timeout: float) -> None:
        self.parser = FrameParser(stats=stats)
        self.command_timeout = command_timeout
        self.rejection: str | None = None
        self._send_lock = gevent.lock.Semaphore()

    @property
    def stats(self) -> ParserStats:
        return self.parser.stats

    # -- greenswitch hooks ------------------------------------------------------------

    def start_event_handlers(self) -> None:
        # greenswitch also spawns a processor polling an unbounded queue every second;
        # event delivery is the owner's business here (bounded queue, handler greenlets).
        self._receive_events_greenlet = gevent.spawn(self.receive_events)

    def receive_events(self) -> None:
        """The socket reader: bytes -> frames -> replies and typed events. Never blocks on
        handlers; it only resolves results and hands events over."""
        sock = self.sock
        feed = self.parser.feed
        handle_frame = self.handle_frame
        try:
            while self._run:
                data = sock.recv(RECEIVE_SIZE)
                if not data:
                    break
                for frame in feed(data):
                    try:
                        handle_frame(frame)
                    except Exception:
                        logger.exception("ESL frame handling failed for %r", frame)
        except OSError as error:
            if self._run:
                logger.info("ESL socket error: %s", error)
        finally:
            self.parser.close()
            self.connected = False
            self._run = False
            pending, self._commands_sent[:] = list(self._commands_sent), []
            for result in pending:
                result.set_exception(ConnectionLost("connection closed before the reply"))
            # Wakes greenswitch's connect() if the peer left before asking for auth.
            self._auth_request_event.set()
            try:
                self.connection_lost()
            except Exception:
                logger.exception("ESL connection_lost hook failed")

    def handle_frame(self, frame: Frame) -> None:
        content_type = frame.content_type
        if content_type.startswith("text/event-"):
            try:
                event = parse_event(frame)
            except EventParseError:
                return  # counted and logged by parse_event
            self.handle_event(event)
        elif content_type in ("command/reply", "api/response"):
            if self._commands_sent:
                self._commands_sent.pop(0).set(frame)
            else:
                logger.warning("ESL reply nobody waits for: %r", frame.reply_text)
        elif content_type == "auth/request":
            self._auth_request_event.set()
        elif content_type == "text/disconnect-notice":
            self.handle_disconnect_notice(frame)
        elif content_type == "text/rude-rejection":
            self.rejection = frame.body.decode("utf-8", "replace")
            self.connected = False
            logger.warning("FreeSWITCH rejected the connection: %s", self.rejection.strip())
            self._auth_request_event.set()
        elif content_type == "log/data":
            logger.debug("FreeSWITCH log: %s", frame.body[:200])
        else:
            logger.warning("ESL frame of unexpected type %r ignored", content_type)

    def handle_event(self, event: Event) -> None:
        raise NotImplementedError

    def handle_disconnect_notice(self, frame: Frame) -> None:
        logger.info("FreeSWITCH disconnect notice: %s", frame.body[:80])

    def connection_lost(self) -> None:
        """Called once, from the reader, when the socket is gone."""

    # -- commands -----------------------------------------------------------------------

    def send(self, data: str, timeout: float | None = None, body: str | None = None) -> Frame:
        """Send one command (``data`` without the final blank line) and wait for its reply.

        Replies come back in command order, so each waiting command owns one slot of
        greenswitch's FIFO; a timed-out slot stays queued and absorbs its late reply.
        """
        return self.send_many([data], timeout, [body])[0]

    def send_many(
        self,
        commands: list[str],
        timeout: float | None = None,
        bodies: list[str | None] | None = None,
    ) -> list[Frame]:
        """Send several commands (each with its body, if any) in one write and wait for
        their replies, in order.

        FreeSWITCH reads commands from the socket one after another, so pipelining saves
        the round trips (and the writes) between them; each still gets its own reply.
        """
        first_lines = " / ".join(command.split("\n", 1)[0] for command in commands)
        if not self.connected:
            raise ConnectionLost(f"not connected: {first_lines}")
        bodies = bodies or [None] * len(commands)
        message = "".join(
            command + "\n\n" + (body if body is not None else "")
            for command, body in zip(commands, bodies, strict=True)
        )
        results = [AsyncResult() for _ in commands]
        with self._send_lock:
            self._commands_sent.extend(results)
            try:
                send_all(self.sock, message.encode("utf-8"))
            except OSError as error:
                self.close()
                raise ConnectionLost(str(error)) from error
        wait = timeout if timeout is not None else self.command_timeout
        try:
            return [result.get(timeout=wait) for result in results]
        except gevent.Timeout:
            raise CommandTimeout(first_lines) from None

    def command(self, data: str, timeout: float | None = None, body: str | None = None) -> str:
        """Send a command answered by ``command/reply``; return Reply-Text, raise on -ERR."""
        reply = self.send(data, timeout, body)
        text = reply.reply_text
        if text.startswith("-ERR"):
            raise CommandError(data.splitlines()[0], text)
        return text

    def api(self, command: str, timeout: float | None = None) -> str:
        """``api <command>``: the command's raw output (FreeSWITCH's ``-ERR ...`` included)."""
        reply = self.send(f"api {command}", timeout)
        if reply.content_type != "api/response":
            raise CommandError(f"api {command}", reply.reply_text)
        return reply.body.decode("utf-8", "replace")

    def close(self) -> None:
        """Close the socket; the reader notices and calls :meth:`connection_lost`."""
        self._run = False
        self.connected = False
        sock = getattr(self, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(2)
            except OSError:
                pass
            sock.close()
