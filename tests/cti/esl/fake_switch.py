"""A fake FreeSWITCH peer for the ESL tests: replays recorded bytes, one command at a time."""

from __future__ import annotations

import json
import re

import gevent
from gevent.server import StreamServer

from cti.esl.frames import Frame, FrameParser

from .traces import Connection

_APPLICATION = re.compile(rb"\nApplication: ([^\n]+)\n")
_APPLICATION_UUID = re.compile(rb"\nApplication-UUID: ([0-9a-f-]{36})\n")


class ReplayPeer:
    """Plays FreeSWITCH's side of a recorded connection.

    Received bytes are sent in recorded order; before each recorded command of the client
    the peer waits until the client under test has sent one command of its own (recorded
    in :attr:`received`). When a ``sendmsg`` carries an ``Event-UUID``, the recorded
    ``Application-UUID`` of that application's next run is rewritten to it (same length,
    so every Content-Length stays true).
    """

    def __init__(self, recorded: Connection) -> None:
        self.recorded = recorded
        self.received: list[Frame] = []
        self.steps: list[tuple[str, bytes]] = []
        for line in (recorded.folder / f"{recorded.name}.jsonl").read_text().splitlines():
            record = json.loads(line)
            data = record["data"].encode("utf-8")
            if self.steps and self.steps[-1][0] == record["dir"] == "rx":
                self.steps[-1] = ("rx", self.steps[-1][1] + data)
            else:
                self.steps.append((record["dir"], data))
        self._recorded_uuids: dict[bytes, list[bytes]] = {}
        for chunk in recorded.rx_bytes().split(b"Event-Name: CHANNEL_EXECUTE\n")[1:]:
            application = _APPLICATION.search(chunk)
            application_uuid = _APPLICATION_UUID.search(chunk)
            if application and application_uuid:
                self._recorded_uuids.setdefault(application.group(1), []).append(
                    application_uuid.group(1)
                )
        self.finished = gevent.event.Event()

    def serve(self, sock) -> None:
        parser = FrameParser(commands=True)
        replacements: dict[bytes, bytes] = {}
        try:
            for direction, data in self.steps:
                if direction == "rx":
                    for old, new in replacements.items():
                        data = data.replace(old, new)
                    sock.sendall(data)
                    continue
                wanted = len(self.received) + len(FrameParser(commands=True).feed(data))
                while len(self.received) < wanted:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    for frame in parser.feed(chunk):
                        self.received.append(frame)
                        self._map_event_uuid(frame, replacements)
        finally:
            sock.close()
            self.finished.set()

    def _map_event_uuid(self, frame: Frame, replacements: dict[bytes, bytes]) -> None:
        headers = frame.raw_headers
        if frame.command != "sendmsg" or "Event-UUID" not in headers:
            return
        recorded = self._recorded_uuids.get(headers.get("execute-app-name", "").encode())
        if recorded:
            replacements[recorded.pop(0)] = headers["Event-UUID"].encode()

    def commands(self) -> list[str]:
        return [frame.command for frame in self.received]


def serve_inbound(peer_factory) -> tuple[StreamServer, list]:
    """A TCP server on 127.0.0.1:0; each connection is served by a new peer object."""
    peers: list = []

    def handle(sock, _address):
        peer = peer_factory(len(peers))
        peers.append(peer)
        peer.serve(sock)

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    return server, peers


def event_frame(body: str) -> bytes:
    """Wrap a plain event body the way FreeSWITCH frames it."""
    data = body.encode()
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(data), data)


class ScriptedSwitch:
    """A minimal inbound peer: auth, subscription and filters, then a per-test script."""

    def __init__(self, index: int, after_login=None, password: str = "ClueCon") -> None:
        self.index = index
        self.after_login = after_login
        self.password = password
        self.received: list[Frame] = []
        self.parser = FrameParser(commands=True)
        self.sock = None

    def read_command(self) -> Frame | None:
        while True:
            if len(self.received) > getattr(self, "_consumed", 0):
                frame = self.received[self._consumed]
                self._consumed += 1
                return frame
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.received.extend(self.parser.feed(chunk))

    def reply(self, text: str) -> None:
        self.sock.sendall(f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode())

    def serve(self, sock) -> None:
        self.sock = sock
        self._consumed = 0
        try:
            sock.sendall(b"Content-Type: auth/request\n\n")
            auth = self.read_command()
            if auth is None:
                return
            if auth.command != f"auth {self.password}":
                self.reply("-ERR invalid")
                return
            self.reply("+OK accepted")
            while True:
                command = self.read_command()
                if command is None:
                    return
                if command.command.startswith("event "):
                    self.reply("+OK event listener enabled plain")
                    break
                self.reply("+OK")
            if self.after_login is not None:
                self.after_login(self)
            while True:
                command = self.read_command()
                if command is None:
                    return
                if command.command.startswith("api "):
                    body = b"+OK fake\n"
                    header = f"Content-Type: api/response\nContent-Length: {len(body)}\n\n"
                    sock.sendall(header.encode() + body)
                elif command.command == "exit":
                    self.reply("+OK bye")
                    return
                else:
                    self.reply("+OK")
        except OSError:
            pass
        finally:
            sock.close()
