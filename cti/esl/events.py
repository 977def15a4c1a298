"""Typed FreeSWITCH events, parsed once at the edge.

:func:`parse_event` turns an event :class:`~cti.esl.frames.Frame` (``text/event-plain``,
``text/event-json``, ``text/event-xml``, or the outbound ``connect`` reply that carries the
channel as headers) into an :class:`Event` subclass chosen by ``Event-Name``. Nothing past
this module reads ESL header strings: the daemon uses the typed properties.

Plain events are not split into a dict up front. A busy switch sends events of 4-10 KB with
200+ headers each and the daemon reads a handful of them, so single headers are found with
a byte search in the raw block and URL-decoded on first access; the whole block is split
only when someone iterates the headers or asks for many of them.

Duplicate header names (CODEC, conference events, the re-fired COMMAND event) resolve to
the FIRST occurrence, as FreeSWITCH's own ``switch_event_get_header`` does; the JSON form
is read the same way although ``json.loads`` alone would keep the last.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree import ElementTree

from cti.esl.frames import Frame, ParserStats, parse_header_lines, percent_decode

logger = logging.getLogger(__name__)

# Every event name FreeSWITCH 1.10 can fire (switch_event.c EVENT_NAMES); anything else is
# counted as unknown.
KNOWN_EVENT_NAMES = frozenset(
    """
    CUSTOM CLONE CHANNEL_CREATE CHANNEL_DESTROY CHANNEL_STATE CHANNEL_CALLSTATE CHANNEL_ANSWER
    CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE
    CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_PROGRESS
    CHANNEL_PROGRESS_MEDIA CHANNEL_OUTGOING CHANNEL_PARK CHANNEL_UNPARK CHANNEL_APPLICATION
    CHANNEL_ORIGINATE CHANNEL_UUID API LOG INBOUND_CHAN OUTBOUND_CHAN STARTUP SHUTDOWN PUBLISH
    UNPUBLISH TALK NOTALK SESSION_CRASH MODULE_LOAD MODULE_UNLOAD DTMF MESSAGE PRESENCE_IN
    NOTIFY_IN PRESENCE_OUT PRESENCE_PROBE MESSAGE_WAITING MESSAGE_QUERY ROSTER CODEC
    BACKGROUND_JOB DETECTED_SPEECH DETECTED_TONE PRIVATE_COMMAND HEARTBEAT TRAP ADD_SCHEDULE
    DEL_SCHEDULE EXE_SCHEDULE RE_SCHEDULE RELOADXML NOTIFY PHONE_FEATURE
    PHONE_FEATURE_SUBSCRIBE SEND_MESSAGE RECV_MESSAGE REQUEST_PARAMS CHANNEL_DATA GENERAL
    COMMAND SESSION_HEARTBEAT CLIENT_DISCONNECTED SERVER_DISCONNECTED SEND_INFO RECV_INFO
    RECV_RTCP_MESSAGE SEND_RTCP_MESSAGE CALL_SECURE NAT RECORD_START RECORD_STOP
    PLAYBACK_START PLAYBACK_STOP CALL_UPDATE FAILURE SOCKET_DATA MEDIA_BUG_START MEDIA_BUG_STOP
    CONFERENCE_DATA_QUERY CONFERENCE_DATA CALL_SETUP_REQ CALL_SETUP_RESULT CALL_DETAIL
    DEVICE_STATE TEXT REAL_TIME_TEXT SHUTDOWN_REQUESTED
    """.split()
)

# After this many single-header searches in one plain event, splitting the whole block
# once is cheaper than searching again.
_SEARCHES_BEFORE_SPLIT = 12


class EventParseError(ValueError):
    """The frame claims to be an event but cannot be read as one (counted and logged)."""


@functools.lru_cache(maxsize=4096)
def _search_pattern(name: str) -> bytes:
    return b"\n" + name.encode() + b": "


def _split_encoded_block(text: str) -> dict[str, str]:
    """Split a URL-encoded header block into a first-wins dict of raw values.

    Values of an encoded block never contain ": " or a newline (both are encoded), so one
    replace and one split give alternating names and values; anything else falls back to
    the line-by-line parser.
    """
    items = text.replace(": ", "\n").split("\n")
    line_count = text.count("\n") + 1
    if len(items) != 2 * line_count:
        return parse_header_lines(text)[0]
    names = items[0::2]
    values = items[1::2]
    headers = dict(zip(names, values))
    if len(headers) != line_count:
        headers = {}
        for name, value in zip(names, values):
            headers.setdefault(name, value)
    return headers


class PlainEventHeaders(Mapping[str, str]):
    """Headers of a ``text/event-plain`` body, found and URL-decoded on demand.

    The body is a header block, a blank line, then an optional inner body. Finding the
    blank line costs a scan of the whole body (many newlines defeat the fast substring
    search), so it is not looked for up front: a header found at offset N is accepted once
    no blank line is known to come before N, and that check only ever scans forward from
    where the last one stopped.
    Lookups are case-sensitive (FreeSWITCH writes canonical names).
    """

    __slots__ = ("_data", "_end", "_clean", "_raw", "_decoded", "_stats", "_searches")

    def __init__(self, data: bytes, stats: ParserStats | None = None) -> None:
        self._data = data
        # Offset of the blank line ending the header block, once known.
        self._end: int | None = None
        # No blank line starts before this offset.
        self._clean = 0
        self._raw: dict[str, str] | None = None
        self._decoded: dict[str, str | None] = {}
        self._stats = stats
        self._searches = 0

    def block_end(self) -> int:
        """Offset where the header block ends (its blank line, or the end of the data)."""
        if self._end is None:
            index = self._data.find(b"\n\n", max(self._clean - 1, 0))
            self._end = index if index >= 0 else len(self._data.rstrip(b"\n"))
        return self._end

    def inner_body(self) -> bytes:
        """What follows the blank line (BACKGROUND_JOB output), ``b""`` when nothing does."""
        return self._data[self.block_end() + 2 :]

    def _in_block(self, offset: int) -> bool:
        if self._end is not None:
            return offset < self._end
        if offset <= self._clean:
            return True
        # offset points at the newline before a header name; a blank line ending right at
        # offset + 1 would make that "header" the first line of the inner body.
        index = self._data.find(b"\n\n", max(self._clean - 1, 0), offset + 1)
        if index >= 0:
            self._end = index
            return offset < index
        self._clean = offset
        return True

    def raw(self, name: str) -> str | None:
        """The value as received (still URL-encoded), or None."""
        if self._raw is not None:
            return self._raw.get(name)
        self._searches += 1
        if self._searches > _SEARCHES_BEFORE_SPLIT:
            return self._split().get(name)
        pattern = _search_pattern(name)
        data = self._data
        if data.startswith(pattern[1:]):
            start = len(pattern) - 1
        else:
            start = data.find(pattern)
            if start < 0 or not self._in_block(start):
                return None
            start += len(pattern)
        end = data.find(b"\n", start)
        return data[start : end if end >= 0 else len(data)].decode("utf-8", "replace")

    def _split(self) -> dict[str, str]:
        if self._raw is None:
            block = self._data[: self.block_end()]
            self._raw = _split_encoded_block(block.decode("utf-8", "replace"))
        return self._raw

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        try:
            value = self._decoded[name]
        except KeyError:
            raw = self.raw(name)
            value = None if raw is None else percent_decode(raw, self._stats)
            self._decoded[name] = value
        return default if value is None else value

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._split())

    def __len__(self) -> int:
        return len(self._split())


class JsonEventHeaders(Mapping[str, str]):
    """Headers of a ``text/event-json`` body.

    ``json.loads`` of a typical 8 KB event costs more than the rest of the edge together, so
    string values are first looked up by a byte search for ``"Name":"``; the document is
    decoded only for values with escapes, missing names, iteration, or the body. Duplicate
    keys resolve first-wins, like the plain format.
    """

    __slots__ = ("_data", "_values", "_body", "_stats")

    def __init__(self, data: bytes, stats: ParserStats | None = None) -> None:
        self._data = data
        self._values: dict[str, str] | None = None
        self._body = b""
        self._stats = stats

    def _decode(self) -> dict[str, str]:
        if self._values is None:
            try:
                self._values, self._body = _decode_json_event(self._data)
            except EventParseError as error:
                # Reached only when a lookup needs the full document after parse_event
                # accepted the frame: count and log it, and behave as an empty event.
                if self._stats is not None:
                    self._stats.bad_events += 1
                logger.warning("unparseable ESL JSON event: %s", error)
                self._values, self._body = {}, b""
        return self._values

    def inner_body(self) -> bytes:
        """The ``_body`` member (BACKGROUND_JOB output), ``b""`` when absent."""
        self._decode()
        return self._body

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        if self._values is None:
            data = self._data
            pattern = _json_pattern(name)
            index = data.find(pattern)
            # A key is preceded by "{" or ","; inside a string the quote would be escaped.
            if index > 0 and data[index - 1] in b"{,":
                start = index + len(pattern)
                end = data.find(b'"', start)
                value = data[start:end]
                if end > 0 and b"\\" not in value:
                    return value.decode("utf-8", "replace")
        return self._decode().get(name, default)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._decode())

    def __len__(self) -> int:
        return len(self._decode())


@functools.lru_cache(maxsize=4096)
def _json_pattern(name: str) -> bytes:
    return json.dumps(name).encode() + b':"'


class DecodedHeaders(Mapping[str, str]):
    """Headers that arrived already decoded (XML events, hand-built events)."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._values.get(name, default)

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _to_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def split_array(value: str | None) -> list[str]:
    """``ARRAY::a|:b`` (how FreeSWITCH writes array variables in plain events) -> [a, b]."""
    if value is None:
        return []
    if value.startswith("ARRAY::"):
        return value[7:].split("|:")
    return [value]


