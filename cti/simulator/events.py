"""Events as FreeSWITCH builds them: ordered header lists with duplicates allowed."""

from __future__ import annotations

import time
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass, field

from cti.simulator.clock import Clock

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


@dataclass
class SwitchEvent:
    """One event: its ordered headers (names may repeat) and an optional body."""

    name: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None
    subclass: str | None = None
    _frames: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)

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
                payload = wire.serialize_plain(self.headers, self.body)
            cached = wire.event_frame(payload, format_name)
            self._frames[format_name] = cached
        return cached

    def add(self, name: str, value: str | int | None) -> None:
        if value is None:
            return
        self.headers.append((name, str(value)))

    def extend(self, headers: list[tuple[str, str]]) -> None:
        self.headers.extend(headers)

    def get(self, name: str) -> str | None:
        """First header of that name, compared case-insensitively like FreeSWITCH."""
        lowered = name.lower()
        for header_name, value in self.headers:
            if header_name.lower() == lowered:
                return value
        return None


class EventBus:
    """Numbers events, stamps the base headers and hands them to every listener."""

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
        self._listeners: list[Callable[[SwitchEvent], None]] = []
        self._channel_listeners: dict[str, list[Callable[[SwitchEvent], None]]] = {}

    def subscribe(self, listener: Callable[[SwitchEvent], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[SwitchEvent], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def subscribe_channel(self, uuid: str, listener: Callable[[SwitchEvent], None]) -> None:
        """Call ``listener`` for the events whose Unique-ID is ``uuid`` (cheap per party)."""
        self._channel_listeners.setdefault(uuid, []).append(listener)

    def unsubscribe_channel(self, uuid: str) -> None:
        self._channel_listeners.pop(uuid, None)

    def base_headers(self, name: str, site: tuple[str, str, int] | None = None) -> list:
        self._sequence += 1
        now = self.clock.now()
        local = time.localtime(now)
        gmt = time.gmtime(now)
        file_name, function, line = site or CALLING_SITES.get(name, ("switch_event.c", "", 0))
        return [
            ("Event-Name", name),
            ("Core-UUID", self.core_uuid),
            ("FreeSWITCH-Hostname", self.hostname),
            ("FreeSWITCH-Switchname", self.hostname),
            ("FreeSWITCH-IPv4", self.ipv4),
            ("FreeSWITCH-IPv6", self.ipv6),
            ("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", local)),
            ("Event-Date-GMT", time.strftime("%a, %d %b %Y %H:%M:%S GMT", gmt)),
            ("Event-Date-Timestamp", str(int(now * 1_000_000))),
            ("Event-Calling-File", file_name),
            ("Event-Calling-Function", function),
            ("Event-Calling-Line-Number", str(line)),
            ("Event-Sequence", str(self._sequence)),
        ]

    def create(
        self,
        name: str,
        subclass: str | None = None,
        site: tuple[str, str, int] | None = None,
        prefix: list[tuple[str, str]] | None = None,
    ) -> SwitchEvent:
        """A new event with its base headers; ``prefix`` headers come before Event-Name."""
        event = SwitchEvent(name=name, subclass=subclass)
        if prefix:
            event.extend(prefix)
        if subclass:
            event.add("Event-Subclass", subclass)
        event.extend(self.base_headers(name, site))
        return event

    def fire(self, event: SwitchEvent) -> None:
        for listener in list(self._listeners):
            listener(event)
        if self._channel_listeners:
            unique_id = event.get("Unique-ID")
            if unique_id is not None:
                for listener in list(self._channel_listeners.get(unique_id, ())):
                    listener(event)
