"""Events as FreeSWITCH builds them: ordered header lists with duplicates allowed."""

from __future__ import annotations

import os
import time
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cti.simulator.clock import Clock
from cti.simulator.wire import HeaderBlock

# Where FreeSWITCH 1.10.12 fires each event from (Event-Calling-File/Function/Line-Number).
CALLING_SITES: dict[str, tuple[str, str, int]] = {
    "API": ("switch_loadable_module.c", "switch_api_execute", 2954),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", 1572),
    "CALL_UPDATE": ("mod_sofia.c", "sofia_receive_message", 2100),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", 3846),
    "CHANNEL_BRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689),
    "CHANNEL_CALLSTATE": ("switch_channel.c", "switch_channel_perform_set_callstate", 301),
    "CHANNEL_CREATE": ("switch_core_state_machine.c", "switch_core_session_run", 626),
    "CHANNEL_DATA": ("mod_event_socket.c", "parse_command", 2008),
    "CHANNEL_DESTROY": ("switch_core_session.c", "switch_core_session_perform_destroy", 1584),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", 2944),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", 2967),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", 3445),
    "CHANNEL_HANGUP_COMPLETE": (
        "switch_core_state_machine.c",
        "switch_core_session_reporting_state",
        943,
    ),
    "CHANNEL_HOLD": ("switch_ivr.c", "switch_ivr_hold", 1558),
    "CHANNEL_ORIGINATE": ("switch_core_state_machine.c", "switch_core_session_run", 632),
    "CHANNEL_OUTGOING": ("switch_core_session.c", "switch_core_session_outgoing_channel", 768),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", 1002),
    "CHANNEL_PROGRESS": ("switch_channel.c", "switch_channel_perform_mark_ring_ready_value", 3505),
    "CHANNEL_PROGRESS_MEDIA": (
        "switch_channel.c",
        "switch_channel_perform_mark_pre_answered",
        3560,
    ),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", 2408),
    "CHANNEL_UNBRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1879),
    "CHANNEL_UNHOLD": ("switch_ivr.c", "switch_ivr_unhold", 1638),
    "CHANNEL_UNPARK": ("switch_ivr.c", "switch_ivr_park", 1213),
    "CODEC": ("switch_core_codec.c", "switch_core_session_set_real_read_codec", 168),
    "COMMAND": ("switch_ivr.c", "switch_ivr_broadcast", 5309),
    "CUSTOM": ("conference_event.c", "conference_event_add_data", 617),
    "DTMF": ("switch_channel.c", "switch_channel_dequeue_dtmf", 677),
    "HEARTBEAT": ("switch_core.c", "send_heartbeat", 95),
    "MEDIA_BUG_START": ("switch_core_media_bug.c", "switch_core_media_bug_add", 1014),
    "MEDIA_BUG_STOP": ("switch_core_media_bug.c", "switch_core_media_bug_destroy", 84),
    "PLAYBACK_START": ("switch_ivr_play_say.c", "switch_ivr_play_file", 1646),
    "PLAYBACK_STOP": ("switch_ivr_play_say.c", "switch_ivr_play_file", 2020),
    "PRESENCE_IN": ("switch_channel.c", "switch_channel_perform_presence", 805),
    "PRIVATE_COMMAND": ("switch_ivr.c", "switch_ivr_parse_next_event", 804),
    "RECORD_START": ("switch_ivr_async.c", "record_callback", 1481),
    "RECORD_STOP": ("switch_ivr_async.c", "send_record_stop_event", 1240),
    "RE_SCHEDULE": ("switch_scheduler.c", "switch_scheduler_execute", 73),
}


_RANDOM_POOL = bytearray()


