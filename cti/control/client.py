"""The web tier's side of the command stream: send a request, wait for the daemon's reply."""

from __future__ import annotations

from typing import Any

import redis

from cti.control.protocol import (
    COMMAND_GROUP,
    COMMAND_STREAM,
    REPLY_PREFIX,
    STREAM_MAXLEN,
    Command,
    Reason,
    Reply,
)


class CommandClient:
    """Sends call-control requests to whichever daemon leads."""

    def __init__(self, client: redis.Redis, timeout_seconds: float = 5.0) -> None:
        self._redis = client
        self._timeout = timeout_seconds
        self._group_ready = False

    def _ensure_group(self) -> None:
        """The daemons' consumer group must exist before the first request, or a request
        sent while no daemon has started yet would never be delivered."""
        if self._group_ready:
            return
        try:
            self._redis.xgroup_create(COMMAND_STREAM, COMMAND_GROUP, id="$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def send(self, command: Command) -> Reply:
        """Queue the request and wait for its reply; a silent daemon gives a timeout reply."""
        try:
            self._ensure_group()
            fields: dict[Any, Any] = command.to_fields()
            self._redis.xadd(COMMAND_STREAM, fields, maxlen=STREAM_MAXLEN, approximate=True)
            answer = self._redis.blpop([REPLY_PREFIX + command.request_id], timeout=self._timeout)
        except (redis.TimeoutError, redis.ConnectionError):
            # A socket timeout near the BLPOP wait, or Redis down: the same answer to people.
            answer = None
        if answer is None:
            return Reply.rejected(
                Reason.TIMEOUT, "The call-control service did not answer in time."
            )
        _key, raw = answer
        return Reply.from_json(raw if isinstance(raw, str) else raw.decode())