class Event:
    """A FreeSWITCH event. Subclasses add typed properties for their family.

    ``headers`` is a read-only mapping (values URL-decoded lazily); ``body`` is the event
    body (BACKGROUND_JOB output, ``_body`` of JSON events), ``b""`` when there is none.
    Properties return None when FreeSWITCH did not send the header.
    """

    __slots__ = ("name", "subclass", "content_type", "_headers", "_body")

    def __init__(
        self,
        name: str,
        headers: Mapping[str, str],
        body: bytes | None = b"",
        subclass: str = "",
        content_type: str = "text/event-plain",
    ) -> None:
        self.name = name
        self.subclass = subclass
        self.content_type = content_type
        self._headers = headers
        # None: the header store finds the body when first asked (see PlainEventHeaders).
        self._body = body

    @property
    def body(self) -> bytes:
        if self._body is None:
            headers = self._headers
            if isinstance(headers, (PlainEventHeaders, JsonEventHeaders)):
                self._body = headers.inner_body()
            else:
                self._body = b""
        return self._body

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    def get(self, name: str, default: str | None = None) -> str | None:
        """One header value, URL-decoded."""
        return self._headers.get(name, default)

    def variable(self, name: str) -> str | None:
        """Channel variable ``name`` (the ``variable_<name>`` header)."""
        return self._headers.get("variable_" + name)

    def variable_list(self, name: str) -> list[str]:
        """An array channel variable as a list (a plain variable gives a one-item list)."""
        return split_array(self.variable(name))

    @property
    def unique_id(self) -> str | None:
        return self._headers.get("Unique-ID")

    @property
    def sequence(self) -> int | None:
        """``Event-Sequence``: one global counter in FreeSWITCH; gaps are filtered events."""
        return _to_int(self._headers.get("Event-Sequence"))

    @property
    def timestamp_us(self) -> int | None:
        """``Event-Date-Timestamp`` in microseconds since the epoch."""
        return _to_int(self._headers.get("Event-Date-Timestamp"))

    @property
    def core_uuid(self) -> str | None:
        return self._headers.get("Core-UUID")

    @property
    def body_text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __repr__(self) -> str:
        label = f"{self.name} {self.subclass}" if self.subclass else self.name
        return f"<{type(self).__name__} {label} {self.unique_id or ''}>"