def random_uuid() -> str:
    """A random (version 4) UUID string, like ``str(uuid.uuid4())``.

    The random bytes are drawn from the OS 4 KiB at a time rather than 16 bytes per call:
    the simulator makes a dozen UUIDs per call.
    """
    global _RANDOM_POOL
    if len(_RANDOM_POOL) < 16:
        _RANDOM_POOL = bytearray(os.urandom(4096))
    raw = _RANDOM_POOL[-16:]
    del _RANDOM_POOL[-16:]
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass
class SwitchEvent:
    """One event: its ordered headers (names may repeat) and an optional body."""

    name: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None
    subclass: str | None = None
    # Set when headers written by an ESL client went in (sendevent, a sendmsg's
    # PRIVATE_COMMAND) or a Job-Owner-UUID was added: only such events can name a job owner.
    foreign_headers: bool = False
    _frames: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    # Where HeaderBlocks were added: (position in headers, block); see wire.HeaderBlock.
    _blocks: list[tuple[int, HeaderBlock]] | None = field(default=None, repr=False, compare=False)
    _routing: tuple[str | None, str | None] | None = field(default=None, repr=False, compare=False)

    def frame(self, format_name: str) -> bytes:
        """The event as written to a listener in ``plain`` or ``json``; built once per format.

        Events are not changed after they are fired, so every listener shares the bytes.
        """
        cached = self._frames.get(format_name)
        if cached is None:
            from cti.simulator import wire

            if format_name == "json":
                payload = wire.serialize_json(self.headers, self.body)
            else:
                payload = wire.serialize_plain(self.headers, self.body, self.intact_blocks())
            cached = wire.event_frame(payload, format_name)
            self._frames[format_name] = cached
        return cached

    def add(self, name: str, value: str | int | None) -> None:
        if value is None:
            return
        if len(name) == 14 and name.lower() == "job-owner-uuid":
            self.foreign_headers = True
        self.headers.append((name, str(value)))

    def extend(self, headers: list[tuple[str, str]]) -> None:
        if headers and type(headers) is HeaderBlock:
            if self._blocks is None:
                self._blocks = []
            self._blocks.append((len(self.headers), headers))
        self.headers.extend(headers)

    def intact_blocks(self) -> list[tuple[int, HeaderBlock]]:
        """The blocks still where they were added (none if the list was edited around them)."""
        blocks = self._blocks
        if not blocks:
            return []
        headers = self.headers
        for start, block in blocks:
            end = start + len(block)
            if end > len(headers) or headers[start] is not block[0]:
                return []
            if headers[end - 1] is not block[-1]:
                return []
        return blocks

    @classmethod
    def deferred(
        cls, name: str, subclass: str | None, unique_id: str, build: Callable[[], SwitchEvent]
    ) -> SwitchEvent:
        """An event whose headers are built by ``build`` when first read.

        For events only parties follow (no connection takes them): a party reads what it
        needs while it is called, when the channel is as it was when the event fired.
        ``unique_id`` is the Unique-ID the built headers carry (routing needs no headers).
        """
        event = cls.__new__(cls)
        event.__dict__.update(
            name=name,
            body=None,
            subclass=subclass,
            foreign_headers=False,
            _frames={},
            _blocks=None,
            _routing=(unique_id, None),
            _build=build,
        )
        return event

    def __getattr__(self, attribute: str) -> Any:
        # Only reached for a deferred event's headers (any other missing attribute fails).
        if attribute == "headers":
            build = self.__dict__.pop("_build", None)
            if build is not None:
                built = build()
                self.__dict__["headers"] = built.headers
                self.__dict__["_blocks"] = built._blocks
                return built.headers
        raise AttributeError(attribute)

    def get(self, name: str) -> str | None:
        """First header of that name, compared case-insensitively like FreeSWITCH."""
        lowered = name.lower()
        size = len(name)
        for header_name, value in self.headers:
            if len(header_name) == size and header_name.lower() == lowered:
                return value
        return None

    def routing_ids(self) -> tuple[str | None, str | None]:
        """(Unique-ID, Job-Owner-UUID) of a fired event, looked up once.

        The simulator writes Job-Owner-UUID only in BACKGROUND_JOB (``add`` notes it);
        other events can carry one only through client headers (``foreign_headers``), so
        the full header scan for it is skipped for the rest. Only for events already fired:
        they do not change afterwards.
        """
        routing = self._routing
        if routing is None:
            owner = self.get("Job-Owner-UUID") if self.foreign_headers else None
            routing = self._routing = (self.get("Unique-ID"), owner)
        return routing


