"""Channels and caller profiles, and the channel headers FreeSWITCH puts in events."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
import gevent.queue

from cti.simulator.events import EventBus, SwitchEvent
from cti.simulator.wire import HeaderBlock, url_encode

if TYPE_CHECKING:
    from cti.simulator.clock import Clock

CHANNEL_STATES = [
    "CS_NEW",
    "CS_INIT",
    "CS_ROUTING",
    "CS_SOFT_EXECUTE",
    "CS_EXECUTE",
    "CS_EXCHANGE_MEDIA",
    "CS_PARK",
    "CS_CONSUME_MEDIA",
    "CS_HIBERNATE",
    "CS_RESET",
    "CS_HANGUP",
    "CS_REPORTING",
    "CS_DESTROY",
    "CS_NONE",
]
CALL_STATES = [
    "DOWN",
    "DIALING",
    "RINGING",
    "EARLY",
    "ACTIVE",
    "HELD",
    "RING_WAIT",
    "HANGUP",
    "UNHELD",
]
HANGUP_CAUSE_CODES = {
    "NONE": 0,
    "UNALLOCATED_NUMBER": 1,
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "SUBSCRIBER_ABSENT": 20,
    "CALL_REJECTED": 21,
    "DESTINATION_OUT_OF_ORDER": 27,
    "NORMAL_TEMPORARY_FAILURE": 41,
    "ORIGINATOR_CANCEL": 487,
    "LOSE_RACE": 502,
    "MANAGER_REQUEST": 503,
    "USER_NOT_REGISTERED": 606,
    "ATTENDED_TRANSFER": 601,
    "ALLOTTED_TIMEOUT": 602,
    "RECOVERY_ON_TIMER_EXPIRE": 102,
    "NO_ROUTE_DESTINATION": 3,
    "INVALID_NUMBER_FORMAT": 28,
}

# Events that carry every channel variable (switch_channel_event_set_extended_data).
VARIABLE_EVENTS = frozenset(
    {
        "CHANNEL_CREATE",
        "CHANNEL_ORIGINATE",
        "CHANNEL_UUID",
        "CHANNEL_ANSWER",
        "CHANNEL_PARK",
        "CHANNEL_UNPARK",
        "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "REQUEST_PARAMS",
        "CHANNEL_DATA",
        "CHANNEL_EXECUTE",
        "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_DESTROY",
        "SESSION_HEARTBEAT",
        "API",
        "RECORD_START",
        "RECORD_STOP",
        "PLAYBACK_START",
        "PLAYBACK_STOP",
        "CALL_UPDATE",
        "MEDIA_BUG_START",
        "MEDIA_BUG_STOP",
        "CHANNEL_HOLD",
        "CHANNEL_UNHOLD",
        "TEXT",
        "CUSTOM",
    }
)

TIME_FIELDS = [
    ("Profile-Created-Time", "profile_created"),
    ("Channel-Created-Time", "created"),
    ("Channel-Answered-Time", "answered"),
    ("Channel-Progress-Time", "progress"),
    ("Channel-Progress-Media-Time", "progress_media"),
    ("Channel-Hangup-Time", "hungup"),
    ("Channel-Transfer-Time", "transferred"),
    ("Channel-Resurrect-Time", "resurrected"),
    ("Channel-Bridged-Time", "bridged"),
    ("Channel-Last-Hold", "last_hold"),
    ("Channel-Hold-Accum", "hold_accum"),
]


# CallerProfile.headers' optional fields, in FreeSWITCH's order: (header suffix, attribute).
_PROFILE_FIELDS = (
    ("Username", "username"),
    ("Dialplan", "dialplan"),
    ("Caller-ID-Name", "caller_id_name"),
    ("Caller-ID-Number", "caller_id_number"),
    ("Orig-Caller-ID-Name", "orig_caller_id_name"),
    ("Orig-Caller-ID-Number", "orig_caller_id_number"),
    ("Callee-ID-Name", "callee_id_name"),
    ("Callee-ID-Number", "callee_id_number"),
    ("Network-Addr", "network_addr"),
    ("ANI", "ani"),
    ("Destination-Number", "destination_number"),
    ("Unique-ID", "uuid"),
    ("Source", "source"),
    ("Transfer-Source", "transfer_source"),
    ("Context", "context"),
    ("RDNIS", "rdnis"),
    ("Channel-Name", "chan_name"),
    ("Profile-Index", "profile_index"),
)
_PROFILE_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], list[tuple[str, str]]]] = {}


def _profile_names(prefix: str) -> tuple[tuple[str, ...], tuple[str, ...], list[tuple[str, str]]]:
    """Header names for one prefix: the optional fields, the times, the fixed tail."""
    names = _PROFILE_NAMES.get(prefix)
    if names is None:
        names = _PROFILE_NAMES[prefix] = (
            tuple(f"{prefix}-{suffix}" for suffix, _ in _PROFILE_FIELDS),
            tuple(f"{prefix}-{suffix}" for suffix, _ in TIME_FIELDS),
            [
                (f"{prefix}-Screen-Bit", "true"),
                (f"{prefix}-Privacy-Hide-Name", "false"),
                (f"{prefix}-Privacy-Hide-Number", "false"),
            ],
        )
    return names


@dataclass
class CallerProfile:
    """The switch_caller_profile_t fields that events report."""

    direction: str = "inbound"
    logical_direction: str = "inbound"
    username: str = ""
    dialplan: str = ""
    caller_id_name: str = ""
    caller_id_number: str = ""
    orig_caller_id_name: str = ""
    orig_caller_id_number: str = ""
    callee_id_name: str = ""
    callee_id_number: str = ""
    network_addr: str = ""
    ani: str = ""
    destination_number: str = ""
    uuid: str = ""
    source: str = ""
    transfer_source: str = ""
    context: str = ""
    rdnis: str = ""
    chan_name: str = ""
    profile_index: str = ""
    times: dict[str, int] | None = field(
        default_factory=lambda: {name: 0 for _, name in TIME_FIELDS}
    )

    def __setattr__(self, name: str, value: Any) -> None:
        # Any change of a field drops the header lists built from the old values; times
        # count their own changes (ProfileTimes).
        if name == "times" and value is not None and type(value) is not ProfileTimes:
            value = ProfileTimes(value)
        self.__dict__[name] = value
        self.__dict__["_headers_cache"] = None

    def clone(self) -> CallerProfile:
        copy = CallerProfile(
            **{k: v for k, v in self.__dict__.items() if k not in ("times", "_headers_cache")}
        )
        copy.times = dict(self.times) if self.times else None
        return copy

    def clone_for_other_leg(self) -> CallerProfile:
        """The copy FreeSWITCH keeps as the other leg's profile (no index, no transfer)."""
        copy = self.clone()
        copy.profile_index = ""
        copy.transfer_source = ""
        return copy

    def headers(self, prefix: str) -> list[tuple[str, str]]:
        """The profile's event headers under ``prefix`` (``Caller``, ``Other-Leg``...).

        Built once and reused while no field and no time changes: callers must not
        modify the list (events copy it into their own).
        """
        times = self.times or _NO_TIMES
        times_key = (id(times), times.version)
        cache = self.__dict__.get("_headers_cache")
        if cache is None:
            cache = self.__dict__["_headers_cache"] = {}
        cached = cache.get(prefix)
        if cached is not None and cached[0] == times_key:
            return cached[1]
        field_names, time_names, tail = _profile_names(prefix)
        values = self.__dict__
        out = HeaderBlock()
        out += [
            (f"{prefix}-Direction", self.direction),
            (f"{prefix}-Logical-Direction", self.logical_direction),
        ]
        for header, (_, attribute) in zip(field_names, _PROFILE_FIELDS, strict=True):
            value = values[attribute]
            if not value:
                continue
            # The original caller id is reported only while there is a caller id.
            if attribute == "orig_caller_id_name" and not self.caller_id_name:
                continue
            if attribute == "orig_caller_id_number" and not self.caller_id_number:
                continue
            out.append((header, value))
        out.extend(
            (header, str(times.get(key, 0)))
            for header, (_, key) in zip(time_names, TIME_FIELDS, strict=True)
        )
        out.extend(tail)
        cache[prefix] = (times_key, out)
        return out