class ChannelEvent(Event):
    """An event that carries a channel's headers (Unique-ID, Caller-*, Channel-*)."""

    __slots__ = ()

    @property
    def channel_name(self) -> str | None:
        return self._headers.get("Channel-Name")

    @property
    def channel_state(self) -> str | None:
        """``CS_NEW``, ``CS_EXECUTE``, ``CS_HANGUP``..."""
        return self._headers.get("Channel-State")

    @property
    def channel_state_number(self) -> int | None:
        return _to_int(self._headers.get("Channel-State-Number"))

    @property
    def call_state(self) -> str | None:
        """``DOWN``, ``RINGING``, ``EARLY``, ``ACTIVE``, ``HELD``, ``HANGUP``..."""
        return self._headers.get("Channel-Call-State")

    @property
    def answer_state(self) -> str | None:
        """``ringing``, ``early``, ``answered``, ``hangup``."""
        return self._headers.get("Answer-State")

    @property
    def call_direction(self) -> str | None:
        return self._headers.get("Call-Direction")

    @property
    def call_uuid(self) -> str | None:
        """``Channel-Call-UUID``: the uuid shared by the legs of one call."""
        return self._headers.get("Channel-Call-UUID")

    @property
    def caller_number(self) -> str | None:
        return self._headers.get("Caller-Caller-ID-Number")

    @property
    def caller_name(self) -> str | None:
        return self._headers.get("Caller-Caller-ID-Name")

    @property
    def callee_number(self) -> str | None:
        return self._headers.get("Caller-Callee-ID-Number")

    @property
    def destination_number(self) -> str | None:
        return self._headers.get("Caller-Destination-Number")

    @property
    def context(self) -> str | None:
        return self._headers.get("Caller-Context")

    @property
    def other_leg_uuid(self) -> str | None:
        return self._headers.get("Other-Leg-Unique-ID")

    @property
    def hangup_cause(self) -> str | None:
        return self._headers.get("Hangup-Cause") or self._headers.get("variable_hangup_cause")

    @property
    def application(self) -> str | None:
        return self._headers.get("Application")

    @property
    def application_data(self) -> str | None:
        return self._headers.get("Application-Data")

    @property
    def application_response(self) -> str | None:
        """Stale for many apps (it is a channel variable left by the last app that set it)."""
        return self._headers.get("Application-Response")

    @property
    def application_uuid(self) -> str | None:
        """Echo of the ``Event-UUID`` a sendmsg carried, matching EXECUTE to EXECUTE_COMPLETE."""
        return self._headers.get("Application-UUID")


