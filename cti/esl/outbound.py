"""Outbound Event Socket server: FreeSWITCH's ``socket`` dialplan app connects here.

Each TCP connection is one call. :class:`OutboundServer` (a gevent StreamServer) wraps it
in an :class:`OutboundSession`, sends ``connect`` (nothing happens before it), then runs
``handler_factory(session).run()`` in the connection's greenlet. The session executes
dialplan applications with ``sendmsg`` and waits for the CHANNEL_EXECUTE_COMPLETE that
carries its own ``Event-UUID`` back as ``Application-UUID``; when the caller hangs up, a
pending or later :meth:`OutboundSession.execute` raises :class:`ChannelHangup`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Protocol

import gevent
import gevent.event
import gevent.queue
from gevent.event import AsyncResult
from gevent.server import StreamServer
from greenswitch.esl import ESLProtocol

from cti.esl.events import (
    ChannelBridge,
    ChannelData,
    ChannelExecuteComplete,
    ChannelHangupComplete,
    Event,
    parse_event,
)
from cti.esl.events import ChannelHangup as ChannelHangupEvent
from cti.esl.frames import Frame, ParserStats
from cti.esl.protocol import (
    CommandError,
    CommandTimeout,
    ConnectionLost,
    EslError,
    FrameProtocolMixin,
)

logger = logging.getLogger(__name__)

# Connections the kernel queues for the outbound server while the daemon is busy.
LISTEN_BACKLOG = 2048

_END_OF_STREAM = object()

# FreeSWITCH's fixed ``myevents`` list (mod_event_socket): the controlled channel's events.
MYEVENTS = frozenset(
    """CHANNEL_ANSWER CHANNEL_APPLICATION CHANNEL_BRIDGE CHANNEL_CREATE CHANNEL_DATA
    CHANNEL_DESTROY CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP
    CHANNEL_HANGUP_COMPLETE CHANNEL_ORIGINATE CHANNEL_UUID CHANNEL_OUTGOING CHANNEL_PARK
    CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_STATE CHANNEL_UNBRIDGE CHANNEL_UNPARK
    DETECTED_SPEECH DTMF NOTALK TALK""".split()
)
# What the session itself needs of them: completions of its applications and the hangup.
SESSION_EVENTS = frozenset(
    ("CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE")
)


class ChannelHangup(EslError):
    """The caller's channel hung up (or FreeSWITCH ended the socket) while we used it."""

    def __init__(self, cause: str | None, channel_uuid: str | None = None) -> None:
        super().__init__(f"channel {channel_uuid or '?'} hung up ({cause or 'unknown cause'})")
        self.cause = cause
        self.channel_uuid = channel_uuid


class SessionHandler(Protocol):
    """What ``handler_factory(session)`` returns: ``run()`` drives the call."""

    def run(self) -> None: ...


