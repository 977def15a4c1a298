"""The command stream protocol shared by the web tier (sender) and the daemon (receiver).

A request is one entry on the stream `cc:commands`: who asks (user id and roles, as Django
authenticated them), the action, its arguments as JSON, and a request id. The daemon that
holds the leader lease reads it through a consumer group, decides, and pushes one reply to
the list `cc:reply:<request id>`, which the sender waits on with BLPOP. A reply is either
accepted (with data) or rejected with a stable reason code and a human message.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

COMMAND_STREAM = "cc:commands"
COMMAND_GROUP = "cti"
REPLY_PREFIX = "cc:reply:"
REPLY_TTL_SECONDS = 60
STREAM_MAXLEN = 100_000

AGENT_ACTIONS = frozenset(
    {
        "login",
        "logout",
        "ready",
        "busy",
        "answer",
        "hangup",
        "hold",
        "resume",
        "transfer",
        "consult",
        "consult_complete",
        "consult_cancel",
        "conference",
        "dial",
    }
)
SUPERVISOR_ACTIONS = frozenset(
    {"listen", "whisper", "barge", "force_hangup", "force_logout", "force_busy", "force_ready"}
)
ACTIONS = AGENT_ACTIONS | SUPERVISOR_ACTIONS


class Reason:
    """Stable codes of rejected requests (the desk translates them for people)."""

    UNKNOWN_ACTION = "unknown_action"
    BAD_ARGUMENTS = "bad_arguments"
    NOT_AN_AGENT = "not_an_agent"
    NOT_YOUR_CALL = "not_your_call"
    NOT_YOUR_AGENT = "not_your_agent"
    NOT_A_SUPERVISOR = "not_a_supervisor"
    NO_CALL = "no_call"
    ILLEGAL_STATE = "illegal_state"
    # A conversation taken over after a daemon restart: no socket controls its caller.
    ADOPTED_CALL = "adopted_call"
    BLACKLISTED = "blacklisted"
    SWITCH_ERROR = "switch_error"
    NOT_REGISTERED = "not_registered"
    TIMEOUT = "timeout"
    UNKNOWN_TARGET = "unknown_target"


@dataclass(frozen=True)
class Command:
    action: str
    user_id: int
    roles: tuple[str, ...] = ()
    args: dict[str, Any] = field(default_factory=dict)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_fields(self) -> dict[str, str]:
        return {
            "request_id": self.request_id,
            "action": self.action,
            "user_id": str(self.user_id),
            "roles": ",".join(self.roles),
            "args": json.dumps(self.args, ensure_ascii=False),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Command:
        return cls(
            action=fields.get("action", ""),
            user_id=int(fields.get("user_id") or 0),
            roles=tuple(r for r in fields.get("roles", "").split(",") if r),
            args=json.loads(fields.get("args") or "{}"),
            request_id=fields.get("request_id", ""),
        )


@dataclass(frozen=True)
class Reply:
    accepted: bool
    code: str = "ok"
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def ok(cls, message: str = "", **data: Any) -> Reply:
        return cls(True, "ok", message, data)

    @classmethod
    def rejected(cls, code: str, message: str) -> Reply:
        return cls(False, code, message)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Reply:
        data = json.loads(raw)
        return cls(data["accepted"], data["code"], data.get("message", ""), data.get("data", {}))


class CommandRejected(Exception):
    """Raised by a daemon handler to reject a request with a reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