class ChannelCreate(ChannelEvent):
    __slots__ = ()


class ChannelProgress(ChannelEvent):
    __slots__ = ()


class ChannelProgressMedia(ChannelEvent):
    __slots__ = ()


class ChannelAnswer(ChannelEvent):
    __slots__ = ()


class ChannelBridge(ChannelEvent):
    __slots__ = ()

    @property
    def bridge_a_uuid(self) -> str | None:
        return self._headers.get("Bridge-A-Unique-ID")

    @property
    def bridge_b_uuid(self) -> str | None:
        return self._headers.get("Bridge-B-Unique-ID")


class ChannelUnbridge(ChannelBridge):
    __slots__ = ()


class ChannelPark(ChannelEvent):
    __slots__ = ()


class ChannelUnpark(ChannelEvent):
    __slots__ = ()


class ChannelHangup(ChannelEvent):
    __slots__ = ()


class ChannelHangupComplete(ChannelEvent):
    __slots__ = ()

    @property
    def billsec(self) -> int | None:
        return _to_int(self.variable("billsec"))

    @property
    def duration(self) -> int | None:
        return _to_int(self.variable("duration"))


class ChannelDestroy(ChannelEvent):
    __slots__ = ()


class ChannelState(ChannelEvent):
    __slots__ = ()


class ChannelCallstate(ChannelEvent):
    __slots__ = ()

    @property
    def original_call_state(self) -> str | None:
        return self._headers.get("Original-Channel-Call-State")


class ChannelExecute(ChannelEvent):
    __slots__ = ()


class ChannelExecuteComplete(ChannelExecute):
    __slots__ = ()


class ChannelHold(ChannelEvent):
    __slots__ = ()


class ChannelUnhold(ChannelEvent):
    __slots__ = ()


class ChannelOriginate(ChannelEvent):
    __slots__ = ()


class ChannelOutgoing(ChannelEvent):
    __slots__ = ()


class ChannelData(ChannelEvent):
    """The channel as the outbound socket's ``connect`` reply (or CHANNEL_DATA) shows it."""

    __slots__ = ()


class Dtmf(ChannelEvent):
    __slots__ = ()

    @property
    def digit(self) -> str | None:
        return self._headers.get("DTMF-Digit")

    @property
    def dtmf_duration(self) -> int | None:
        return _to_int(self._headers.get("DTMF-Duration"))

    @property
    def dtmf_source(self) -> str | None:
        """``RTP`` (RFC 2833), ``INBAND_AUDIO``, ``ENDPOINT``..."""
        return self._headers.get("DTMF-Source")