class OutboundSession(FrameProtocolMixin, ESLProtocol):
    """One call controlled over an outbound socket."""

    def __init__(
        self,
        sock,
        address: tuple[str, int] | None = None,
        *,
        queue_size: int = 1000,
        command_timeout: float = 10.0,
    ) -> None:
        ESLProtocol.__init__(self)
        self._init_frames(ParserStats(), command_timeout)
        self.sock = sock
        self.address = address
        self.connected = True
        self.channel_data: ChannelData | None = None
        self.hangup_cause: str | None = None
        self.lingering = False
        self.disconnect_notices: list[Frame] = []
        self.events_shed = 0
        # The event classes iter_events hands out (None: every event). The session's own
        # bookkeeping (execute completions, hangups) sees every event either way; a consumer
        # that wants only a few kinds saves a queue hand-over and a switch per other event.
        self.delivered_events: tuple[type[Event], ...] | None = None
        self.subscribed = False
        self.finished = gevent.event.Event()
        # The channel's CHANNEL_HANGUP_COMPLETE: its media (recordings) is closed by then.
        self.hangup_complete: ChannelHangupComplete | None = None
        # The legs this channel was bridged to, in the order the switch said so (the reader
        # notes them at once; a consumer's own greenlet may see the events later).
        self.bridged_legs: list[str] = []
        # Kept open when its handler ends (a call handed to another daemon) until
        # ``released`` is set, once the switch has moved the call on.
        self.keep_open = False
        self.released = gevent.event.Event()
        self._hangup_completed = gevent.event.Event()
        self._events: gevent.queue.Queue = gevent.queue.Queue(maxsize=queue_size)
        self._pending: dict[str, AsyncResult] = {}
        self.start_event_handlers()

    @property
    def uuid(self) -> str | None:
        return self.channel_data.unique_id if self.channel_data is not None else None

    @property
    def hung_up(self) -> bool:
        return self.hangup_cause is not None or self.lingering

    # -- reader side --------------------------------------------------------------------

    def handle_event(self, event: Event) -> None:
        own = self.uuid is None or event.unique_id in (None, self.uuid)
        if own and isinstance(event, ChannelExecuteComplete):
            pending = self._pending.pop(event.application_uuid or "", None)
            if pending is not None:
                pending.set(event)
        elif own and type(event) is ChannelBridge:
            other = event.other_leg_uuid or event.bridge_b_uuid
            if other:
                self.bridged_legs.append(other)
        elif own and isinstance(event, (ChannelHangupEvent, ChannelHangupComplete)):
            self.hangup_cause = event.hangup_cause or "NORMAL_CLEARING"
            self._fail_pending()
            if isinstance(event, ChannelHangupComplete):
                self.hangup_complete = event
                self._hangup_completed.set()
        delivered = self.delivered_events
        if delivered is not None and not isinstance(event, delivered):
            return
        try:
            self._events.put_nowait(event)
        except gevent.queue.Full:
            self.events_shed += 1

    def handle_disconnect_notice(self, frame: Frame) -> None:
        self.disconnect_notices.append(frame)
        if frame.headers.get("Content-Disposition") == "linger":
            # The channel is down; FreeSWITCH keeps the socket for the events still queued.
            self.lingering = True
        if self.hangup_cause is None:
            self.hangup_cause = "NORMAL_CLEARING"
        self._fail_pending()

    def connection_lost(self) -> None:
        self._hangup_completed.set()  # nothing more will come
        self._fail_pending()
        try:
            self._events.put_nowait(_END_OF_STREAM)
        except gevent.queue.Full:
            self._events.get_nowait()
            self.events_shed += 1
            self._events.put_nowait(_END_OF_STREAM)
        self.finished.set()

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for result in pending.values():
            result.set_exception(ChannelHangup(self.hangup_cause, self.uuid))

    # -- commands -----------------------------------------------------------------------

    def connect(self) -> ChannelData:
        """``connect``: FreeSWITCH answers with the whole channel; returned as an event."""
        if self.channel_data is None:
            reply = self.send("connect")
            event = parse_event(reply)
            if not isinstance(event, ChannelData):
                raise CommandError("connect", f"unexpected reply {event.name}")
            self.channel_data = event
        return self.channel_data

    def myevents(self) -> str:
        """Subscribe to this channel's events (FreeSWITCH's fixed ``myevents`` list)."""
        reply = self.command("myevents")
        self.subscribed = True
        return reply

    def subscribe(
        self, wanted: frozenset[str] | set[str] = frozenset(), linger: bool = True
    ) -> None:
        """``myevents``, then ``nixevent`` for the kinds neither the session nor the caller
        (``wanted``) uses, then ``linger``: one write, three replies.

        Every event of a channel carries all its variables (about 5 kB on a SIP call), and
        ``myevents`` alone sends 23 kinds; a call that only needs its completions, bridges
        and DTMF receives a third of the bytes this way.
        """
        unknown = set(wanted) - MYEVENTS
        if unknown:
            raise ValueError(f"not myevents kinds: {sorted(unknown)}")
        nixed = sorted(MYEVENTS - SESSION_EVENTS - set(wanted))
        commands = ["myevents"] + ([f"nixevent {' '.join(nixed)}"] if nixed else [])
        commands += ["linger"] if linger else []
        replies = self.send_many(commands)
        for command, reply in zip(commands, replies, strict=True):
            if reply.reply_text.startswith("-ERR"):
                raise CommandError(command, reply.reply_text)
        self.subscribed = True

    def linger(self, seconds: int | None = None) -> str:
        """Keep the socket after hangup (until ``exit``, or ``seconds``)."""
        return self.command("linger" if seconds is None else f"linger {int(seconds)}")

    def nolinger(self) -> str:
        return self.command("nolinger")

    def execute(
        self,
        app: str,
        arg: str = "",
        event_lock: bool = True,
        event_uuid: str | None = None,
        timeout: float | None = None,
    ) -> ChannelExecuteComplete:
        """Run dialplan application ``app`` and wait until FreeSWITCH reports it complete.

        Raises :class:`ChannelHangup` if the channel is (or goes) down first, and
        :class:`CommandTimeout` after ``timeout`` seconds (default: wait as long as the
        app runs). Subscribes with ``myevents`` first if nothing was subscribed.
        """
        return self._run_apps([(app, arg, event_lock, event_uuid)], timeout)[0]

    def execute_many(
        self,
        apps: list[tuple[str, str]],
        timeout: float | None = None,
        api_first: tuple[str, ...] = (),
        event_lock: bool = True,
    ) -> list[ChannelExecuteComplete]:
        """Run several applications in order, sent in one write, and wait until the last
        completes (FreeSWITCH queues a channel's messages and runs them one after another,
        so nothing is gained by waiting between them). Raises as :meth:`execute`.

        ``api_first`` are api commands (``uuid_setvar ...``) sent in the same write ahead
        of the applications: the socket runs an api command as it reads it, before it
        queues the messages behind it, and an api command brings no event. A failed one is
        logged; the applications run all the same.

        ``event_lock=False`` (for one application alone): while it runs, the channel runs
        the messages queued for it nested, as its loop parses them (a ``uuid_broadcast``
        during a ``bridge``); with the lock (CF_EVENT_LOCK) they wait until it ends.
        """
        return self._run_apps(
            [(app, arg, event_lock, None) for app, arg in apps],
            timeout,
            [f"api {c}" for c in api_first],
        )

    def _run_apps(
        self,
        apps: list[tuple[str, str, bool, str | None]],
        timeout: float | None,
        api_first: list[str] | None = None,
    ) -> list[ChannelExecuteComplete]:
        self._raise_if_hung_up()
        if not self.subscribed:
            self.myevents()
        uuids = [event_uuid or str(uuid.uuid4()) for _app, _arg, _lock, event_uuid in apps]
        messages = [(command, None) for command in api_first or ()]
        messages += [
            _sendmsg_execute(app, arg, lock, event_uuid)
            for (app, arg, lock, _), event_uuid in zip(apps, uuids, strict=True)
        ]
        results = [AsyncResult() for _ in apps]
        self._pending.update(zip(uuids, results, strict=True))
        try:
            replies = self.send_many([m for m, _ in messages], bodies=[b for _, b in messages])
            for (message, _body), reply in zip(messages, replies, strict=True):
                if reply.content_type == "api/response":
                    answer = reply.body.decode("utf-8", "replace")
                    if answer.startswith("-ERR"):
                        logger.warning("%s: %s", message, answer.strip())
                elif reply.reply_text.startswith("-ERR"):
                    raise CommandError(message.splitlines()[0], reply.reply_text)
            return [result.get(timeout=timeout) for result in results]
        except gevent.Timeout:
            raise CommandTimeout(f"{apps[-1][0]} did not complete in {timeout}s") from None
        except ConnectionLost:
            if self.hangup_cause is not None:
                raise ChannelHangup(self.hangup_cause, self.uuid) from None
            raise
        finally:
            for event_uuid in uuids:
                self._pending.pop(event_uuid, None)

    def api(self, command: str, timeout: float | None = None) -> str:
        return super().api(command, timeout)

    def transfer_away(self, destination: str, variables: dict[str, str]) -> bool:
        """Set ``variables`` on the channel, send it through the dialplan again to
        ``destination``, and let go of it: one write of ``api uuid_setvar``...,
        ``api uuid_transfer`` and ``exit``. Returns whether the switch took the transfer.

        Why so (each checked on FreeSWITCH 1.10.12):

        - ``uuid_transfer`` sets CF_TRANSFER, which ends whatever application the channel
          runs now (``switch_channel_ready`` turns false), an event-locked one included. A
          queued ``transfer`` message would wait for that application: a caller in an IVR
          menu (event-locked ``play_and_get_digits``) would stay in it for its whole timeout.
        - The socket reads api commands and runs them as it reads them, so ``exit`` follows
          within microseconds: when this connection ends, mod_event_socket clears the
          channel's CF_CONTROLLED flag, which ends the park of whichever ``socket``
          application holds the call then. The transferred call reaches another daemon's
          ``socket`` only after routing, a TCP connect and its ``connect``, long after.
        """
        uuid_ = self.uuid
        if not uuid_:
            return False
        commands = [f"api uuid_setvar {uuid_} {name} {value}" for name, value in variables.items()]
        commands += [f"api uuid_transfer {uuid_} {destination}", "exit"]
        try:
            replies = self.send_many(commands)
        except (EslError, OSError) as error:
            logger.warning("call %s: transfer to %s failed: %s", uuid_, destination, error)
            return False
        refused = [
            reply.body.decode("utf-8", "replace").strip()
            for reply in replies[:-1]
            if not reply.body.startswith(b"+OK")
        ]
        if refused:
            logger.warning("call %s: transfer to %s refused: %s", uuid_, destination, refused)
            return False
        return True

    def hangup(self, cause: str = "NORMAL_CLEARING") -> str:
        """Hang the channel up (``sendmsg`` call-command hangup)."""
        return self.command(f"sendmsg\ncall-command: hangup\nhangup-cause: {cause}")

    def set_variable(self, name: str, value: str) -> ChannelExecuteComplete:
        return self.execute("set", f"{name}={value}")

    def iter_events(self, timeout: float | None = None) -> Iterator[Event]:
        """This session's events in order; ends when the socket closes (or after
        ``timeout`` seconds without an event)."""
        while True:
            try:
                item = self._events.get(timeout=timeout)
            except gevent.queue.Empty:
                return
            if item is _END_OF_STREAM:
                self._events.put_nowait(_END_OF_STREAM)  # later iterators end too
                return
            yield item

    def next_event(self, timeout: float | None = None) -> Event | None:
        for event in self.iter_events(timeout):
            return event
        return None

    def exit(self, timeout: float = 5.0) -> None:
        """``exit``: FreeSWITCH answers ``+OK bye``, sends its goodbye notice and closes."""
        if self.connected:
            try:
                self.send("exit", timeout=timeout)
            except (EslError, OSError):
                pass
            self.finished.wait(timeout)
        self.close()

    def wait_hangup_complete(self, timeout: float) -> ChannelHangupComplete | None:
        """After a hangup: wait (lingering) for the channel's CHANNEL_HANGUP_COMPLETE, which
        FreeSWITCH sends once the channel's media bugs, recordings included, are closed."""
        self._hangup_completed.wait(timeout)
        return self.hangup_complete

    def _raise_if_hung_up(self) -> None:
        if self.hung_up:
            raise ChannelHangup(self.hangup_cause, self.uuid)
        if not self.connected:
            raise ConnectionLost("outbound socket closed")


