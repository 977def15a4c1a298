"""Incremental Event Socket frame parser.

A frame is a block of ``Name: value`` lines ended by an empty line; when the block carries
``Content-Length: N``, exactly N body bytes follow with nothing between them and the next
frame. TCP reads do not follow frame boundaries, so :class:`FrameParser` keeps the
unfinished tail between :meth:`FrameParser.feed` calls.

Speed matters here (the daemon must keep up with every event of a busy switch, and
FreeSWITCH disconnects listeners that fall 500 events behind), so the parser only splits
bytes: outer header values are URL-decoded on first access, and event bodies are left for
:mod:`cti.esl.events` to read lazily.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# The two outer header blocks that nearly every event frame uses, recognised without
# splitting lines (the general path below handles everything else).
_EVENT_PREFIX = b"Content-Length: "
_EVENT_PLAIN_SUFFIX = b"\nContent-Type: text/event-plain"
_EVENT_JSON_SUFFIX = b"\nContent-Type: text/event-json"

# A peer that never ends a header block must not make us buffer without limit; FreeSWITCH's
# largest header block (the outbound ``connect`` reply) is a few tens of kilobytes.
MAX_HEADER_BLOCK = 1 << 20
# A Content-Length beyond this is treated as corrupt rather than waited for.
MAX_BODY = 64 << 20

# Where a lost parser can pick the stream up again: every frame FreeSWITCH writes starts
# with one of these headers (the outbound ``connect`` reply starts with Event-Name).
_RESYNC_MARKERS = (b"Content-Length: ", b"Content-Type: ", b"Event-Name: ")

_HEX_DIGITS = "0123456789ABCDEFabcdef"
_HEX_TO_BYTE = {
    (first + second).encode(): bytes.fromhex(first + second)
    for first in _HEX_DIGITS
    for second in _HEX_DIGITS
}


@dataclass
class ParserStats:
    """Counters of one connection's edge: what was parsed and what was thrown away.

    ``frames``/``bad_frames``/``bytes`` are counted by :class:`FrameParser`;
    ``bad_encodings`` when a header value with a broken ``%XX`` escape or invalid UTF-8 is
    decoded; ``events``/``unknown_events``/``bad_events`` by :func:`cti.esl.events.parse_event`.
    """

    frames: int = 0
    bad_frames: int = 0
    bytes: int = 0
    bad_encodings: int = 0
    events: int = 0
    unknown_events: int = 0
    bad_events: int = 0


def percent_decode(value: str, stats: ParserStats | None = None) -> str:
    """Decode FreeSWITCH's URL encoding (``%XX``; ``+`` stays ``+``).

    A ``%`` not followed by two hex digits is kept literally, counted and logged: it cannot
    come from switch_url_encode, so the peer or the transport is broken.
    """
    if "%" not in value:
        return value
    parts = value.encode("utf-8", "surrogateescape").split(b"%")
    decoded = [parts[0]]
    broken = False
    for part in parts[1:]:
        byte = _HEX_TO_BYTE.get(part[:2])
        if byte is None:
            broken = True
            decoded.append(b"%")
            decoded.append(part)
        else:
            decoded.append(byte)
            decoded.append(part[2:])
    joined = b"".join(decoded)
    try:
        text = joined.decode("utf-8")
    except UnicodeDecodeError:
        broken = True
        text = joined.decode("utf-8", "replace")
    if broken:
        if stats is not None:
            stats.bad_encodings += 1
        logger.warning("invalid percent-encoding in ESL header value %r", value[:200])
    return text


def parse_header_lines(text: str) -> tuple[dict[str, str], str]:
    """Split a header block into a first-wins dict of raw values and a command line.

    FreeSWITCH repeats some header names inside one event (CODEC, conference events, the
    re-fired COMMAND event); its own lookup returns the first one, so we keep the first.
    A first line that is not ``Name: value`` is a command (``api status``, ``sendmsg <uuid>``)
    as clients send them; it is returned separately, never as a header.
    """
    headers: dict[str, str] = {}
    command = ""
    lines = text.split("\n")
    first = True
    for line in lines:
        name, separator, value = line.partition(": ")
        if not separator and line.endswith(":"):
            # "Name:" with an empty value.
            name, value, separator = line[:-1], "", ":"
        if first:
            first = False
            # Leftover bytes of a body glued to the next frame also land on the first line.
            if not separator or not _is_header_name(name):
                command = line
                continue
        elif not separator:
            continue
        if name not in headers:
            headers[name] = value
    return headers, command


def _is_header_name(name: str) -> bool:
    return name.isascii() and name.replace("-", "").replace("_", "").isalnum()


class Headers(Mapping[str, str]):
    """Read-only header mapping whose values are URL-decoded on first access.

    Lookups fall back to a case-insensitive match, as FreeSWITCH's own header lookup does.
    """

    __slots__ = ("_raw", "_decoded", "_stats", "_folded")

    def __init__(self, raw: Mapping[str, str], stats: ParserStats | None = None) -> None:
        self._raw = raw
        self._decoded: dict[str, str] = {}
        self._stats = stats
        self._folded: dict[str, str] | None = None

    def _resolve(self, name: str) -> str | None:
        if name in self._raw:
            return name
        if self._folded is None:
            self._folded = {}
            for key in self._raw:
                self._folded.setdefault(key.lower(), key)
        return self._folded.get(name.lower())

    def __getitem__(self, name: str) -> str:
        cached = self._decoded.get(name)
        if cached is not None:
            return cached
        key = self._resolve(name)
        if key is None:
            raise KeyError(name)
        value = percent_decode(self._raw[key], self._stats)
        self._decoded[name] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._resolve(name) is not None

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


class Frame:
    """One ESL frame: outer headers plus the body that its Content-Length announced.

    ``raw_headers`` holds the values as received; ``headers`` decodes them on first access.
    ``command`` is the non-header first line of a client command frame (``api status``),
    empty for everything FreeSWITCH sends.
    """

    __slots__ = ("content_type", "body", "command", "_block", "_raw", "_headers", "_stats")

    def __init__(
        self,
        content_type: str,
        body: bytes = b"",
        raw_headers: Mapping[str, str] | None = None,
        *,
        command: str = "",
        block: bytes | None = None,
        stats: ParserStats | None = None,
    ) -> None:
        self.content_type = content_type
        self.body = body
        self.command = command
        self._block = block
        self._raw = raw_headers
        self._headers: Headers | None = None
        self._stats = stats

    @property
    def raw_headers(self) -> Mapping[str, str]:
        """Outer header values exactly as received (not URL-decoded)."""
        if self._raw is None:
            block = self._block or b""
            self._raw = parse_header_lines(block.decode("utf-8", "replace"))[0]
        return self._raw

    @property
    def headers(self) -> Headers:
        """Outer headers, values URL-decoded lazily."""
        if self._headers is None:
            self._headers = Headers(self.raw_headers, self._stats)
        return self._headers

    @property
    def stats(self) -> ParserStats:
        """Counters of the parser that produced this frame (a private set if hand-built)."""
        if self._stats is None:
            self._stats = ParserStats()
        return self._stats

    @property
    def reply_text(self) -> str:
        """``Reply-Text`` of a command/reply, decoded (the outbound connect reply encodes it)."""
        return self.headers.get("Reply-Text", "")

    @property
    def is_event(self) -> bool:
        return self.content_type.startswith("text/event-")

    def __repr__(self) -> str:
        return f"<Frame {self.content_type or self.command!r} body={len(self.body)}B>"


class FrameParser:
    """Turns a byte stream into :class:`Frame` objects, whatever the TCP chunking.

    ``commands=True`` parses what clients send to FreeSWITCH (first line a command, no
    Content-Type); by default a block without Content-Type is garbage. Bad input is counted
    in :attr:`stats`, logged, and skipped: :meth:`feed` never raises because of it.
    """

    def __init__(self, *, commands: bool = False, stats: ParserStats | None = None) -> None:
        self.stats = stats if stats is not None else ParserStats()
        self._commands = commands
        self._pending: list[bytes] = []
        self._pending_size = 0
        # Do not re-join and re-scan the buffer before this many bytes are buffered.
        self._needed = 0
        # Where the search for the end of the current header block may resume.
        self._scan_from = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return self._pending_size

    def feed(self, data: bytes) -> list[Frame]:
        """Consume one chunk and return the frames it completed, in order."""
        stats = self.stats
        stats.bytes += len(data)
        if not data:
            return []
        if self._pending:
            self._pending.append(data)
            self._pending_size += len(data)
            if self._pending_size < self._needed:
                return []
            buffer = b"".join(self._pending)
        else:
            buffer = data
        frames: list[Frame] = []
        position = self._parse(buffer, frames)
        rest = buffer[position:] if position else buffer
        if rest:
            self._pending = [rest]
            self._pending_size = len(rest)
        else:
            self._pending = []
            self._pending_size = 0
            self._needed = 0
            self._scan_from = 0
        stats.frames += len(frames)
        return frames

    def close(self) -> None:
        """End of stream: an unfinished frame left in the buffer is counted as truncated."""
        if self._pending_size and b"".join(self._pending).strip(b"\n"):
            self.stats.bad_frames += 1
            logger.warning("ESL stream ended inside a frame (%d bytes dropped)", self._pending_size)
        self._pending = []
        self._pending_size = 0
        self._needed = 0
        self._scan_from = 0

    def _parse(self, buffer: bytes, frames: list[Frame]) -> int:
        """Append complete frames to ``frames``; return how many bytes were consumed."""
        stats = self.stats
        size = len(buffer)
        position = 0
        while position < size:
            if buffer[position] == 10:  # stray blank lines between frames carry nothing
                position += 1
                continue
            end = buffer.find(b"\n\n", max(position, self._scan_from))
            if end < 0:
                if size - position > MAX_HEADER_BLOCK:
                    self._drop(f"header block over {MAX_HEADER_BLOCK} bytes", size - position)
                    position = size
                    break
                # Both offsets are relative to the unconsumed rest kept by feed().
                self._scan_from = max(size - position - 1, 0)
                self._needed = size - position + 1
                break
            self._scan_from = 0
            block = buffer[position:end]
            body_start = end + 2

            # Fast path: "Content-Length: N\nContent-Type: text/event-(plain|json)".
            if block.startswith(_EVENT_PREFIX):
                if block.endswith(_EVENT_PLAIN_SUFFIX):
                    content_type = "text/event-plain"
                    number = block[16:-31]
                elif block.endswith(_EVENT_JSON_SUFFIX):
                    content_type = "text/event-json"
                    number = block[16:-30]
                else:
                    number = b""
                if number and number.isdigit():
                    length = int(number)
                    if length > MAX_BODY:
                        self._drop(f"Content-Length {length} too large", body_start - position)
                        position = body_start
                        continue
                    body_end = body_start + length
                    if body_end > size:
                        self._needed = body_end - position
                        break
                    frames.append(
                        Frame(
                            content_type,
                            buffer[body_start:body_end],
                            block=block,
                            stats=stats,
                        )
                    )
                    position = body_end
                    continue

            text = block.decode("utf-8", "replace")
            raw, command = parse_header_lines(text)
            if command and not self._commands:
                resume = _find_resync(block)
                skipped = resume if resume > 0 else len(block) + 2
                self._drop(f"garbage {block[:60]!r}", skipped)
                position += skipped
                continue
            length = 0
            length_text = raw.get("Content-Length")
            content_type = raw.get("Content-Type", "")
            if length_text is None or not content_type:
                # Clients write "content-length"; FreeSWITCH reads header names caselessly.
                for name, value in raw.items():
                    folded = name.lower()
                    if folded == "content-length" and length_text is None:
                        length_text = value
                    elif folded == "content-type" and not content_type:
                        content_type = value
            if length_text is not None:
                if not length_text.isdigit() or int(length_text) > MAX_BODY:
                    reason = f"invalid Content-Length {length_text[:40]!r}"
                    self._drop(reason, body_start - position)
                    position = body_start
                    continue
                length = int(length_text)
            if not content_type and not self._commands:
                resume = _find_resync(block)
                skipped = resume if resume > 0 else body_start - position
                self._drop(f"frame without Content-Type {block[:60]!r}", skipped)
                position += skipped
                continue
            body_end = body_start + length
            if body_end > size:
                self._needed = body_end - position
                break
            frames.append(
                Frame(
                    content_type,
                    buffer[body_start:body_end],
                    raw,
                    command=command,
                    block=block,
                    stats=stats,
                )
            )
            position = body_end
        else:
            self._needed = 0
        return position

    def _drop(self, reason: str, byte_count: int) -> None:
        self.stats.bad_frames += 1
        logger.warning("dropped bad ESL frame (%d bytes): %s", byte_count, reason)


def _find_resync(block: bytes) -> int:
    """Offset (> 0) in a garbage block where a real frame seems to start, or -1.

    Bytes left over from a too-short Content-Length are glued to the next frame's first
    header line; skipping to that header keeps the next frame.
    """
    best = -1
    for marker in _RESYNC_MARKERS:
        index = block.find(marker, 1)
        if index > 0 and (best < 0 or index < best):
            best = index
    return best
