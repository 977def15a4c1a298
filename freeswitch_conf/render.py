"""Render the platform's FreeSWITCH XML configuration from a typed, validated context.

Every template under ``templates/`` (a tree shaped like FreeSWITCH's conf directory, each file
ending in ``.j2``) is rendered with Jinja2 (XML autoescaping, ``StrictUndefined``), parsed with
lxml and checked against the line-based rules of FreeSWITCH's XML pre-processor. Only when every
file is valid is anything written, each file atomically. Usage from Python::

    context = RenderContext(domain=..., daemon_socket="127.0.0.1:8084", ...)
    written = render_all(context, Path("/etc/freeswitch"))

and from a shell: ``python -m freeswitch_conf.render --context context.json --out DIR``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import sys
import types
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import jinja2
from lxml import etree

from freeswitch_conf import failover

TEMPLATES_DIR = Path(__file__).with_name("templates")
TEMPLATE_SUFFIX = ".j2"

#: Where the public dialplan (the file the switch simulator loads) lands in the rendered tree.
PUBLIC_DIALPLAN_PATH = PurePosixPath("dialplan/public/00_callcenter.xml")

#: Sample rates FreeSWITCH accepts for ``record_sample_rate`` (``switch_is_valid_rate``).
VALID_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

#: SIP registration passwords shorter than this are refused: guessable ones invite toll fraud.
MIN_SIP_PASSWORD_LENGTH = 8

#: FreeSWITCH's stock ESL password; acceptable only when the socket listens on loopback.
STOCK_ESL_PASSWORD = "ClueCon"

FallbackKind = Literal["prompt", "voicemail"]
RegisterTransport = Literal["udp", "tcp"]


# --------------------------------------------------------------------------------------------
# Errors


class RenderError(Exception):
    """The configuration cannot be rendered; nothing was written.

    ``template`` names the template at fault and ``variable`` the undefined variable or
    attribute when there is one; ``line`` is the template (or rendered file) line.
    """

    def __init__(
        self,
        message: str,
        *,
        template: str | None = None,
        variable: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.template = template
        self.variable = variable
        self.line = line


@dataclass(frozen=True)
class Problem:
    """One invalid input: where it is (``agents[2].extension``) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ContextError(RenderError):
    """The render context failed validation; ``problems`` lists every field at fault."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"invalid FreeSWITCH render context:\n{lines}")


# --------------------------------------------------------------------------------------------
# The context: plain dataclasses, one per database concept, so a builder maps rows to them.


@dataclass(frozen=True)
class Did:
    """A dialled number (``+`` and digits, or digits) and the IVR flow and language answering it."""

    number: str
    flow: str
    language: str


@dataclass(frozen=True)
class Agent:
    """One agent seat: a directory user registering from a browser softphone or a desk phone."""

    extension: str
    employee_number: str
    name: str
    sip_password: str


@dataclass(frozen=True)
class RingGroup:
    """Extensions rung together when the CTI daemon cannot take a call, and what follows.

    ``fallback`` is what a caller gets when nobody answers within ``call_timeout`` seconds:
    ``"prompt"`` plays ``closing_prompts[language]`` (or ``closing_prompt``) and hangs up;
    ``"voicemail"`` records a message in ``voicemail_box`` (an agent's extension).
    """

    extensions: Sequence[str]
    call_timeout: int = 30
    fallback: FallbackKind = "prompt"
    closing_prompt: str | None = None
    closing_prompts: Mapping[str, str] = field(default_factory=dict)
    voicemail_box: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", tuple(self.extensions))
        object.__setattr__(self, "closing_prompts", dict(self.closing_prompts))

    def prompt_for(self, language: str) -> str | None:
        """The closing prompt for callers of a DID in ``language``."""
        return self.closing_prompts.get(language, self.closing_prompt)


@dataclass(frozen=True)
class Gateway:
    """A SIP trunk on the external profile.

    ``extension`` decides the ``destination_number`` of calls arriving through the gateway;
    the default ``auto_to_user`` takes the To user, which is where carriers put the DID.
    """

    name: str
    realm: str
    username: str = ""
    password: str = ""
    proxy: str | None = None
    register: bool = True
    caller_id_in_from: bool = False
    from_domain: str | None = None
    register_transport: RegisterTransport = "udp"
    extension: str = "auto_to_user"
    expire_seconds: int = 3600
    retry_seconds: int = 30
    ping_seconds: int | None = None


@dataclass(frozen=True)
class EventSocket:
    """``event_socket.conf``: where the daemon's inbound ESL connection logs in."""

    password: str
    listen_ip: str = "127.0.0.1"
    listen_port: int = 8021
    apply_inbound_acl: str | None = "loopback.auto"


@dataclass(frozen=True)
class InternalProfile:
    """The agents' SIP profile: UDP/TCP for desk phones, WS/WSS for browser softphones.

    ``None`` addresses keep FreeSWITCH's own variables (``$${local_ip_v4}``,
    ``$${external_rtp_ip}``); ``None`` ports switch that listener off.
    """

    sip_ip: str | None = None
    rtp_ip: str | None = None
    external_ip: str | None = None
    sip_port: int = 5060
    ws_port: int | None = 5066
    wss_port: int | None = 7443
    tls_cert_dir: str | None = None
    candidate_acls: Sequence[str] = ("localnet.auto", "rfc1918.auto", "wan.auto")
    codec_prefs: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "candidate_acls", tuple(self.candidate_acls))