def _sendmsg_execute(
    app: str, arg: str, event_lock: bool, event_uuid: str
) -> tuple[str, str | None]:
    """The ``sendmsg`` that executes ``app`` (without its final blank line) and its body."""
    lines = ["sendmsg", "call-command: execute", f"execute-app-name: {app}"]
    body = None
    if arg and "\n" in arg:
        # A multi-line argument travels as the message body.
        body = arg
        lines += ["content-type: text/plain", f"content-length: {len(arg.encode())}"]
    elif arg:
        lines.append(f"execute-app-arg: {arg}")
    if event_lock:
        lines.append("event-lock: true")
    lines.append(f"Event-UUID: {event_uuid}")
    return "\n".join(lines), body


# How long a session kept open for a handover may wait to be released.
KEEP_OPEN_SECONDS = 30.0


class OutboundServer:
    """gevent StreamServer for the dialplan's ``socket host:port async full``.

    ``handler_factory(session)`` is called for each call after ``connect``; its ``run()``
    drives the call. When ``run`` returns the session sends ``exit`` and closes.
    """

    def __init__(
        self,
        handler_factory: Callable[[OutboundSession], SessionHandler],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        queue_size: int = 1000,
        command_timeout: float = 10.0,
    ) -> None:
        self.handler_factory = handler_factory
        self.queue_size = queue_size
        self.command_timeout = command_timeout
        self.sessions: set[OutboundSession] = set()
        self._handlers: set[gevent.Greenlet] = set()
        self.completed = 0
        self.failed = 0
        # A burst of calls while the daemon is busy waits in the kernel's accept queue (the
        # switch's connect has no timeout) rather than being refused into the failover path.
        self._server = StreamServer((host, port), self._handle, backlog=LISTEN_BACKLOG)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.address[:2]
        return host, port

    def start(self) -> None:
        self._server.start()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self, timeout: float | None = 5.0) -> None:
        self._server.stop(timeout=timeout)

    def let_go(self, timeout: float) -> None:
        """Stop accepting and end every handler now (``GreenletExit`` in its greenlet, so it
        can record how it lets go of its call); wait up to ``timeout`` s for them. Without
        this the handlers would simply vanish with the process."""
        self._server.close()
        try:
            gevent.killall(list(self._handlers), block=True, timeout=timeout)
        except gevent.Timeout:
            logger.warning(
                "%d call handlers still running after %.0f s", len(self._handlers), timeout
            )

    def _handle(self, sock, address) -> None:
        session = OutboundSession(
            sock, address, queue_size=self.queue_size, command_timeout=self.command_timeout
        )
        handler = gevent.getcurrent()
        self._handlers.add(handler)
        self.sessions.add(session)
        try:
            session.connect()
            self.handler_factory(session).run()
            self.completed += 1
        except ChannelHangup as hangup:
            self.completed += 1
            logger.info("outbound session ended by hangup: %s", hangup)
        except ConnectionLost as error:
            self.failed += 1
            logger.info("outbound session lost: %s", error)
        except Exception:
            self.failed += 1
            logger.exception("outbound session handler failed")
        finally:
            if session.keep_open:
                # The server closes the socket when this returns, and FreeSWITCH would take
                # the call to the failover group.
                session.released.wait(KEEP_OPEN_SECONDS)
            session.exit()
            self.sessions.discard(session)
            self._handlers.discard(handler)