class Variables(dict):
    """A channel's variables, keeping their ``variable_*`` event headers up to date.

    ``headers`` (the header tuples) and ``_lines`` (their serialized lines, made when first
    needed) mirror the dict in order: a re-set variable keeps its place in all three, a
    removed one leaves all three. An event takes them as one block instead of formatting
    and encoding every variable again.
    """

    __slots__ = ("headers", "_block", "_lines", "_stale")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.headers: dict[str, tuple[str, str]] = {}
        self._block: HeaderBlock | None = None
        self._lines: dict[str, str | None] = {}
        self._stale: set[str] = set()
        self.update(*args, **kwargs)

    def block(self) -> HeaderBlock:
        """The ``variable_*`` headers now, as a block events share until a variable changes."""
        block = self._block
        if block is None:
            lines = self._lines
            if self._stale:
                headers = self.headers
                for key in self._stale:
                    if lines.get(key, "") is None:
                        name, value = headers[key]
                        lines[key] = f"{name}: {url_encode(value)}\n"
                self._stale.clear()
            block = self._block = HeaderBlock(self.headers.values())
            block.set_plain("".join(lines.values()))  # type: ignore[arg-type]
        return block

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        self.headers[key] = (_variable_header(key), value)
        self._lines[key] = None
        self._stale.add(key)
        self._block = None

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        del self.headers[key]
        del self._lines[key]
        self._block = None

    def pop(self, key: str, *default: Any) -> Any:
        self.headers.pop(key, None)
        self._lines.pop(key, None)
        self._block = None
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, str]:
        item = super().popitem()
        self.headers.pop(item[0], None)
        self._lines.pop(item[0], None)
        self._block = None
        return item

    def clear(self) -> None:
        super().clear()
        self.headers.clear()
        self._lines.clear()
        self._stale.clear()
        self._block = None

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def __ior__(self, other: Any) -> Variables:
        self.update(other)
        return self