@dataclass(frozen=True)
class ExternalProfile:
    """The trunks' SIP profile; unauthenticated calls land in the ``public`` context."""

    sip_ip: str | None = None
    rtp_ip: str | None = None
    external_ip: str | None = None
    sip_port: int = 5080
    codec_prefs: str | None = None


@dataclass(frozen=True)
class UnknownDidRoute:
    """Send calls to unconfigured DIDs to the daemon with this flow instead of rejecting them."""

    flow: str
    language: str


@dataclass(frozen=True)
class RenderContext:
    """Everything the templates need. Field names match the JSON context format."""

    domain: str
    daemon_socket: str
    dids: Sequence[Did]
    agents: Sequence[Agent]
    ring_group: RingGroup
    event_socket: EventSocket
    recordings_dir: str
    gateways: Sequence[Gateway] = ()
    backup_daemon_sockets: Sequence[str] = ()
    user_context: str = "default"
    record_stereo: bool = True
    record_sample_rate: int = 8000
    internal_profile: InternalProfile = field(default_factory=InternalProfile)
    external_profile: ExternalProfile = field(default_factory=ExternalProfile)
    unknown_did: UnknownDidRoute | None = None
    # Pauses (milliseconds) before each further try of the daemons' sockets once the socket
    # application returns: a standby taking over from a daemon that died (within about
    # 3 s) takes the callers up again instead of the failover group. Empty: no retry.
    rejoin_pauses_ms: Sequence[int] = (1000, 2000, 3000)

    def __post_init__(self) -> None:
        for name in ("dids", "agents", "gateways", "backup_daemon_sockets", "rejoin_pauses_ms"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @classmethod
    def from_dict(cls, data: Any) -> RenderContext:
        """Build a context from decoded JSON, reporting every missing, unknown or mistyped key."""
        problems: list[Problem] = []
        context = _convert(cls, data, "", problems)
        if problems:
            raise ContextError(problems)
        assert isinstance(context, RenderContext)
        return context


# --------------------------------------------------------------------------------------------
# JSON → dataclasses


class _Invalid:
    """Marks a value that failed conversion (its problem is already recorded)."""


_INVALID = _Invalid()


def _convert(kind: Any, value: Any, path: str, problems: list[Problem]) -> Any:
    origin = get_origin(kind)
    if is_dataclass(kind) and isinstance(kind, type):
        return _convert_dataclass(kind, value, path, problems)
    if origin in (Union, types.UnionType):
        options = [option for option in get_args(kind) if option is not type(None)]
        if value is None:
            if len(options) < len(get_args(kind)):
                return None
            problems.append(Problem(path, "must not be null"))
            return _INVALID
        return _convert(options[0], value, path, problems)
    if origin is Literal:
        if value in get_args(kind):
            return value
        allowed = ", ".join(repr(option) for option in get_args(kind))
        problems.append(Problem(path, f"must be one of {allowed}, not {value!r}"))
        return _INVALID
    if origin in (tuple, Sequence):
        if not isinstance(value, list | tuple):
            problems.append(Problem(path, "must be a list"))
            return _INVALID
        item_kind = get_args(kind)[0]
        items = [
            _convert(item_kind, item, f"{path}[{i}]", problems) for i, item in enumerate(value)
        ]
        return _INVALID if any(item is _INVALID for item in items) else tuple(items)
    if origin in (dict, Mapping):
        if not isinstance(value, dict):
            problems.append(Problem(path, "must be an object"))
            return _INVALID
        for key, item in value.items():
            if not isinstance(item, str):
                problems.append(Problem(_join(path, str(key)), "must be a string"))
                return _INVALID
        return dict(value)
    if kind is bool:
        if isinstance(value, bool):
            return value
        problems.append(Problem(path, "must be true or false"))
        return _INVALID
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        problems.append(Problem(path, "must be an integer"))
        return _INVALID
    if kind is str:
        if isinstance(value, str):
            return value
        problems.append(Problem(path, "must be a string"))
        return _INVALID
    raise TypeError(f"unsupported context field type {kind!r} at {path}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _convert_dataclass(kind: type, value: Any, path: str, problems: list[Problem]) -> Any:
    if not isinstance(value, dict):
        problems.append(Problem(path or "context", "must be an object"))
        return _INVALID
    hints = get_type_hints(kind)
    known = {item.name: item for item in fields(kind)}
    failed = False
    for key in value:
        if key not in known:
            problems.append(Problem(_join(path, key), "unknown field"))
            failed = True
    arguments: dict[str, Any] = {}
    for name, item in known.items():
        if name not in value:
            if item.default is MISSING and item.default_factory is MISSING:
                problems.append(Problem(_join(path, name), "is required"))
                failed = True
            continue
        arguments[name] = _convert(hints[name], value[name], _join(path, name), problems)
        failed = failed or arguments[name] is _INVALID
    return _INVALID if failed else kind(**arguments)


# --------------------------------------------------------------------------------------------
# Validation

_DIGITS = re.compile(r"[0-9]{1,20}")
_DID_NUMBER = re.compile(r"\+?[0-9]{1,20}")
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_EMPLOYEE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_SIP_USERNAME = re.compile(r"[A-Za-z0-9_.+-]{1,64}")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_ACL_NAME = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")
_ABSOLUTE_PATH = re.compile(r"/[A-Za-z0-9_./-]*")
_PROMPT = re.compile(r"[A-Za-z0-9_./:%(),;=+@-]{1,255}")
_CODEC_PREFS = re.compile(r"[A-Za-z0-9@.,]{1,200}")
_GATEWAY_EXTENSION = re.compile(r"\+?[A-Za-z0-9_.-]{1,64}")
_NAT_ADDRESS_PREFIXES = ("stun:", "host:")


class _Checker:
    """Collects problems while walking a context."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def pattern(self, value: str, regex: re.Pattern[str], path: str, message: str) -> bool:
        if not isinstance(value, str) or not regex.fullmatch(value):
            self.fail(path, f"{message}, got {value!r}")
            return False
        return True

    def text(self, value: str, path: str, *, max_length: int = 100, spaces: bool = True) -> bool:
        """Free text: anything printable, escaped for XML, but nothing FreeSWITCH would expand.

        ``${`` would be expanded (recursively, even calling APIs) wherever the value reaches a
        channel variable, and ``$${`` or ``X-PRE-PROCESS`` would be acted on by the XML
        pre-processor, which reads raw lines before any XML parsing.
        """
        if not isinstance(value, str):
            self.fail(path, f"must be text, got {value!r}")
            return False
        if not value.strip():
            self.fail(path, "must not be empty")
            return False
        if len(value) > max_length:
            self.fail(path, f"must be at most {max_length} characters")
            return False
        for character in value:
            category = unicodedata.category(character)
            if category in ("Cc", "Cs") or character in "\ufffe\uffff":
                self.fail(path, f"must not contain control character {character!r}")
                return False
            if not spaces and character.isspace():
                self.fail(path, "must not contain spaces")
                return False
        if "${" in value:
            self.fail(path, "must not contain '${' (FreeSWITCH would expand it as a variable)")
            return False
        if "x-pre-process" in value.lower():
            self.fail(path, "must not contain 'X-PRE-PROCESS'")
            return False
        return True

    def port(self, value: int, path: str) -> bool:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            self.fail(path, f"must be a port number between 1 and 65535, got {value!r}")
            return False
        return True

    def bounded(self, value: int, low: int, high: int, path: str) -> bool:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(path, f"must be an integer between {low} and {high}, got {value!r}")
            return False
        return True

    def ip(self, value: str, path: str) -> bool:
        try:
            ipaddress.ip_address(value)
        except (ValueError, TypeError):
            self.fail(path, f"must be an IP address, got {value!r}")
            return False
        return True

    def host(self, value: str, path: str) -> bool:
        if _is_host(value):
            return True
        self.fail(path, f"must be a host name or IP address, got {value!r}")
        return False

    def host_port(self, value: str, path: str) -> bool:
        """``host`` or ``host:port`` (SIP realms and proxies)."""
        if isinstance(value, str):
            host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
            if _is_host(host) and (not port or (port.isdigit() and 1 <= int(port) <= 65535)):
                return True
        self.fail(path, f"must be host or host:port, got {value!r}")
        return False

    def nat_address(self, value: str, path: str) -> bool:
        if value in ("auto", "auto-nat"):
            return True
        for prefix in _NAT_ADDRESS_PREFIXES:
            if isinstance(value, str) and value.startswith(prefix):
                return self.host(value[len(prefix) :], path)
        return self.ip(value, path)


def _is_host(value: object) -> bool:
    if not isinstance(value, str) or not value or len(value) > 253:
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    return all(_HOST_LABEL.fullmatch(label) for label in value.rstrip(".").split("."))


@dataclass(frozen=True)
class SocketAddress:
    """A parsed ``host:port``; ``freeswitch`` is how the ``socket`` application wants it."""

    host: str
    port: int

    @property
    def freeswitch(self) -> str:
        # socket_function splits host and port at the last colon and hands the host to
        # getaddrinfo, so an IPv6 address goes without brackets.
        return f"{self.host}:{self.port}"


def parse_socket_address(value: str) -> SocketAddress:
    """Parse ``host:port`` or ``[ipv6]:port``; raise ``ValueError`` with a readable reason."""
    if not isinstance(value, str):
        raise ValueError(f"must be a 'host:port' string, got {value!r}")
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5})|([^:\[\]]+):([0-9]{1,5})", value)
    if not match:
        raise ValueError(f"must be 'host:port' (IPv6 as '[addr]:port'), got {value!r}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if match.group(1):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv6 address") from None
    elif not _is_host(host):
        raise ValueError(f"{host!r} is not a host name or IP address")
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is outside 1-65535")
    return SocketAddress(host, port)


def validate_context(context: RenderContext) -> None:
    """Raise :class:`ContextError` listing every invalid field; return quietly when valid."""
    check = _Checker()
    if not _is_host(context.domain) or ":" in context.domain:
        check.fail("domain", f"must be a host name or IPv4 address, got {context.domain!r}")
    for path, value in [("daemon_socket", context.daemon_socket)] + [
        (f"backup_daemon_sockets[{i}]", item)
        for i, item in enumerate(context.backup_daemon_sockets)
    ]:
        try:
            parse_socket_address(value)
        except ValueError as error:
            check.fail(path, str(error))
    check.pattern(
        context.user_context, _IDENTIFIER, "user_context", "must be a dialplan context name"
    )
    if (
        check.pattern(
            context.recordings_dir,
            _ABSOLUTE_PATH,
            "recordings_dir",
            "must be an absolute path of letters, digits, '_', '.', '-' and '/'",
        )
        and "/../" in f"{context.recordings_dir}/"
    ):
        check.fail("recordings_dir", "must not contain '..'")
    if context.record_sample_rate not in VALID_SAMPLE_RATES:
        rates = ", ".join(str(rate) for rate in VALID_SAMPLE_RATES)
        check.fail("record_sample_rate", f"must be one of {rates}")

    _validate_dids(context, check)
    extensions = _validate_agents(context, check)
    _validate_ring_group(context.ring_group, extensions, check)
    _validate_gateways(context.gateways, check)
    _validate_event_socket(context.event_socket, check)
    _validate_profiles(context, check)
    if context.unknown_did is not None:
        check.pattern(
            context.unknown_did.flow, _IDENTIFIER, "unknown_did.flow", "must be a flow code"
        )
        check.pattern(
            context.unknown_did.language,
            _LANGUAGE,
            "unknown_did.language",
            "must be a language tag like 'zh' or 'en-US'",
        )
    if check.problems:
        raise ContextError(check.problems)


def _validate_dids(context: RenderContext, check: _Checker) -> None:
    seen: set[str] = set()
    for i, did in enumerate(context.dids):
        path = f"dids[{i}]"
        if check.pattern(
            did.number, _DID_NUMBER, f"{path}.number", "must be digits, optionally after '+'"
        ):
            if did.number in seen:
                check.fail(f"{path}.number", f"DID {did.number} is listed twice")
            seen.add(did.number)
        check.pattern(
            did.flow,
            _IDENTIFIER,
            f"{path}.flow",
            "must be a flow code (letters, digits, '_', '.', '-')",
        )
        check.pattern(
            did.language,
            _LANGUAGE,
            f"{path}.language",
            "must be a language tag like 'zh' or 'en-US'",
        )


def _validate_agents(context: RenderContext, check: _Checker) -> set[str]:
    extensions: set[str] = set()
    for i, agent in enumerate(context.agents):
        path = f"agents[{i}]"
        if check.pattern(agent.extension, _DIGITS, f"{path}.extension", "must be digits"):
            if agent.extension in extensions:
                check.fail(f"{path}.extension", f"extension {agent.extension} is used twice")
            extensions.add(agent.extension)
        check.pattern(
            agent.employee_number,
            _EMPLOYEE_NUMBER,
            f"{path}.employee_number",
            "must be letters, digits, '_', '.', '-' (at most 32)",
        )
        check.text(agent.name, f"{path}.name")
        if check.text(agent.sip_password, f"{path}.sip_password", max_length=128, spaces=False):
            if len(agent.sip_password) < MIN_SIP_PASSWORD_LENGTH:
                check.fail(
                    f"{path}.sip_password", f"must be at least {MIN_SIP_PASSWORD_LENGTH} characters"
                )
    return extensions


def _validate_ring_group(group: RingGroup, extensions: set[str], check: _Checker) -> None:
    if not group.extensions:
        check.fail("ring_group.extensions", "must list at least one extension")
    seen: set[str] = set()
    for i, extension in enumerate(group.extensions):
        path = f"ring_group.extensions[{i}]"
        if not check.pattern(extension, _DIGITS, path, "must be digits"):
            continue
        if extension not in extensions:
            check.fail(path, f"extension {extension} is not an agent in the directory")
        if extension in seen:
            check.fail(path, f"extension {extension} is listed twice")
        seen.add(extension)
    check.bounded(group.call_timeout, 1, 600, "ring_group.call_timeout")
    if group.fallback == "prompt":
        if group.closing_prompt is None:
            check.fail("ring_group.closing_prompt", "is required when fallback is 'prompt'")
    elif group.fallback == "voicemail":
        if group.voicemail_box is None:
            check.fail("ring_group.voicemail_box", "is required when fallback is 'voicemail'")
        elif check.pattern(
            group.voicemail_box, _DIGITS, "ring_group.voicemail_box", "must be digits"
        ):
            if group.voicemail_box not in extensions:
                check.fail(
                    "ring_group.voicemail_box",
                    f"mailbox {group.voicemail_box} is not an agent in the directory",
                )
    else:
        check.fail(
            "ring_group.fallback", f"must be 'prompt' or 'voicemail', not {group.fallback!r}"
        )
    if group.closing_prompt is not None:
        check.pattern(
            group.closing_prompt,
            _PROMPT,
            "ring_group.closing_prompt",
            "must be a sound file path or tone_stream:// URL without spaces",
        )
    for language, prompt in group.closing_prompts.items():
        path = f"ring_group.closing_prompts.{language}"
        check.pattern(language, _LANGUAGE, path, "key must be a language tag")
        check.pattern(
            prompt, _PROMPT, path, "must be a sound file path or tone_stream:// URL without spaces"
        )


def _validate_gateways(gateways: Sequence[Gateway], check: _Checker) -> None:
    names: set[str] = set()
    for i, gateway in enumerate(gateways):
        path = f"gateways[{i}]"
        if check.pattern(
            gateway.name, _IDENTIFIER, f"{path}.name", "must be letters, digits, '_', '.', '-'"
        ):
            if gateway.name in names:
                check.fail(f"{path}.name", f"gateway {gateway.name} is defined twice")
            names.add(gateway.name)
        check.host_port(gateway.realm, f"{path}.realm")
        if gateway.proxy is not None:
            check.host_port(gateway.proxy, f"{path}.proxy")
        if gateway.from_domain is not None:
            check.host(gateway.from_domain, f"{path}.from_domain")
        if gateway.register or gateway.username:
            check.pattern(
                gateway.username,
                _SIP_USERNAME,
                f"{path}.username",
                "must be letters, digits, '_', '.', '+', '-' (required to register)",
            )
        if gateway.register or gateway.password:
            check.text(gateway.password, f"{path}.password", max_length=128, spaces=False)
        if gateway.register_transport not in ("udp", "tcp"):
            check.fail(f"{path}.register_transport", "must be 'udp' or 'tcp'")
        check.pattern(
            gateway.extension,
            _GATEWAY_EXTENSION,
            f"{path}.extension",
            "must be 'auto_to_user', 'auto' or a number",
        )
        check.bounded(gateway.expire_seconds, 60, 86400, f"{path}.expire_seconds")
        check.bounded(gateway.retry_seconds, 5, 3600, f"{path}.retry_seconds")
        if gateway.ping_seconds is not None:
            check.bounded(gateway.ping_seconds, 5, 3600, f"{path}.ping_seconds")


def _validate_event_socket(event_socket: EventSocket, check: _Checker) -> None:
    listens_on_loopback = False
    if check.ip(event_socket.listen_ip, "event_socket.listen_ip"):
        listens_on_loopback = ipaddress.ip_address(event_socket.listen_ip).is_loopback
    check.port(event_socket.listen_port, "event_socket.listen_port")
    if check.text(event_socket.password, "event_socket.password", max_length=128, spaces=False):
        if event_socket.password == STOCK_ESL_PASSWORD and not listens_on_loopback:
            check.fail(
                "event_socket.password",
                "the stock password 'ClueCon' is only allowed on a loopback listen_ip",
            )
    if event_socket.apply_inbound_acl is not None:
        check.pattern(
            event_socket.apply_inbound_acl,
            _ACL_NAME,
            "event_socket.apply_inbound_acl",
            "must be an ACL list name or CIDR",
        )


def _validate_profiles(context: RenderContext, check: _Checker) -> None:
    internal, external = context.internal_profile, context.external_profile
    for prefix, profile in (("internal_profile", internal), ("external_profile", external)):
        for name in ("sip_ip", "rtp_ip"):
            value = getattr(profile, name)
            if value is not None:
                check.ip(value, f"{prefix}.{name}")
        if profile.external_ip is not None:
            check.nat_address(profile.external_ip, f"{prefix}.external_ip")
        check.port(profile.sip_port, f"{prefix}.sip_port")
        if profile.codec_prefs is not None:
            check.pattern(
                profile.codec_prefs,
                _CODEC_PREFS,
                f"{prefix}.codec_prefs",
                "must be a comma-separated codec list like 'OPUS,PCMU,PCMA'",
            )
    ports = {
        "internal_profile.sip_port": internal.sip_port,
        "external_profile.sip_port": external.sip_port,
    }
    for name in ("ws_port", "wss_port"):
        value = getattr(internal, name)
        if value is not None and check.port(value, f"internal_profile.{name}"):
            ports[f"internal_profile.{name}"] = value
    by_port: dict[int, str] = {}
    for path, port in ports.items():
        if port in by_port:
            check.fail(path, f"port {port} is already used by {by_port[port]}")
        by_port.setdefault(port, path)
    if internal.tls_cert_dir is not None:
        check.pattern(
            internal.tls_cert_dir,
            _ABSOLUTE_PATH,
            "internal_profile.tls_cert_dir",
            "must be an absolute path",
        )
    for i, acl in enumerate(internal.candidate_acls):
        check.pattern(
            acl,
            _ACL_NAME,
            f"internal_profile.candidate_acls[{i}]",
            "must be an ACL list name or CIDR",
        )


# --------------------------------------------------------------------------------------------
# Rendering


@dataclass(frozen=True)
class _Derived:
    """Values computed once in Python so templates stay declarative."""

    socket_data: str
    daemon_targets: str
    ring_group_dial_string: str
    failover_hangup_hook: str
    failover_time_variable: str


def _derive(context: RenderContext) -> _Derived:
    addresses = [parse_socket_address(context.daemon_socket)] + [
        parse_socket_address(item) for item in context.backup_daemon_sockets
    ]
    # socket_function tries '|'-separated hosts in order and connects to the first that answers.
    targets = "|".join(address.freeswitch for address in addresses)
    dial_string = ",".join(
        f"user/{extension}@${{domain_name}}" for extension in context.ring_group.extensions
    )
    return _Derived(
        socket_data=f"{targets} async full",
        daemon_targets=targets,
        ring_group_dial_string=dial_string,
        failover_hangup_hook=failover.hangup_hook(),
        failover_time_variable=failover.FAILOVER_TIME_VARIABLE,
    )


def _regex_escape(value: str) -> str:
    """Escape a literal for a PCRE condition expression (DIDs only carry '+' and digits)."""
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", value)


def _build_environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["regex_escape"] = _regex_escape
    return environment


def _undefined_name(error: jinja2.UndefinedError) -> str | None:
    message = str(error)
    match = re.search(r"has no attribute '([^']+)'", message) or re.search(
        r"^'([^']+)' is undefined", message
    )
    return match.group(1) if match else None


def _template_line(error: BaseException, filename: str) -> int | None:
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


_PI_LINE = re.compile(r'\s*<X-PRE-PROCESS cmd="[a-z-]+" data="[^"&<>]*"/>\s*')
_ROOT_LINE = re.compile(r"\s*(?:<include>|</include>|<\?xml [^>]*\?>)\s*")
_GLOBAL_VARIABLE = re.compile(r"\$\$\{[A-Za-z0-9_]+\}")


def _check_preprocessor_rules(template: str, text: str) -> None:
    """Reject text FreeSWITCH's pre-processor would mangle before its XML parser sees it.

    The pre-processor (``preprocess`` in switch_xml.c) works on raw lines: it drops any line
    containing ``<include>``, ``</include>`` or ``<?``, treats any line mentioning
    ``X-PRE-PROCESS`` as a command (dropping it unless it is one), and expands ``$${name}``.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        if any(marker in line for marker in ("<include>", "</include>", "<?")):
            if not _ROOT_LINE.fullmatch(line):
                raise RenderError(
                    f"{template}: line {number} shares a line with <include>, </include> or <?, "
                    f"which FreeSWITCH's pre-processor drops whole: {line.strip()!r}",
                    template=template,
                    line=number,
                )
        if "x-pre-process" in line.lower() and not _PI_LINE.fullmatch(line):
            raise RenderError(
                f"{template}: line {number} mentions X-PRE-PROCESS without being exactly one "
                f"pre-processor instruction: {line.strip()!r}",
                template=template,
                line=number,
            )
        if line.count("$${") != len(_GLOBAL_VARIABLE.findall(line)):
            raise RenderError(
                f"{template}: line {number} has a malformed $${{...}} global variable: "
                f"{line.strip()!r}",
                template=template,
                line=number,
            )


def render_to_memory(
    context: RenderContext, *, loader: jinja2.BaseLoader | None = None
) -> dict[PurePosixPath, str]:
    """Validate the context and render every template; return {relative path: XML text}.

    Raises :class:`ContextError` for invalid input and :class:`RenderError` for a template
    that references an unknown variable or produces text that is not well-formed XML.
    """
    validate_context(context)
    environment = _build_environment(loader or jinja2.FileSystemLoader(str(TEMPLATES_DIR)))
    derived = _derive(context)
    names = sorted(name for name in environment.list_templates() if name.endswith(TEMPLATE_SUFFIX))
    if not names:
        raise RenderError("no templates found to render")
    rendered: dict[PurePosixPath, str] = {}
    for name in names:
        template = environment.get_template(name)
        try:
            text = template.render(context=context, derived=derived)
        except jinja2.UndefinedError as error:
            variable = _undefined_name(error)
            line = _template_line(error, template.filename or "<template>")
            where = f" line {line}" if line else ""
            raise RenderError(
                f"template {name}{where} references an undefined variable "
                f"{variable or '?'!r}: {error}",
                template=name,
                variable=variable,
                line=line,
            ) from error
        except jinja2.TemplateError as error:
            raise RenderError(f"template {name} failed: {error}", template=name) from error
        try:
            etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False))
        except etree.XMLSyntaxError as error:
            raise RenderError(
                f"template {name} rendered invalid XML (line {error.lineno}): {error.msg}",
                template=name,
                line=error.lineno,
            ) from error
        _check_preprocessor_rules(name, text)
        rendered[PurePosixPath(name[: -len(TEMPLATE_SUFFIX)])] = text
    return rendered


def render_all(
    context: RenderContext,
    target_dir: Path | str,
    *,
    loader: jinja2.BaseLoader | None = None,
) -> list[Path]:
    """Render every template into ``target_dir`` (a FreeSWITCH conf tree); return the paths.

    Nothing is written unless every file renders to valid XML; each file is then replaced
    atomically, so a FreeSWITCH reloading meanwhile never reads half a file.
    """
    rendered = render_to_memory(context, loader=loader)
    return _write_files(rendered, Path(target_dir))


def _write_files(rendered: Mapping[PurePosixPath, str], target: Path) -> list[Path]:
    staged: list[tuple[Path, Path]] = []
    try:
        for relative, text in rendered.items():
            destination = target.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            temporary = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
            # Directory and gateway files hold passwords: not world-readable.
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            staged.append((temporary, destination))
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        for temporary, destination in staged:
            os.replace(temporary, destination)
    finally:
        for temporary, _destination in staged:
            temporary.unlink(missing_ok=True)
    return [destination for _temporary, destination in staged]


# --------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None, *, stdout: Callable[[str], None] = print) -> int:
    """``python -m freeswitch_conf.render --context context.json --out DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m freeswitch_conf.render",
        description="Render the call center's FreeSWITCH XML configuration from a JSON context.",
    )
    parser.add_argument("--context", required=True, help="JSON context file ('-' for stdin)")
    parser.add_argument("--out", required=True, type=Path, help="target conf directory")
    arguments = parser.parse_args(argv)
    try:
        if arguments.context == "-":
            data = json.load(sys.stdin)
        else:
            with open(arguments.context, encoding="utf-8") as handle:
                data = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        print(f"error: cannot read context {arguments.context}: {error}", file=sys.stderr)
        return 2
    try:
        written = render_all(RenderContext.from_dict(data), arguments.out)
    except RenderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        stdout(str(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