class PlaybackStart(ChannelEvent):
    __slots__ = ()

    @property
    def file_path(self) -> str | None:
        return self._headers.get("Playback-File-Path")


class PlaybackStop(PlaybackStart):
    __slots__ = ()

    @property
    def playback_status(self) -> str | None:
        return self._headers.get("Playback-Status")


class RecordStart(ChannelEvent):
    __slots__ = ()

    @property
    def file_path(self) -> str | None:
        return self._headers.get("Record-File-Path")


class RecordStop(RecordStart):
    __slots__ = ()


class BackgroundJob(Event):
    """Result of a ``bgapi`` command; the command's output is the body."""

    __slots__ = ()

    @property
    def job_uuid(self) -> str | None:
        return self._headers.get("Job-UUID")

    @property
    def job_command(self) -> str | None:
        return self._headers.get("Job-Command")

    @property
    def job_command_arg(self) -> str | None:
        return self._headers.get("Job-Command-Arg")

    @property
    def result(self) -> str:
        return self.body_text

    @property
    def is_error(self) -> bool:
        """FreeSWITCH reports a failed job (``-ERR NO_ANSWER``, ``-ERR USER_BUSY``) in its body."""
        return self.body.startswith(b"-ERR")


class Heartbeat(Event):
    __slots__ = ()

    @property
    def uptime_msec(self) -> int | None:
        return _to_int(self._headers.get("Uptime-msec"))

    @property
    def session_count(self) -> int | None:
        return _to_int(self._headers.get("Session-Count"))

    @property
    def max_sessions(self) -> int | None:
        return _to_int(self._headers.get("Max-Sessions"))

    @property
    def idle_cpu(self) -> float | None:
        value = self._headers.get("Idle-CPU")
        try:
            return None if value is None else float(value)
        except ValueError:
            return None

    @property
    def version(self) -> str | None:
        return self._headers.get("FreeSWITCH-Version")


class Api(Event):
    """Fired when an ``api``/``bgapi`` command (or a dialplan ``${api()}``) has finished."""

    __slots__ = ()

    @property
    def api_command(self) -> str | None:
        return self._headers.get("API-Command")

    @property
    def api_command_argument(self) -> str | None:
        return self._headers.get("API-Command-Argument")


class CustomEvent(ChannelEvent):
    """A CUSTOM event; ``subclass`` names it. Member/agent events carry channel headers."""

    __slots__ = ()


class ConferenceMaintenance(CustomEvent):
    __slots__ = ()

    @property
    def action(self) -> str | None:
        """conference-create, add-member, del-member, mute-member, kick-member..."""
        return self._headers.get("Action")

    @property
    def conference_name(self) -> str | None:
        return self._headers.get("Conference-Name")

    @property
    def conference_uuid(self) -> str | None:
        return self._headers.get("Conference-Unique-ID")

    @property
    def conference_size(self) -> int | None:
        return _to_int(self._headers.get("Conference-Size"))

    @property
    def member_id(self) -> str | None:
        return self._headers.get("Member-ID")

    @property
    def member_type(self) -> str | None:
        return self._headers.get("Member-Type")


class CallcenterInfo(CustomEvent):
    __slots__ = ()

    @property
    def cc_action(self) -> str | None:
        """agent-add, agent-status-change, member-queue-start, bridge-agent-start..."""
        return self._headers.get("CC-Action")

    @property
    def queue(self) -> str | None:
        return self._headers.get("CC-Queue")

    @property
    def agent(self) -> str | None:
        return self._headers.get("CC-Agent")

    @property
    def agent_status(self) -> str | None:
        return self._headers.get("CC-Agent-Status")

    @property
    def agent_state(self) -> str | None:
        return self._headers.get("CC-Agent-State")

    @property
    def agent_uuid(self) -> str | None:
        return self._headers.get("CC-Agent-UUID")

    @property
    def member_uuid(self) -> str | None:
        return self._headers.get("CC-Member-UUID")

    @property
    def member_session_uuid(self) -> str | None:
        return self._headers.get("CC-Member-Session-UUID")

    @property
    def cc_hangup_cause(self) -> str | None:
        return self._headers.get("CC-Hangup-Cause")

    @property
    def cc_cause(self) -> str | None:
        return self._headers.get("CC-Cause")


