"""Reading the recorded FreeSWITCH traces and comparing a live ESL session with them."""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gevent
import gevent.event
import gevent.server
import gevent.socket

from cti.esl.frames import FrameParser

_DEFAULT_TRACES = Path(__file__).resolve().parents[4] / "shared" / "fs-traces"
TRACES = Path(os.environ.get("FS_TRACES_DIR", str(_DEFAULT_TRACES)))

# Headers whose VALUES vary between runs; only their names are compared.
HANGUP_EVENTS = ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE")


@dataclass
class EventRecord:
    """One event with its ordered header names (duplicates kept) and decoded values."""

    name: str
    headers: list[tuple[str, str]]
    body: str = ""

    @property
    def unique_id(self) -> str | None:
        return self.get("Unique-ID")

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def key(self) -> str:
        subclass = self.get("Event-Subclass")
        return f"{self.name} {subclass}" if self.name == "CUSTOM" and subclass else self.name

    def header_names(self, with_variables: bool = False) -> list[str]:
        return [key for key, _ in self.headers if with_variables or not key.startswith("variable_")]


@dataclass
class Observed:
    """Everything one ESL connection received, split into replies and events."""

    replies: list[tuple[str, str]] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    frames: list[tuple[str, object]] = field(default_factory=list)

    def reply_texts(self) -> list[tuple[str, str]]:
        return list(self.replies)


def _parse_event_body(content_type: str, body: bytes) -> EventRecord:
    text = body.decode("utf-8")
    if content_type == "text/event-json":
        pairs = json.loads(text, object_pairs_hook=lambda p: p)
        headers = []
        event_body = ""
        for key, value in pairs:
            if key == "_body":
                event_body = value
                continue
            if isinstance(value, list):
                value = "ARRAY::" + "|:".join(value)
            headers.append((key, value))
        name = dict(headers).get("Event-Name", "")
        return EventRecord(name, headers, event_body)
    block, _, rest = text.partition("\n\n")
    headers = []
    for line in block.split("\n"):
        if not line:
            continue
        key, _, value = line.partition(": ")
        headers.append((key, urllib.parse.unquote(value)))
    name = dict(headers).get("Event-Name", "")
    return EventRecord(name, headers, rest)


def parse_stream(data: bytes) -> Observed:
    observed = Observed()
    for frame in FrameParser().feed(data):
        content_type = frame.content_type
        if content_type.startswith("text/event-"):
            record = _parse_event_body(content_type, frame.body)
            observed.events.append(record)
            observed.frames.append(("event", record))
            continue
        if content_type == "command/reply":
            text = frame.reply_text
        else:
            text = frame.body.decode("utf-8")
        observed.replies.append((content_type, text))
        observed.frames.append((content_type, text))
    return observed


def load_trace(scenario: str, connection: str) -> Observed:
    return parse_stream((TRACES / scenario / f"{connection}.rx").read_bytes())


def traces_available() -> bool:
    return (TRACES / "README.md").exists()


# -- channel roles ------------------------------------------------------------------------
def channel_roles(events: list[EventRecord]) -> dict[str, str]:
    """Name each channel by the user part of its Channel-Name, numbered per user."""
    roles: dict[str, str] = {}
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        uuid = event.unique_id
        name = event.get("Channel-Name")
        if not uuid or uuid in roles or not name:
            continue
        user = re.sub(r"^[^/]+/[^/]+/", "", name).split("@", 1)[0]
        counts[user] += 1
        roles[uuid] = f"{user}#{counts[user]}"
    return roles


def per_channel(
    events: list[EventRecord], skip: Callable[[EventRecord], bool] | None = None
) -> dict[str, list[EventRecord]]:
    roles = channel_roles(events)
    result: dict[str, list[EventRecord]] = defaultdict(list)
    for event in events:
        uuid = event.unique_id
        if uuid is None or uuid not in roles:
            continue
        if skip is not None and skip(event):
            continue
        result[roles[uuid]].append(event)
    return dict(result)


def channel_sequences(
    events: list[EventRecord], skip: Callable[[EventRecord], bool] | None = None
) -> dict[str, list[str]]:
    return {role: [e.key for e in evs] for role, evs in per_channel(events, skip).items()}


def header_names_by_event(events: list[EventRecord]) -> dict[str, set[tuple[str, ...]]]:
    """Distinct non-variable header-name lists per event name."""
    shapes: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for event in events:
        shapes[event.key].add(tuple(event.header_names()))
    return dict(shapes)


def compare_aligned_headers(
    expected: dict[str, list[EventRecord]], actual: dict[str, list[EventRecord]]
) -> list[str]:
    """Header-name differences between events at the same place of each channel."""
    problems = []
    for role, expected_events in expected.items():
        actual_events = actual.get(role, [])
        for index, (want, got) in enumerate(zip(expected_events, actual_events, strict=False)):
            if want.key != got.key:
                break
            want_names, got_names = want.header_names(), got.header_names()
            if want_names != got_names:
                missing = [n for n in want_names if n not in got_names]
                extra = [n for n in got_names if n not in want_names]
                problems.append(
                    f"{role}[{index}] {want.key}: missing {missing} extra {extra}"
                    if missing or extra
                    else f"{role}[{index}] {want.key}: order {want_names} != {got_names}"
                )
    return problems


