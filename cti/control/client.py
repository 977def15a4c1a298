"""The web tier's side of the command stream: send a request, wait for the daemon's reply."""

from __future__ import annotations

import redis

from cti.control.protocol import (
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

    def send(self, command: Command) -> Reply:
        """Queue the request and wait for its reply; a silent daemon gives a timeout reply."""
        self._redis.xadd(
            COMMAND_STREAM, command.to_fields(), maxlen=STREAM_MAXLEN, approximate=True
        )
        answer = self._redis.blpop([REPLY_PREFIX + command.request_id], timeout=self._timeout)
        if answer is None:
            return Reply.rejected(
                Reason.TIMEOUT, "The call-control service did not answer in time."
            )
        _key, raw = answer
        return Reply.from_json(raw if isinstance(raw, str) else raw.decode())