class UnknownEvent(Event):
    """An ``Event-Name`` FreeSWITCH 1.10 does not define; returned, counted, never dropped."""

    __slots__ = ()


EVENT_CLASSES: Mapping[str, type[Event]] = {
    "CHANNEL_CREATE": ChannelCreate,
    "CHANNEL_PROGRESS": ChannelProgress,
    "CHANNEL_PROGRESS_MEDIA": ChannelProgressMedia,
    "CHANNEL_ANSWER": ChannelAnswer,
    "CHANNEL_BRIDGE": ChannelBridge,
    "CHANNEL_UNBRIDGE": ChannelUnbridge,
    "CHANNEL_PARK": ChannelPark,
    "CHANNEL_UNPARK": ChannelUnpark,
    "CHANNEL_HANGUP": ChannelHangup,
    "CHANNEL_HANGUP_COMPLETE": ChannelHangupComplete,
    "CHANNEL_DESTROY": ChannelDestroy,
    "CHANNEL_STATE": ChannelState,
    "CHANNEL_CALLSTATE": ChannelCallstate,
    "CHANNEL_EXECUTE": ChannelExecute,
    "CHANNEL_EXECUTE_COMPLETE": ChannelExecuteComplete,
    "CHANNEL_HOLD": ChannelHold,
    "CHANNEL_UNHOLD": ChannelUnhold,
    "CHANNEL_ORIGINATE": ChannelOriginate,
    "CHANNEL_OUTGOING": ChannelOutgoing,
    "CHANNEL_DATA": ChannelData,
    "DTMF": Dtmf,
    "PLAYBACK_START": PlaybackStart,
    "PLAYBACK_STOP": PlaybackStop,
    "RECORD_START": RecordStart,
    "RECORD_STOP": RecordStop,
    "BACKGROUND_JOB": BackgroundJob,
    "HEARTBEAT": Heartbeat,
    "API": Api,
    # Known events without a dedicated class that still describe one channel.
    "CHANNEL_APPLICATION": ChannelEvent,
    "CHANNEL_UUID": ChannelEvent,
    "CODEC": ChannelEvent,
    "CALL_UPDATE": ChannelEvent,
    "PRESENCE_IN": ChannelEvent,
    "PRIVATE_COMMAND": ChannelEvent,
    "COMMAND": ChannelEvent,
    "MEDIA_BUG_START": ChannelEvent,
    "MEDIA_BUG_STOP": ChannelEvent,
    "TALK": ChannelEvent,
    "NOTALK": ChannelEvent,
    "DETECTED_SPEECH": ChannelEvent,
    "DETECTED_TONE": ChannelEvent,
}

CUSTOM_CLASSES: Mapping[str, type[Event]] = {
    "conference::maintenance": ConferenceMaintenance,
    "callcenter::info": CallcenterInfo,
}


def event_class(name: str, subclass: str = "") -> type[Event]:
    """The class :func:`parse_event` uses for this name (and CUSTOM subclass)."""
    if name == "CUSTOM":
        return CUSTOM_CLASSES.get(subclass, CustomEvent)
    found = EVENT_CLASSES.get(name)
    if found is not None:
        return found
    return Event if name in KNOWN_EVENT_NAMES else UnknownEvent


def parse_event(frame: Frame) -> Event:
    """Build the typed event carried by ``frame``.

    Counts into ``frame.stats``: ``events`` for every event returned, ``unknown_events``
    for names FreeSWITCH does not define (still returned, as :class:`UnknownEvent`), and
    ``bad_events`` for frames that cannot be read as an event: those are logged and raise
    :class:`EventParseError`, which callers skip.
    """
    stats = frame.stats
    try:
        if frame.content_type == "text/event-plain":
            event = _parse_plain(frame.body, stats)
        else:
            event = _parse(frame, stats)
    except EventParseError as error:
        stats.bad_events += 1
        logger.warning("unparseable ESL event (%s): %s", frame.content_type, error)
        raise
    stats.events += 1
    if type(event) is UnknownEvent:
        stats.unknown_events += 1
        logger.info("unknown ESL event name %r", event.name)
    return event


