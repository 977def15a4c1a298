"""ESL wire format as FreeSWITCH writes it: URL encoding, event and reply frames."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence

# switch_url_encode leaves letters, digits and these characters alone; everything else
# (including space, which becomes %20, never +) is percent-encoded.
_URL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/,()!$*'-._~")
_HEX = frozenset("0123456789abcdefABCDEF")

DISCONNECT_GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"

Headers = Sequence[tuple[str, str]]


# An escape FreeSWITCH leaves alone (a '%' with two hex digits), or a character to encode.
_ENCODE_TOKEN = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9/,()!$*'\-._~]")


def _encode_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if len(token) == 3 and token[0] == "%":
        return token
    return "".join(f"%{byte:02X}" for byte in token.encode("utf-8"))


# ASCII characters switch_url_encode escapes ('%' is handled apart: see url_encode).
_ASCII_ESCAPES = str.maketrans(
    {chr(code): f"%{code:02X}" for code in range(128) if chr(code) not in _URL_SAFE}
)


@functools.lru_cache(maxsize=65536)
def url_encode(value: str) -> str:
    """Encode a header value like FreeSWITCH's switch_url_encode.

    Space becomes %20 (never +); a '%' already followed by two hex digits is copied as is,
    so FreeSWITCH never double encodes (and a literal '%41' does not round-trip: the
    simulator keeps that quirk). Header values repeat a lot, hence the cache.
    """
    if value.isascii() and "%" not in value:
        # The common case, one table lookup per character.
        return value.translate(_ASCII_ESCAPES)
    return _ENCODE_TOKEN.sub(_encode_token, value)


# Serialized header lines by (name, value): channel events repeat most of their headers
# (profiles, variables) from one event to the next. Emptied when it grows too big.
_PLAIN_LINES: dict[tuple[str, str], str] = {}
_JSON_MEMBERS: dict[tuple[str, str], str] = {}
_LINE_CACHE_LIMIT = 50_000


def _plain_line(header: tuple[str, str]) -> str:
    if len(_PLAIN_LINES) >= _LINE_CACHE_LIMIT:
        _PLAIN_LINES.clear()
    line = _PLAIN_LINES[header] = f"{header[0]}: {url_encode(header[1])}\n"
    return line


class HeaderBlock(list):
    """Headers that many events carry unchanged (a caller profile, a channel's variables),
    with their plain serialization made once. Never modified after it is built.

    ``lines`` (optional, shared by a channel's successive variable blocks) keeps each
    header's serialized line by name, so a new block re-encodes only the changed headers.
    """

    __slots__ = ("_plain", "_lines")

    def __init__(
        self,
        headers: Iterable[tuple[str, str]] = (),
        lines: dict[str, tuple[tuple[str, str], str]] | None = None,
    ) -> None:
        super().__init__(headers)
        self._plain: str | None = None
        self._lines = lines

    def set_plain(self, plain: str) -> None:
        """Give the serialization when its maker has it already (it must match)."""
        self._plain = plain

    def plain(self) -> str:
        if self._plain is None:
            lines = self._lines
            if lines is None:
                cached = _PLAIN_LINES.get
                self._plain = "".join([cached(header) or _plain_line(header) for header in self])
            else:
                parts = []
                for header in self:
                    entry = lines.get(header[0])
                    if entry is None or entry[0] is not header:
                        entry = lines[header[0]] = (
                            header,
                            f"{header[0]}: {url_encode(header[1])}\n",
                        )
                    parts.append(entry[1])
                self._plain = "".join(parts)
        return self._plain


def serialize_plain(
    headers: Headers,
    body: str | None = None,
    blocks: Sequence[tuple[int, HeaderBlock]] = (),
) -> str:
    """Serialize an event the way switch_event_serialize does (values URL-encoded).

    ``blocks``: (position, block) of HeaderBlocks found at those positions of ``headers``,
    whose serialization is reused instead of encoding their headers again.
    """
    cached = _PLAIN_LINES.get
    if blocks:
        lines = []
        position = 0
        for start, block in blocks:
            before = headers[position:start]
            lines.extend([cached(header) or _plain_line(header) for header in before])
            lines.append(block.plain())
            position = start + len(block)
        lines.extend([cached(header) or _plain_line(header) for header in headers[position:]])
    else:
        lines = [cached(header) or _plain_line(header) for header in headers]
    if body:
        encoded_body = body.encode("utf-8")
        lines.append(f"Content-Length: {len(encoded_body)}\n\n")
        lines.append(body)
    else:
        lines.append("\n")
    return "".join(lines)


def _json_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_member(header: tuple[str, str]) -> str:
    name, value = header
    if value.startswith("ARRAY::"):
        items = value[len("ARRAY::") :].split("|:")
        rendered = "[" + ",".join(_json_string(item) for item in items) + "]"
    else:
        rendered = _json_string(value)
    if len(_JSON_MEMBERS) >= _LINE_CACHE_LIMIT:
        _JSON_MEMBERS.clear()
    member = _JSON_MEMBERS[header] = f"{_json_string(name)}:{rendered}"
    return member


def serialize_json(headers: Headers, body: str | None = None) -> str:
    """Serialize an event the way switch_event_serialize_json does.

    Duplicate header names stay duplicate keys (FreeSWITCH writes them that way); array
    variables (``ARRAY::a|:b``) become JSON arrays; the body is ``_body`` after an inner
    ``Content-Length`` member.
    """
    cached = _JSON_MEMBERS.get
    members = [cached(header) or _json_member(header) for header in headers]
    if body:
        members.append(f'"Content-Length":"{len(body.encode("utf-8"))}"')
        members.append(f'"_body":{_json_string(body)}')
    return "{" + ",".join(members) + "}"


def event_frame(payload: str, format_name: str) -> bytes:
    """Outer frame for an event: Content-Length first, then Content-Type (as FreeSWITCH)."""
    data = payload.encode("utf-8")
    head = f"Content-Length: {len(data)}\nContent-Type: text/event-{format_name}\n\n"
    return head.encode("utf-8") + data


def command_reply(reply_text: str, extra: Iterable[tuple[str, str]] = ()) -> bytes:
    """A ``command/reply`` frame: header block only, no body."""
    lines = ["Content-Type: command/reply\n", f"Reply-Text: {reply_text}\n"]
    lines.extend(f"{name}: {value}\n" for name, value in extra)
    lines.append("\n")
    return "".join(lines).encode("utf-8")


def api_response(body: str) -> bytes:
    """An ``api/response`` frame (Content-Type before Content-Length)."""
    data = body.encode("utf-8")
    return f"Content-Type: api/response\nContent-Length: {len(data)}\n\n".encode() + data


def auth_request() -> bytes:
    return b"Content-Type: auth/request\n\n"


def disconnect_notice(message: str, controlled_uuid: str | None = None) -> bytes:
    """The ``disconnect`` notice FreeSWITCH sends before it closes a connection."""
    data = message.encode("utf-8")
    if controlled_uuid:
        head = (
            "Content-Type: text/disconnect-notice\n"
            f"Controlled-Session-UUID: {controlled_uuid}\n"
            "Content-Disposition: disconnect\n"
            f"Content-Length: {len(data)}\n\n"
        )
    else:
        head = f"Content-Type: text/disconnect-notice\nContent-Length: {len(data)}\n\n"
    return head.encode("utf-8") + data


def linger_notice(controlled_uuid: str, channel_name: str, linger_time: int) -> bytes:
    """The ``linger`` notice sent when the controlled channel goes down (not URL-encoded)."""
    return (
        "Content-Type: text/disconnect-notice\n"
        f"Controlled-Session-UUID: {controlled_uuid}\n"
        "Content-Disposition: linger\n"
        f"Channel-Name: {channel_name}\n"
        f"Linger-Time: {linger_time}\n"
        "Content-Length: 0\n\n"
    ).encode()


def channel_data_reply(headers: Headers, blocks: Sequence[tuple[int, HeaderBlock]] = ()) -> bytes:
    """The outbound ``connect`` reply: one URL-encoded header block, no Content-Length."""
    return serialize_plain(headers, None, blocks).encode("utf-8")