class EventBus:
    """Numbers events, stamps the base headers and hands them to the listeners concerned.

    ESL connections are offered an event when it may concern them: ``subscribe`` for every
    event, or ``route_channel`` for the events of one channel (its Unique-ID, or a
    Job-Owner-UUID naming it) - what a ``myevents`` session can receive. The connection
    still applies mod_event_socket's own tests; the routing only skips connections those
    tests would reject anyway, without scanning each event's headers once per connection.
    Parties (``subscribe_channel``) are called after every connection has the event.
    """

    def __init__(
        self,
        clock: Clock,
        hostname: str = "vm",
        ipv4: str = "127.0.0.1",
        ipv6: str = "::1",
    ) -> None:
        self.clock = clock
        self.core_uuid = str(uuid_module.uuid4())
        self.hostname = hostname
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self._sequence = 0
        self._identity = (
            ("Core-UUID", self.core_uuid),
            ("FreeSWITCH-Hostname", hostname),
            ("FreeSWITCH-Switchname", hostname),
            ("FreeSWITCH-IPv4", ipv4),
            ("FreeSWITCH-IPv6", ipv6),
        )
        self._date_second: int | None = None
        self._dates: tuple[tuple[str, str], ...] = ()
        self._listeners: list[Callable[[SwitchEvent], None]] = []
        self._uuid_routes: dict[str, list[Callable[[SwitchEvent], None]]] = {}
        self._owner_routes: dict[str, list[Callable[[SwitchEvent], None]]] = {}
        self._channel_listeners: dict[str, list[Callable[[SwitchEvent], None]]] = {}
        # uuid -> the kinds its parties follow (None: all).
        self._channel_names: dict[str, frozenset[str] | None] = {}

    def subscribe(self, listener: Callable[[SwitchEvent], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[SwitchEvent], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def route_channel(
        self, uuid: str, listener: Callable[[SwitchEvent], None], job_owner: bool
    ) -> None:
        """Offer ``listener`` the events whose Unique-ID is ``uuid`` (and, with
        ``job_owner``, those whose Job-Owner-UUID is ``uuid``)."""
        self._uuid_routes.setdefault(uuid, []).append(listener)
        if job_owner:
            self._owner_routes.setdefault(uuid, []).append(listener)

    def unroute_channel(self, uuid: str, listener: Callable[[SwitchEvent], None]) -> None:
        for routes in (self._uuid_routes, self._owner_routes):
            listeners = routes.get(uuid)
            if listeners and listener in listeners:
                listeners.remove(listener)
                if not listeners:
                    del routes[uuid]

    def may_be_taken(self, name: str, subclass: str | None, unique_id: str) -> bool:
        """Whether any ESL connection could take an event of this kind on this channel.

        Asks each connection offered such an event (``may_take``); a listener that cannot
        tell is assumed to take it.
        """
        for listener in self._listeners:
            may_take = getattr(getattr(listener, "__self__", None), "may_take", None)
            if may_take is None or may_take(name, subclass, unique_id):
                return True
        for listener in self._uuid_routes.get(unique_id, ()):
            may_take = getattr(getattr(listener, "__self__", None), "may_take", None)
            if may_take is None or may_take(name, subclass, unique_id):
                return True
        return False

    def has_channel_listeners(self, uuid: str) -> bool:
        return uuid in self._channel_listeners

    def skip(self) -> int:
        """An event nobody can receive is not built, but it still takes its Event-Sequence
        number (FreeSWITCH numbers every event it fires); returns that number."""
        self._sequence += 1
        return self._sequence

    def subscribe_channel(
        self,
        uuid: str,
        listener: Callable[[SwitchEvent], None],
        names: frozenset[str] | None = None,
    ) -> None:
        """Call ``listener`` for the events whose Unique-ID is ``uuid`` (cheap per party).

        ``names``: the only kinds it follows (None: every kind). An event of another kind
        that no connection takes either is then not even made as a deferred event: a
        simulated caller following four kinds saved about 50 per call."""
        self._channel_listeners.setdefault(uuid, []).append(listener)
        known = self._channel_names
        if names is None or (uuid in known and known[uuid] is None):
            known[uuid] = None
        else:
            known[uuid] = (known.get(uuid) or frozenset()) | names

    def unsubscribe_channel(self, uuid: str) -> None:
        self._channel_listeners.pop(uuid, None)
        self._channel_names.pop(uuid, None)

    def channel_follows(self, uuid: str, name: str) -> bool:
        """Whether a party following channel ``uuid`` takes events named ``name``."""
        if uuid not in self._channel_listeners:
            return False
        names = self._channel_names.get(uuid)
        return names is None or name in names

    def base_headers(
        self, name: str, site: tuple[str, str, int] | None = None, sequence: int | None = None
    ) -> list:
        if sequence is None:
            self._sequence += 1
            sequence = self._sequence
        now = self.clock.now()
        second = int(now)
        if second != self._date_second:
            # Both dates have whole seconds: formatted once per (simulated) second.
            self._date_second = second
            self._dates = (
                ("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))),
                ("Event-Date-GMT", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))),
            )
        file_name, function, line = site or CALLING_SITES.get(name, ("switch_event.c", "", 0))
        return [
            ("Event-Name", name),
            *self._identity,
            *self._dates,
            ("Event-Date-Timestamp", str(int(now * 1_000_000))),
            ("Event-Calling-File", file_name),
            ("Event-Calling-Function", function),
            ("Event-Calling-Line-Number", str(line)),
            ("Event-Sequence", str(sequence)),
        ]

    def create(
        self,
        name: str,
        subclass: str | None = None,
        site: tuple[str, str, int] | None = None,
        prefix: list[tuple[str, str]] | None = None,
        sequence: int | None = None,
    ) -> SwitchEvent:
        """A new event with its base headers; ``prefix`` headers come before Event-Name.

        ``sequence``: an Event-Sequence number taken earlier (see ``skip``)."""
        event = SwitchEvent(name=name, subclass=subclass)
        if prefix:
            # Only a sendmsg's headers come first (PRIVATE_COMMAND): the client wrote them.
            event.foreign_headers = True
            event.extend(prefix)
        if subclass:
            event.add("Event-Subclass", subclass)
        event.extend(self.base_headers(name, site, sequence))
        return event

    def fire(self, event: SwitchEvent) -> None:
        for listener in list(self._listeners):
            listener(event)
        if not (self._uuid_routes or self._channel_listeners):
            return
        unique_id, owner = event.routing_ids()
        if self._uuid_routes:
            if unique_id is not None:
                routed = self._uuid_routes.get(unique_id)
                if routed:
                    for listener in list(routed):
                        listener(event)
            # A connection routed by both ids has had the event already.
            if owner is not None and owner != unique_id:
                routed = self._owner_routes.get(owner)
                if routed:
                    for listener in list(routed):
                        listener(event)
        if unique_id is not None and self._channel_listeners:
            for listener in list(self._channel_listeners.get(unique_id, ())):
                listener(event)
