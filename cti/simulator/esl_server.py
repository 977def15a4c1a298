"""The Event Socket: inbound listeners on a TCP port and outbound ``socket`` connections."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent
import gevent.event
import gevent.lock
import gevent.queue
import gevent.server
import gevent.socket

from cti.simulator import wire
from cti.simulator.channel import Channel
from cti.simulator.events import SwitchEvent, random_uuid
from cti.sockio import send_all

if TYPE_CHECKING:
    from cti.simulator.api import ApiCommands
    from cti.simulator.engine import Switch

# switch_event_types_t names that switch_name_event accepts.
EVENT_NAMES = frozenset(
    """CUSTOM CLONE CHANNEL_CREATE CHANNEL_DESTROY CHANNEL_STATE CHANNEL_CALLSTATE
    CHANNEL_ANSWER CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE
    CHANNEL_EXECUTE_COMPLETE CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_BRIDGE CHANNEL_UNBRIDGE
    CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_OUTGOING CHANNEL_PARK CHANNEL_UNPARK
    CHANNEL_APPLICATION CHANNEL_ORIGINATE CHANNEL_UUID API LOG INBOUND_CHAN OUTBOUND_CHAN
    STARTUP SHUTDOWN PUBLISH UNPUBLISH TALK NOTALK SESSION_CRASH MODULE_LOAD MODULE_UNLOAD DTMF
    MESSAGE PRESENCE_IN NOTIFY_IN PRESENCE_OUT PRESENCE_PROBE MESSAGE_WAITING MESSAGE_QUERY
    ROSTER CODEC BACKGROUND_JOB DETECTED_SPEECH DETECTED_TONE PRIVATE_COMMAND HEARTBEAT TRAP
    ADD_SCHEDULE DEL_SCHEDULE EXE_SCHEDULE RE_SCHEDULE RELOADXML NOTIFY PHONE_FEATURE
    PHONE_FEATURE_SUBSCRIBE SEND_MESSAGE RECV_MESSAGE REQUEST_PARAMS CHANNEL_DATA GENERAL
    COMMAND SESSION_HEARTBEAT CLIENT_DISCONNECTED SERVER_DISCONNECTED SEND_INFO RECV_INFO
    RECV_RTCP_MESSAGE SEND_RTCP_MESSAGE CALL_SECURE NAT RECORD_START RECORD_STOP
    PLAYBACK_START PLAYBACK_STOP CALL_UPDATE FAILURE SOCKET_DATA MEDIA_BUG_START
    MEDIA_BUG_STOP CONFERENCE_DATA_QUERY CONFERENCE_DATA CALL_SETUP_REQ CALL_SETUP_RESULT
    CALL_DETAIL DEVICE_STATE TEXT SHUTDOWN_REQUESTED ALL""".split()
)
MYEVENTS = frozenset(
    """CHANNEL_ANSWER CHANNEL_APPLICATION CHANNEL_BRIDGE CHANNEL_CREATE CHANNEL_DATA
    CHANNEL_DESTROY CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP
    CHANNEL_HANGUP_COMPLETE CHANNEL_ORIGINATE CHANNEL_UUID CHANNEL_OUTGOING CHANNEL_PARK
    CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_STATE CHANNEL_UNBRIDGE CHANNEL_UNPARK
    DETECTED_SPEECH DTMF NOTALK TALK""".split()
)
_CHANNEL_DOWN = object()
_STOP = object()
_AUTH_TIMEOUT = 25.0


class Listener:
    """One ESL connection, inbound (client connected to us) or outbound (we connected).

    Like mod_event_socket, replies and events are written by the same loop: events queued
    while a command runs are written after its reply, and a blocking ``api`` holds back
    event delivery on this connection until it returns.
    """

    def __init__(
        self,
        sock: gevent.socket.socket,
        switch: Switch,
        api: ApiCommands,
        password: str,
        session: Channel | None = None,
        async_mode: bool = True,
        full: bool = False,
        on_close: Callable[[Listener], None] | None = None,
    ) -> None:
        self.sock = sock
        self.switch = switch
        self.api = api
        self.password = password
        self.session = session
        self.outbound = session is not None
        self.async_mode = async_mode
        self.full = full
        self.on_close = on_close
        self.authed = self.outbound
        self.format = "plain"
        self.events_enabled = False
        self.event_names: set[str] = set()
        self.all_events = False
        self.custom_subclasses: set[str] = set()
        self.all_custom = False
        self.filters: list[tuple[str, str]] = []
        self.myevents = False
        self.linger = False
        self.linger_timeout: float = -1
        self.linger_deadline: float | None = None
        self.connected = gevent.event.Event()
        self.first_command_after_connect = gevent.event.Event()
        self.running = True
        self.closed = gevent.event.Event()
        self.queue: gevent.queue.Queue = gevent.queue.Queue()
        self.lock = gevent.lock.RLock()
        self.handled_disconnect = False
        self._buffer = b""
        self._greenlets: list[gevent.Greenlet] = []
        self._reading = False
        # How the bus offers events to this connection: None, ("all",) or
        # ("channel", uuid, with_job_owner); see _update_route.
        self._route: tuple | None = None

    # -- life cycle --------------------------------------------------------------------
    def start(self) -> None:
        self._update_route()
        self._greenlets = [gevent.spawn(self._reader), gevent.spawn(self._pump)]
        if not self.outbound:
            self._send(wire.auth_request())

    def close(self, goodbye: bool = True) -> None:
        if not self.running and self.closed.is_set():
            return
        self.running = False
        self._set_route(None)
        if goodbye:
            self._send(
                wire.disconnect_notice(
                    wire.DISCONNECT_GOODBYE, self.session.uuid if self.session else None
                )
            )
        try:
            self.sock.shutdown(gevent.socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if not self.closed.is_set():
            self.closed.set()
            if self.on_close is not None:
                self.on_close(self)
        # The greenlets end on their own when they can (the writer at its stop mark, a
        # reader waiting for a command when its socket closes): a killed greenlet keeps
        # its frames, and this connection, in a reference cycle for the garbage collector.
        current = gevent.getcurrent()
        self.queue.put(_STOP)
        if self._greenlets:
            reader = self._greenlets[0]
            if reader is not current and not self._reading:
                reader.kill(block=False)  # interrupts a command in progress, as before
        self._greenlets = []

    def _send(self, data: bytes) -> None:
        try:
            send_all(self.sock, data)
        except OSError:
            self.running = False

    # -- event delivery ----------------------------------------------------------------
    def _update_route(self) -> None:
        """Ask the bus for the events this connection may accept, after a state change.

        A session's connection that is not listening, or listens with ``myevents``, can
        only take its channel's events (its hang-up, myevents' Unique-ID test) and, with
        myevents, the jobs it owns; every other listening connection is offered everything.
        """
        if not self.running:
            route = None
        elif self.session is not None and (self.myevents or not self.events_enabled):
            route = ("channel", self.session.uuid, self.myevents)
        elif self.events_enabled:
            route = ("all",)
        else:
            route = None
        if route != self._route:
            self._set_route(route)

    def _set_route(self, route: tuple | None) -> None:
        bus = self.switch.bus
        previous = self._route
        if previous is not None:
            if previous[0] == "all":
                bus.unsubscribe(self.on_event)
            else:
                bus.unroute_channel(previous[1], self.on_event)
        self._route = route
        if route is not None:
            if route[0] == "all":
                bus.subscribe(self.on_event)
            else:
                bus.route_channel(route[1], self.on_event, job_owner=route[2])

    def on_event(self, event: SwitchEvent) -> None:
        if self.session is not None and event.name == "CHANNEL_HANGUP_COMPLETE":
            if event.routing_ids()[0] == self.session.uuid:
                self._deliver(event)
                self.queue.put(_CHANNEL_DOWN)
                return
        self._deliver(event)

    def _subscribed(self, name: str, subclass: str | None) -> bool:
        """The event subscription (``event``, ``myevents``, ``nixevent``) takes this kind."""
        if self.all_events:
            return name != "CUSTOM" or self.all_custom or (subclass in self.custom_subclasses)
        if name in self.event_names:
            return name != "CUSTOM" or not subclass or (subclass in self.custom_subclasses)
        return False

    def may_take(self, name: str, subclass: str | None, unique_id: str) -> bool:
        """Whether an event of this kind on channel ``unique_id`` could concern this
        connection (before filters and myevents' tests): the switch skips building the
        events no connection could take."""
        if self.session is not None and name == "CHANNEL_HANGUP_COMPLETE":
            if unique_id == self.session.uuid:
                return True
        if not self.running or not self.events_enabled:
            return False
        return self._subscribed(name, subclass)

    def _deliver(self, event: SwitchEvent) -> None:
        if not self.running or not self.events_enabled:
            return
        send = self._subscribed(event.name, event.subclass)
        if send and self.filters:
            send = self._passes_filters(event)
        if send and self.myevents:
            unique_id, job_owner = event.routing_ids()
            if unique_id is None or (self.session is not None and unique_id != self.session.uuid):
                send = False
            if self.session is not None and job_owner == self.session.uuid:
                send = True
        if send:
            self.queue.put(event)

    def _passes_filters(self, event: SwitchEvent) -> bool:
        send = False
        for name, raw_value in self.filters:
            value = event.get(name)
            if value is None:
                continue
            positive = True
            compare = raw_value
            while compare and compare[0] in "+- ":
                if compare[0] == "+":
                    positive = True
                elif compare[0] == "-":
                    positive = False
                compare = compare[1:]
            if send and positive:
                continue
            if raw_value.startswith("/"):
                matched = re.search(compare.strip("/"), value) is not None
            else:
                matched = value.lower() == compare.lower()
            if matched:
                if positive:
                    send = True
                else:
                    return False
        return send

    def _pump(self) -> None:
        queue = self.queue
        while self.running:
            item = queue.get()
            if item is _STOP:
                return
            with self.lock:
                if not self.running:
                    return
                # Everything queued by now goes out in order, consecutive events in one
                # write (the bytes are those of one write per event).
                frames: list[bytes] = []
                while True:
                    if item is _STOP:
                        break
                    if item is _CHANNEL_DOWN:
                        if frames:
                            self._send(b"".join(frames))
                            frames = []
                        if not self.running:
                            return
                        self._channel_down()
                    else:
                        frames.append(item.frame(self.format))
                    if queue.empty():
                        break
                    item = queue.get_nowait()
                if frames:
                    self._send(b"".join(frames))

    def _channel_down(self) -> None:
        if self.handled_disconnect or self.session is None:
            return
        self.handled_disconnect = True
        if self.linger:
            self._send(
                wire.linger_notice(self.session.uuid, self.session.name, int(self.linger_timeout))
            )
            if self.linger_timeout != -1:
                # mod_event_socket compares whole epoch seconds (now > start + linger).
                deadline = math.floor(self.switch.clock.now()) + self.linger_timeout + 1
                gevent.spawn(self._linger_expiry, deadline)
        else:
            gevent.spawn(self.close)

    def _linger_expiry(self, deadline: float) -> None:
        self.switch.clock.sleep(max(0.0, deadline - self.switch.clock.now()))
        with self.lock:
            if self.running:
                self.close()

    # -- command reading ---------------------------------------------------------------
    def _read_frame(self, timeout: float | None) -> tuple[str, list[tuple[str, str]], str] | None:
        """One command: (raw header text, headers after the first line, body)."""
        with gevent.Timeout(timeout, False):
            while True:
                self._buffer = self._buffer.lstrip(b"\r\n")
                match = re.search(rb"\r?\n\r?\n", self._buffer)
                if match:
                    raw = self._buffer[: match.end()]
                    rest = self._buffer[match.end() :]
                    text = raw.decode("utf-8", "replace")
                    lines = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
                    headers: list[tuple[str, str]] = []
                    body = ""
                    for line in lines[1:]:
                        name, _, value = line.partition(":")
                        headers.append((name.strip(), value.lstrip(" ")))
                    length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
                    while len(rest) < length:
                        chunk = self.sock.recv(65536)
                        if not chunk:
                            return None
                        rest += chunk
                    body = rest[:length].decode("utf-8", "replace")
                    self._buffer = rest[length:]
                    return text, headers, body
                chunk = self.sock.recv(65536)
                if not chunk:
                    return None
                self._buffer += chunk
        return ("__timeout__", [], "")

    def _reader(self) -> None:
        try:
            if self.outbound:
                frame = self._read_frame(_AUTH_TIMEOUT * self.switch.clock.speed)
                if frame is None or frame[0] == "__timeout__":
                    return
                self._handle(frame)
            while self.running:
                self._reading = True
                frame = self._read_frame(None)
                self._reading = False
                if frame is None:
                    return
                self._handle(frame)
        except OSError:
            return
        finally:
            with self.lock:
                if self.running:
                    self.close(goodbye=True)

    def _handle(self, frame: tuple[str, list[tuple[str, str]], str]) -> None:
        raw, headers, body = frame
        if self.connected.is_set():
            self.first_command_after_connect.set()
        with self.lock:
            reply = self.parse_command(raw, headers, body)
            self._update_route()
            if reply is not None:
                self._send(reply)
            if not self.running:
                self.close(goodbye=True)

    # -- commands ----------------------------------------------------------------------
    def parse_command(self, raw: str, headers: list[tuple[str, str]], body: str) -> bytes | None:
        """Run one command; returns the bytes to write back (None when already written)."""
        first_line = raw.split("\n", 1)[0].rstrip("\r")
        cmd = first_line
        lowered = cmd.lower()
        header = {name.lower(): value for name, value in headers}

        if lowered.startswith("exit") or lowered.startswith("..."):
            self.running = False
            return wire.command_reply("+OK bye")

        if not self.authed:
            if lowered.startswith("auth "):
                if cmd[5:] == self.password:
                    self.authed = True
                    return wire.command_reply("+OK accepted")
                self.running = False
                return wire.command_reply("-ERR invalid")
            return wire.command_reply("-ERR command not found")

        if lowered.startswith("filter "):
            return wire.command_reply(self._filter(cmd[7:]))

        if self.session is not None and lowered.startswith("resume"):
            self.session.set_variable("socket_resume", "true")
            return wire.command_reply("+OK")

        if self.session is not None or lowered.startswith("myevents "):
            if lowered.startswith("connect"):
                return self._connect()
            if lowered.startswith("getvar"):
                name = cmd.split(" ", 1)[1] if " " in cmd else ""
                value = self.session.variables.get(name, "") if self.session else ""
                return wire.command_reply(value)
            if lowered.startswith("myevents"):
                return wire.command_reply(self._myevents(cmd))

        if lowered.startswith("divert_events"):
            if self.session is None:
                return wire.command_reply("-ERR not controlling a session.")
            value = cmd[13:].strip()
            if not value:
                return wire.command_reply("-ERR missing value.")
            if value.lower() == "on":
                return wire.command_reply("+OK events diverted")
            return wire.command_reply("+OK events not diverted")

        if lowered.startswith("sendmsg"):
            return wire.command_reply(self._sendmsg(cmd, raw, headers, body, header))

        if self.outbound and not self.full:
            return wire.command_reply("-ERR command not found")

        if lowered.startswith("sendevent"):
            return wire.command_reply(self._sendevent(cmd, headers, body))
        if lowered.startswith("api "):
            return self._api(cmd[4:])
        if lowered.startswith("bgapi "):
            return self._bgapi(cmd[6:], header.get("job-uuid"))
        if lowered.startswith("log"):
            return wire.command_reply(f"+OK log level {cmd[3:].strip() or 'debug'} [7]")
        if lowered.startswith("linger"):
            return wire.command_reply(self._linger(cmd))
        if lowered.startswith("nolinger"):
            if self.session is None:
                return wire.command_reply("-ERR not controlling a session")
            self.linger = False
            return wire.command_reply("+OK will not linger")
        if lowered.startswith("nolog"):
            return wire.command_reply("-ERR not loging")
        if lowered.startswith("event"):
            return wire.command_reply(self._event(cmd))
        if lowered.startswith("nixevent"):
            return wire.command_reply(self._nixevent(cmd))
        if lowered.startswith("noevents"):
            self._flush_events()
            if self.events_enabled:
                self.events_enabled = False
                self.event_names.clear()
                self.all_events = False
                self.custom_subclasses.clear()
                self.all_custom = False
                return wire.command_reply("+OK no longer listening for events")
            return wire.command_reply("-ERR not listening for events")
        return wire.command_reply("-ERR command not found")

    def _flush_events(self) -> None:
        kept = []
        while not self.queue.empty():
            item = self.queue.get_nowait()
            if item is _CHANNEL_DOWN:
                kept.append(item)
        for item in kept:
            self.queue.put(item)

    def _filter(self, argument: str) -> str:
        argument = argument.lstrip(" ")
        name, _, value = argument.partition(" ")
        if name.lower() == "delete" and value:
            name, _, value = value.partition(" ")
            if name.lower() == "all":
                self.filters.clear()
            else:
                self.filters = [
                    (n, v)
                    for n, v in self.filters
                    if not (n.lower() == name.lower() and (not value or v == value))
                ]
            return f"+OK filter deleted. [{name}][{value}]"
        if value:
            if name.lower() == "add":
                name, _, value = value.partition(" ")
            self.filters.append((name, value))
            return f"+OK filter added. [{name}]=[{value}]"
        return "-ERR invalid syntax"

    def _connect(self) -> bytes:
        assert self.session is not None
        channel = self.session
        event = self.switch.bus.create("CHANNEL_DATA")
        if channel.caller_profile is not None:
            event.extend(channel.caller_profile.headers("Channel"))
        event.extend(channel.basic_headers())
        event.extend(channel.variable_headers())
        event.add("Content-Type", "command/reply")
        event.add("Reply-Text", "+OK\n")
        event.add("Socket-Mode", "async" if self.async_mode else "static")
        event.add("Control", "full" if self.full else "single-channel")
        self.connected.set()
        return wire.channel_data_reply(event.headers, event.intact_blocks())

    def _myevents(self, cmd: str) -> str:
        if self.myevents:
            return "-ERR aready enabled."
        if self.session is None:
            parts = cmd[9:].strip().split(" ")
            uuid = parts[0] if parts else ""
            fmt = parts[1] if len(parts) > 1 else None
            channel = self.switch.locate(uuid)
            if channel is None and fmt:
                return "-ERR invalid uuid"
            self.session = channel
            if fmt in ("plain", "json"):
                self.format = fmt
        self.event_names.update(MYEVENTS)
        self.myevents = True
        self.events_enabled = True
        if "json" in cmd.lower():
            self.format = "json"
        return "+OK Events Enabled"

    def _sendmsg(
        self,
        cmd: str,
        raw: str,
        headers: list[tuple[str, str]],
        body: str,
        header: dict[str, str],
    ) -> str:
        uuid = cmd[7:].strip() or header.get("session-id", "")
        if uuid and self.session is not None and uuid == self.session.uuid:
            uuid = ""
        event_headers = [("Command", raw), *headers]
        if body and not header.get("execute-app-arg"):
            if header.get("content-type", "").lower() == "text/plain":
                event_headers.append(("execute-app-arg", body))
        if not uuid and self.session is not None:
            self.switch.queue_private_event(self.session, event_headers)
            return "+OK"
        channel = self.switch.locate(uuid) if uuid else None
        if channel is not None and not channel.destroyed.is_set():
            self.switch.queue_private_event(channel, event_headers)
            return "+OK"
        return f"-ERR invalid session id [{uuid}]"

    def _sendevent(self, cmd: str, headers: list[tuple[str, str]], body: str) -> str:
        event_uuid = random_uuid()
        name = cmd[9:].strip() or "CLONE"
        if name not in EVENT_NAMES:
            name = "CLONE"
        header = {k.lower(): v for k, v in headers}
        target_uuid = header.get("unique-id")
        target = self.switch.locate(target_uuid) if target_uuid else None
        if target is not None and not target.destroyed.is_set():
            command = header.get("eavesdrop-command")
            if command is not None:
                self.switch.eavesdrop_command(target, command)
            return f"+OK {event_uuid}"
        subclass = header.get("event-subclass") if name == "CUSTOM" else None
        event = SwitchEvent(name=name, subclass=subclass, foreign_headers=True)
        event.extend([(k, v) for k, v in headers if k.lower() != "event-subclass"])
        event.add("Event-UUID", event_uuid)
        if subclass:
            event.headers.insert(0, ("Event-Subclass", subclass))
        base = self.switch.bus.base_headers(name)
        event.extend(base)
        event.body = body or None
        self.switch.bus.fire(event)
        return f"+OK {event_uuid}"

    def _api(self, command_line: str) -> bytes:
        command, _, argument = command_line.partition(" ")
        found, output = self.api.execute(command, argument, None)
        if not found:
            output = f"-ERR {command} Command not found!\n"
        if not output:
            output = "-ERR no reply\n"
        return wire.api_response(output)

    def _bgapi(self, command_line: str, job_uuid: str | None) -> bytes:
        command, _, argument = command_line.partition(" ")
        job = job_uuid or random_uuid()
        owner = self.session.uuid if self.session is not None else ""

        def run() -> None:
            found, output = self.api.execute(command, argument, None)
            if not found:
                output = f"-ERR {command} Command not found!\n"
            event = self.switch.bus.create("BACKGROUND_JOB")
            event.add("Job-UUID", job)
            if owner:
                event.add("Job-Owner-UUID", owner)
            event.add("Job-Command", command)
            if argument:
                event.add("Job-Command-Arg", argument)
            event.body = output or "Command returned no output!"
            self.switch.bus.fire(event)

        gevent.spawn(run)
        return wire.command_reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)])

    def _linger(self, cmd: str) -> str:
        if self.session is None:
            return "-ERR not controlling a session"
        argument = cmd[6:]
        if argument.startswith(" ") and argument[1:].strip():
            try:
                self.linger_timeout = int(argument[1:].strip())
            except ValueError:
                self.linger_timeout = 0
        else:
            self.linger_timeout = -1
        self.linger = True
        if self.linger_timeout != -1:
            return f"+OK will linger {int(self.linger_timeout)} seconds"
        return "+OK will linger"

    def _event(self, cmd: str) -> str:
        tokens = cmd.split(" ")[1:]
        key_count = 0
        custom = False
        for index, token in enumerate(tokens):
            if not token:
                continue
            if index == 0 and token.lower() in ("plain", "json", "xml"):
                self.format = token.lower()
                continue
            if custom:
                self.custom_subclasses.add(token)
                continue
            if token in EVENT_NAMES:
                key_count += 1
                if token == "ALL":
                    self.all_events = True
                    self.all_custom = True
                else:
                    self.event_names.add(token)
                if token == "CUSTOM":
                    custom = True
        if not key_count:
            return "-ERR no keywords supplied"
        self.events_enabled = True
        return f"+OK event listener enabled {self.format}"

    def _nixevent(self, cmd: str) -> str:
        tokens = cmd.split(" ")[1:]
        key_count = 0
        custom = False
        for token in tokens:
            if not token:
                continue
            if custom:
                self.custom_subclasses.discard(token)
                continue
            if token in EVENT_NAMES:
                key_count += 1
                if token == "CUSTOM":
                    custom = True
                elif token == "ALL":
                    self.all_events = False
                    self.event_names.clear()
                else:
                    if self.all_events:
                        self.all_events = False
                        self.event_names = set(EVENT_NAMES) - {"ALL"}
                    self.event_names.discard(token)
        if not key_count:
            return "-ERR no keywords supplied"
        self.events_enabled = True
        return "+OK events nixed"


class EventSocketServer:
    """The inbound Event Socket: accepts ESL clients on ``host:port``."""

    def __init__(
        self, switch: Switch, api: ApiCommands, host: str, port: int, password: str
    ) -> None:
        self.switch = switch
        self.api = api
        self.password = password
        self.listeners: set[Listener] = set()
        self.server = gevent.server.StreamServer((host, port), self._accept)

    @property
    def port(self) -> int:
        return self.server.server_port

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop(timeout=1)
        for listener in list(self.listeners):
            listener.close(goodbye=False)

    def _accept(self, sock: gevent.socket.socket, address: tuple[str, int]) -> None:
        sock.setsockopt(gevent.socket.IPPROTO_TCP, gevent.socket.TCP_NODELAY, 1)
        listener = Listener(
            sock, self.switch, self.api, self.password, on_close=self.listeners.discard
        )
        self.listeners.add(listener)
        listener.start()
        listener.closed.wait()


def _connect(host: str, port: int, timeout: float | None) -> gevent.socket.socket:
    """A TCP connection to ``host:port``; numeric addresses skip the resolver's thread pool."""
    for family in (gevent.socket.AF_INET, gevent.socket.AF_INET6):
        try:
            gevent.socket.inet_pton(family, host)
        except OSError:
            continue
        sock = gevent.socket.socket(family, gevent.socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((host, port))
        except BaseException:
            sock.close()
            raise
        return sock
    return gevent.socket.create_connection((host, port), timeout=timeout)


class OutboundSockets:
    """The ``socket`` application: connect out to the target and hand it the call."""

    # mod_event_socket's socket app connects with a blocking switch_socket_connect (no
    # timeout of its own): a daemon that is slow to accept makes the call wait, and only a
    # refused or failed connection sends the dialplan on (to the failover ring group).
    def __init__(
        self, switch: Switch, api: ApiCommands, connect_timeout: float | None = None
    ) -> None:
        self.switch = switch
        self.api = api
        self.connect_timeout = connect_timeout
        self.listeners: set[Listener] = set()

    def run(self, channel: Channel, data: str) -> None:
        args = data.split()
        if not args:
            return
        sock = None
        for host_spec in args[0].split("|"):
            if not host_spec:
                continue
            host, port = host_spec, 8084
            if ":" in host_spec:
                host, _, port_text = host_spec.rpartition(":")
                port = int(port_text.split("/", 1)[0] or 8084)
            channel.set_variable("socket_host", host)
            try:
                sock = _connect(host, port, self.connect_timeout)
                sock.settimeout(None)
                break
            except OSError:
                sock = None
        if sock is None:
            # mod_event_socket logs "Socket Error!" and returns: the dialplan goes on.
            return
        sock.setsockopt(gevent.socket.IPPROTO_TCP, gevent.socket.TCP_NODELAY, 1)
        flags = {arg.lower() for arg in args[1:]}
        listener = Listener(
            sock,
            self.switch,
            self.api,
            "",
            session=channel,
            async_mode="async" in flags,
            full="full" in flags,
            on_close=self._closed,
        )
        self.listeners.add(listener)
        channel.hold_destroy()
        listener.start()
        while channel.up and listener.running and not listener.connected.is_set():
            listener.connected.wait(timeout=0.05)
        if listener.connected.is_set():
            # FreeSWITCH parks a few milliseconds after `connect`; a client that sends
            # `myevents` right away sees CHANNEL_PARK, as in the recorded traces.
            listener.first_command_after_connect.wait(timeout=0.05)
            gevent.sleep(0.005)
        if channel.up and listener.running:
            self.switch.park_loop(channel, lambda: listener.running)
        self.switch._parse_private_events(channel)

    def _closed(self, listener: Listener) -> None:
        self.listeners.discard(listener)
        channel = listener.session
        if channel is not None:
            channel.release_destroy()
            # listener_run clears CF_CONTROLLED and nothing more: an application running
            # (an endless music on hold, say) runs on, and the park ends after it.
            channel.controlled = False
            channel.signal()

    def stop(self) -> None:
        for listener in list(self.listeners):
            listener.close(goodbye=False)