# Header values a daemon acts on; they must match the trace at the same place of a channel.
SEMANTIC_HEADERS = (
    "Channel-State",
    "Channel-Call-State",
    "Original-Channel-Call-State",
    "Answer-State",
    "Call-Direction",
    "Hangup-Cause",
    "Application",
    "Application-Response",
    "DTMF-Digit",
    "Other-Type",
    "Action",
    "Playback-File-Path",
)


def compare_aligned_values(
    expected: dict[str, list[EventRecord]], actual: dict[str, list[EventRecord]]
) -> list[str]:
    """Differences in :data:`SEMANTIC_HEADERS` values between aligned events."""
    problems = []
    for role, expected_events in expected.items():
        for index, (want, got) in enumerate(
            zip(expected_events, actual.get(role, []), strict=False)
        ):
            if want.key != got.key:
                break
            for name in SEMANTIC_HEADERS:
                wanted, seen = want.get(name), got.get(name)
                if wanted != seen:
                    problems.append(f"{role}[{index}] {want.key} {name}: {wanted!r} != {seen!r}")
    return problems


# -- live ESL endpoints for drivers ---------------------------------------------------------
class EslConnection:
    """A raw ESL connection that keeps every byte received (for comparison with traces)."""

    def __init__(self, sock: gevent.socket.socket) -> None:
        self.sock = sock
        self.raw = bytearray()
        self.parser = FrameParser()
        self.frames: list = []
        self.closed = gevent.event.Event()
        self._arrived = gevent.event.Event()
        self._records: dict[int, EventRecord] = {}
        self._reader = gevent.spawn(self._read)

    @classmethod
    def connect(cls, host: str, port: int) -> EslConnection:
        sock = gevent.socket.create_connection((host, port), timeout=5)
        sock.settimeout(None)
        return cls(sock)

    def _read(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.raw.extend(data)
                self.frames.extend(self.parser.feed(data))
                self._arrived.set()
        except OSError:
            pass
        finally:
            self.closed.set()
            self._arrived.set()

    def send(self, command: str, headers: dict[str, str] | None = None) -> None:
        text = command + "\n"
        for name, value in (headers or {}).items():
            text += f"{name}: {value}\n"
        self.sock.sendall((text + "\n").encode())

    def wait_for(self, predicate: Callable[[object], bool], timeout: float = 10.0, start: int = 0):
        """The first frame (from index ``start``) matching ``predicate``."""
        deadline = gevent.get_hub().loop.now() + timeout
        index = start
        while True:
            while index < len(self.frames):
                frame = self.frames[index]
                index += 1
                if predicate(frame):
                    return frame
            if self.closed.is_set():
                raise AssertionError("connection closed while waiting")
            remaining = deadline - gevent.get_hub().loop.now()
            if remaining <= 0:
                raise AssertionError("timed out waiting for a frame")
            self._arrived.clear()
            self._arrived.wait(timeout=min(remaining, 0.05))

    def command(self, command: str, headers: dict[str, str] | None = None, timeout=10.0):
        """Send and wait for the reply (command/reply or api/response)."""
        start = len(self.frames)
        self.send(command, headers)
        return self.wait_for(
            lambda f: f.content_type in ("command/reply", "api/response"), timeout, start
        )

    def wait_event(self, name: str, uuid: str | None = None, timeout: float = 10.0, **match):
        """The first event (since the connection opened) with that name and headers."""
        needle = f"Event-Name: {name}".encode()
        json_needle = f'"Event-Name":"{name}"'.encode()

        def predicate(frame) -> bool:
            if not frame.content_type.startswith("text/event-"):
                return False
            if needle not in frame.body and json_needle not in frame.body:
                return False
            record = self._record(frame)
            if record.name != name:
                return False
            if uuid is not None and record.unique_id != uuid:
                return False
            return all(record.get(k.replace("_", "-")) == v for k, v in match.items())

        return self._record(self.wait_for(predicate, timeout))

    def _record(self, frame) -> EventRecord:
        key = id(frame)
        record = self._records.get(key)
        if record is None:
            record = _parse_event_body(frame.content_type, frame.body)
            self._records[key] = record
        return record

    def observed(self) -> Observed:
        return parse_stream(bytes(self.raw))

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            self._reader.kill()


class OutboundServer:
    """A TCP server for the ``socket`` application; hands out accepted connections."""

    def __init__(self) -> None:
        self.connections: list[EslConnection] = []
        self._arrived = gevent.event.Event()
        self.server = gevent.server.StreamServer(("127.0.0.1", 0), self._accept)
        self.server.start()

    @property
    def port(self) -> int:
        return self.server.server_port

    def _accept(self, sock, address) -> None:
        connection = EslConnection(sock)
        self.connections.append(connection)
        self._arrived.set()
        connection.closed.wait()

    def accept(self, timeout: float = 10.0) -> EslConnection:
        deadline = gevent.get_hub().loop.now() + timeout
        while not self.connections:
            remaining = deadline - gevent.get_hub().loop.now()
            if remaining <= 0:
                raise AssertionError("no outbound connection")
            self._arrived.wait(timeout=remaining)
            self._arrived.clear()
        return self.connections.pop(0)

    def stop(self) -> None:
        self.server.stop(timeout=1)