_VARIABLE_HEADERS: dict[str, str] = {}


def _variable_header(name: str) -> str:
    header = _VARIABLE_HEADERS.get(name)
    if header is None:
        if len(_VARIABLE_HEADERS) > 50_000:
            _VARIABLE_HEADERS.clear()
        header = _VARIABLE_HEADERS[name] = f"variable_{name}"
    return header


class ProfileTimes(dict):
    """A caller profile's times; ``version`` changes with them (the header cache's key)."""

    __slots__ = ("version",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = 0

    def __setitem__(self, key: str, value: int) -> None:
        super().__setitem__(key, value)
        self.version += 1

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.version += 1

    def pop(self, *args: Any) -> Any:
        self.version += 1
        return super().pop(*args)

    def popitem(self) -> tuple[str, int]:
        self.version += 1
        return super().popitem()

    def clear(self) -> None:
        super().clear()
        self.version += 1

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.version += 1

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.version += 1
        return super().setdefault(key, default)

    def __ior__(self, other: Any) -> ProfileTimes:
        self.version += 1
        return super().__ior__(other)


# The times of a profile that has none (all zero); never changed.
_NO_TIMES = ProfileTimes({name: 0 for _, name in TIME_FIELDS})


class Hangup(Exception):
    """Raised inside an application when its channel has hung up."""


class Channel:
    """One call leg: its state, caller profile, variables and signalling queues."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        uuid: str,
        name: str,
        direction: str,
    ) -> None:
        self.bus = bus
        self.clock = clock
        self.uuid = uuid
        self.name = name
        self.direction = direction
        self.caller_profile: CallerProfile | None = None
        self.other_profile: CallerProfile | None = None
        self.other_type: str | None = None
        self.variables: dict[str, str] = Variables()
        self.state = 0
        self.running_state = "CS_NEW"
        self.callstate = "DOWN"
        self.answered = False
        self.early_media = False
        self.ring_ready = False
        self.codec_ready = False
        self.hit_dialplan = direction == "inbound"
        self.hangup_cause: str | None = None
        self.down = False
        self.destroyed = gevent.event.Event()
        self.hungup = gevent.event.Event()
        self.partner: Channel | None = None
        self.held = False
        self.private_events: gevent.queue.Queue = gevent.queue.Queue()
        self.session_events: deque[SwitchEvent] = deque()
        self.dtmf_buffer: deque[str] = deque()
        self.wakeup = gevent.event.Event()
        self.break_requested = False
        self.transfer_target: tuple[str, str, str] | None = None
        # Set when this B leg is transferred out of a bridge: the A leg's bridge ends.
        self.left_bridge = False
        self.bridged_as_b = False
        self.bridge_request: Channel | None = None
        self.destroy_holds = 0
        self.destroy_release = gevent.event.Event()
        self.destroy_release.set()
        self.listeners: list[Any] = []
        self.media_bugs: dict[str, Any] = {}
        self.created_us = clock.now_us()
        self.created_time = time.time()
        self.party: Any = None
        self.in_park = False
        # CF_CONTROLLED: set by a park, cleared when an outbound socket holding the call ends.
        self.controlled = False
        self.current_app: str | None = None
        self.broadcast: tuple[str, str] | None = None
        self.eavesdrop_commands: deque[str] = deque()
        self.greenlet: gevent.Greenlet | None = None
        self.pending_apps: list[tuple[str, str]] | None = None
        self.bridge_role: str | None = None
        self.answer_waiters: list[gevent.event.Event] = []
        self.conference: Any = None
        self.eavesdrop_target: Channel | None = None
        self.eavesdrop_mode = "listen"
        self.broadcast_greenlet: gevent.Greenlet | None = None
        self.stop_broadcast = False
        # The application running was sent with event-lock (see Switch._parse_private).
        self.event_locked = False
        self.originator: Channel | None = None
        self.db_row: dict[str, str] | None = None
        self.unlisted_at: float | None = None

    # -- variables -------------------------------------------------------------------
    def set_variable(self, name: str, value: str | int | None) -> None:
        """Set (or with None unset) a variable; a re-set moves it to the end like FreeSWITCH."""
        self.variables.pop(name, None)
        if value is not None:
            self.variables[name] = str(value)

    def get_variable(self, name: str, default: str | None = None) -> str | None:
        return self.variables.get(name, default)

    # -- state -----------------------------------------------------------------------
    @property
    def up(self) -> bool:
        return not self.down

    @property
    def media_ready(self) -> bool:
        return self.answered or self.early_media

    def answer_state(self) -> str:
        if self.down:
            return "hangup"
        if self.answered:
            return "answered"
        if self.early_media:
            return "early"
        return "ringing"

    def basic_headers(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for part in self._basic_parts():
            out.extend(part)
        return out

    def _basic_parts(self) -> list[list[tuple[str, str]]]:
        """switch_channel_event_set_basic_data's headers, the profiles as their blocks."""
        out = [
            ("Channel-State", self.running_state),
            ("Channel-Call-State", self.callstate),
            ("Channel-State-Number", str(self.state)),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            ("Channel-HIT-Dialplan", "true" if self.hit_dialplan else "false"),
        ]
        presence_id = self.variables.get("presence_id")
        if presence_id:
            out.append(("Channel-Presence-ID", presence_id))
        out.append(("Channel-Call-UUID", self.variables.get("call_uuid", self.uuid)))
        out.append(("Answer-State", self.answer_state()))
        if self.hangup_cause:
            out.append(("Hangup-Cause", self.hangup_cause))
        if self.codec_ready:
            out.extend(
                [
                    ("Channel-Read-Codec-Name", "PCMU"),
                    ("Channel-Read-Codec-Rate", "8000"),
                    ("Channel-Read-Codec-Bit-Rate", "64000"),
                    ("Channel-Write-Codec-Name", "PCMU"),
                    ("Channel-Write-Codec-Rate", "8000"),
                    ("Channel-Write-Codec-Bit-Rate", "64000"),
                ]
            )
        parts = [out]
        if self.caller_profile:
            parts.append(self.caller_profile.headers("Caller"))
        if self.other_profile and self.other_type:
            parts.append([("Other-Type", self.other_type)])
            parts.append(self.other_profile.headers("Other-Leg"))
        return parts

    def variable_headers(self) -> list[tuple[str, str]]:
        variables = self.variables
        if isinstance(variables, Variables):
            return variables.block()
        return [(_variable_header(name), value) for name, value in variables.items()]

    def make_event(
        self,
        name: str,
        before: list[tuple[str, str]] | None = None,
        after: list[tuple[str, str]] | None = None,
        subclass: str | None = None,
        site: tuple[str, str, int] | None = None,
        prefix: list[tuple[str, str]] | None = None,
        with_variables: bool | None = None,
        sequence: int | None = None,
    ) -> SwitchEvent:
        event = self.bus.create(
            name, subclass=subclass, site=site, prefix=prefix, sequence=sequence
        )
        if before:
            event.extend(before)
        for part in self._basic_parts():
            event.extend(part)
        if with_variables is None:
            with_variables = name in VARIABLE_EVENTS
        if with_variables:
            event.extend(self.variable_headers())
        if after:
            event.extend(after)
        return event

    def fire(self, name: str, **kwargs: Any) -> SwitchEvent | None:
        """Fire a channel event; None when nobody could receive it, so it was not built.

        Nobody: no ESL connection subscribed to its kind (for this channel) and no party
        following the channel. It still takes its Event-Sequence number.
        """
        bus = self.bus
        uuid = self.uuid
        if not bus.may_be_taken(name, kwargs.get("subclass"), uuid):
            if not bus.channel_follows(uuid, name):
                bus.skip()
                return None
            # Only parties follow it: built if one reads its headers while it is called.
            sequence = bus.skip()
            event = SwitchEvent.deferred(
                name,
                kwargs.get("subclass"),
                uuid,
                lambda: self.make_event(name, sequence=sequence, **kwargs),
            )
            bus.fire(event)
            return event
        event = self.make_event(name, **kwargs)
        bus.fire(event)
        return event

    def set_running_state(self, running_state: str, number: int | None = None) -> None:
        self.running_state = running_state
        self.state = CHANNEL_STATES.index(running_state) if number is None else number
        self.fire("CHANNEL_STATE")

    def set_callstate(self, callstate: str) -> None:
        original = self.callstate
        if original == callstate:
            return
        self.callstate = callstate
        self.fire(
            "CHANNEL_CALLSTATE",
            before=[
                ("Original-Channel-Call-State", original),
                ("Channel-Call-State-Number", str(CALL_STATES.index(callstate))),
            ],
        )

    def set_time(self, key: str, value: int | None = None) -> None:
        if self.caller_profile and self.caller_profile.times is not None:
            self.caller_profile.times[key] = self.clock.now_us() if value is None else value

    def get_time(self, key: str) -> int:
        if self.caller_profile and self.caller_profile.times:
            return self.caller_profile.times.get(key, 0)
        return 0

    # -- signalling ------------------------------------------------------------------
    def signal(self) -> None:
        self.wakeup.set()

    def wait(
        self,
        seconds: float | None,
        until_dtmf: bool = False,
        until_private: bool = False,
        until: Callable[[], bool] | None = None,
    ) -> str:
        """Wait simulated ``seconds`` (None = forever); returns why the wait ended.

        Reasons: ``timeout``, ``hangup``, ``break`` (uuid_break, transfer, bridge,
        broadcast), ``dtmf`` (only with ``until_dtmf``), ``private`` (a sendmsg arrived),
        ``condition`` (``until`` became true; checked whenever the channel is signalled).
        """
        deadline = None if seconds is None else time.monotonic() + self.clock.real_seconds(seconds)
        while True:
            if self.down:
                return "hangup"
            if self.break_requested:
                return "break"
            if until_dtmf and self.dtmf_buffer:
                return "dtmf"
            if until_private and not self.private_events.empty():
                return "private"
            if self.pending_work():
                return "break"
            if until is not None and until():
                return "condition"
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return "timeout"
            self.wakeup.clear()
            if self.down or self.break_requested or (until_dtmf and self.dtmf_buffer):
                continue
            if until_private and not self.private_events.empty():
                continue
            self.wakeup.wait(timeout=remaining)

    def pending_work(self) -> bool:
        """A transfer or uuid_bridge is waiting: the running application must end."""
        return self.transfer_target is not None or self.bridge_request is not None

    def sleep_while_up(self, seconds: float) -> bool:
        """Sleep simulated ``seconds`` unless the channel hangs up; True if it stayed up.

        For the far end (parties and endpoints): unlike :meth:`wait`, breaks and transfers
        of the channel do not cut the sleep short.
        """
        if self.down:
            return False
        return not self.hungup.wait(timeout=self.clock.real_seconds(seconds))

    def hold_destroy(self) -> None:
        self.destroy_holds += 1
        self.destroy_release.clear()

    def release_destroy(self) -> None:
        self.destroy_holds = max(0, self.destroy_holds - 1)
        if self.destroy_holds == 0:
            self.destroy_release.set()