def _parse(frame: Frame, stats: ParserStats) -> Event:
    content_type = frame.content_type
    if content_type == "text/event-plain":
        return _parse_plain(frame.body, stats)
    if content_type == "text/event-json":
        return _parse_json(frame.body, stats)
    if content_type == "text/event-xml":
        return _parse_xml(frame.body, stats)
    if "Event-Name" in frame.raw_headers:
        # The outbound connect reply: the channel is in the outer headers, no body.
        headers = frame.headers
        name = headers.get("Event-Name") or ""
        return _build(name, headers.get("Event-Subclass") or "", headers, frame.body, content_type)
    raise EventParseError(f"frame of type {content_type!r} is not an event")


def _build(
    name: str, subclass: str, headers: Mapping[str, str], body: bytes | None, content_type: str
) -> Event:
    if not name:
        raise EventParseError("no Event-Name header")
    # event_class() inlined: this runs for every event.
    if name == "CUSTOM":
        cls = CUSTOM_CLASSES.get(subclass, CustomEvent)
    else:
        cls = EVENT_CLASSES.get(name) or (Event if name in KNOWN_EVENT_NAMES else UnknownEvent)
    return cls(name, headers, body, subclass, content_type)


def _parse_plain(body: bytes, stats: ParserStats) -> Event:
    if not body.strip(b"\n"):
        raise EventParseError("empty event body")
    headers = PlainEventHeaders(body, stats)
    if body.startswith(b"Event-Name: "):
        line_end = body.find(b"\n")
        name = body[12 : line_end if line_end >= 0 else len(body)].decode("ascii", "replace")
    else:
        name = headers.get("Event-Name") or ""
    if not body.endswith(b"\n\n"):
        # Only an inner Content-Length may put bytes after the header block; anything else
        # means the outer Content-Length was wrong and this body swallowed another frame or
        # lost its end.
        inner_body = headers.inner_body()
        declared = headers.raw("Content-Length")
        if declared is None or not declared.isdigit() or int(declared) != len(inner_body):
            raise EventParseError(
                f"{name or 'event'} body has {len(inner_body)} bytes after its headers, "
                f"inner Content-Length says {declared!r}"
            )
    subclass = (headers.get("Event-Subclass") or "") if name == "CUSTOM" else ""
    return _build(name, subclass, headers, None, "text/event-plain")


def _decode_json_event(data: bytes) -> tuple[dict[str, str], bytes]:
    try:
        document = json.loads(data, object_pairs_hook=_first_wins)
    except (ValueError, RecursionError) as error:
        raise EventParseError(f"invalid JSON: {error}") from None
    if not isinstance(document, dict):
        raise EventParseError("JSON event is not an object")
    event_body = document.pop("_body", None)
    headers: dict[str, str] = {}
    for name, value in document.items():
        if isinstance(value, str):
            headers[name] = value
        elif isinstance(value, list):
            # Array variables: the same text the plain format carries.
            headers[name] = "ARRAY::" + "|:".join(str(item) for item in value)
        else:
            headers[name] = json.dumps(value)
    body = event_body.encode("utf-8") if isinstance(event_body, str) else b""
    return headers, body


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    values = dict(pairs)
    if len(values) != len(pairs):
        values = {}
        for name, value in pairs:
            values.setdefault(name, value)
    return values


def _parse_json(body: bytes, stats: ParserStats) -> Event:
    stripped = body.strip()
    if not (stripped.startswith(b"{") and stripped.endswith(b"}")):
        raise EventParseError("JSON event is not an object")
    headers = JsonEventHeaders(stripped, stats)
    name = headers.get("Event-Name") or ""
    if not name:
        # Not found by the byte search: decode to tell a broken document from a missing name.
        headers._decode()
    subclass = (headers.get("Event-Subclass") or "") if name == "CUSTOM" else ""
    return _build(name, subclass, headers, None, "text/event-json")


def _parse_xml(body: bytes, stats: ParserStats) -> Event:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise EventParseError(f"invalid XML: {error}") from None
    headers: dict[str, str] = {}
    container = root.find("headers")
    for element in container if container is not None else ():
        # switch_event_xmlize URL-encodes values (and writes array items as repeated tags).
        headers.setdefault(element.tag, percent_decode(element.text or "", stats))
    body_element = root.find("body")
    raw_body = (body_element.text or "").encode("utf-8") if body_element is not None else b""
    name = headers.get("Event-Name", "")
    subclass = headers.get("Event-Subclass", "") if name == "CUSTOM" else ""
    return _build(name, subclass, DecodedHeaders(headers), raw_body, "text/event-xml")
