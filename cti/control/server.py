"""The daemon's side of the command stream: read requests, dispatch, reply.

Handlers are plain callables registered per action; they raise `CommandRejected` to refuse.
Reading uses a consumer group, so a request is handled once even with a standby daemon
attached, and a request read by a daemon that died before replying is re-read after restart
(its sender has long given up; the reply is still written and expires).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis

from cti.control.protocol import (
    COMMAND_GROUP,
    COMMAND_STREAM,
    REPLY_PREFIX,
    REPLY_TTL_SECONDS,
    Command,
    CommandRejected,
    Reason,
    Reply,
)

logger = logging.getLogger(__name__)

Handler = Callable[[Command], Reply]


class CommandServer:
    def __init__(self, client: redis.Redis, consumer: str, block_ms: int = 1000) -> None:
        self._redis = client
        self._consumer = consumer
        self._block_ms = block_ms
        self._handlers: dict[str, Handler] = {}
        self.handled = 0

    def register(self, action: str, handler: Handler) -> None:
        self._handlers[action] = handler

    def ensure_group(self) -> None:
        try:
            self._redis.xgroup_create(COMMAND_STREAM, COMMAND_GROUP, id="$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def handle(self, command: Command) -> Reply:
        handler = self._handlers.get(command.action)
        if handler is None:
            return Reply.rejected(Reason.UNKNOWN_ACTION, f"Unknown action {command.action!r}.")
        try:
            return handler(command)
        except CommandRejected as exc:
            return Reply.rejected(exc.code, exc.message)
        except (KeyError, TypeError, ValueError) as exc:
            logger.info("bad arguments for %s: %s", command.action, exc)
            return Reply.rejected(Reason.BAD_ARGUMENTS, f"Bad arguments: {exc}")
        except Exception:
            logger.exception("command %s failed", command.action)
            return Reply.rejected(Reason.SWITCH_ERROR, "The request failed; see the daemon log.")

    def poll_once(self, pending: bool = False) -> int:
        """Read and handle one batch; `pending` re-reads this consumer's unacknowledged ones."""
        start = "0" if pending else ">"
        batches = self._redis.xreadgroup(
            COMMAND_GROUP,
            self._consumer,
            {COMMAND_STREAM: start},
            count=100,
            block=None if pending else self._block_ms,
        )
        count = 0
        for _stream, entries in batches or []:
            for entry_id, fields in entries:
                if not fields:
                    continue
                command = Command.from_fields(fields)
                reply = self.handle(command)
                key = REPLY_PREFIX + command.request_id
                pipe = self._redis.pipeline()
                pipe.rpush(key, reply.to_json())
                pipe.expire(key, REPLY_TTL_SECONDS)
                pipe.xack(COMMAND_STREAM, COMMAND_GROUP, entry_id)
                pipe.execute()
                count += 1
        self.handled += count
        return count

    def serve(self, stop_event) -> None:
        """Loop until `stop_event` is set (run in a greenlet)."""
        self.ensure_group()
        self.poll_once(pending=True)
        while not stop_event.is_set():
            try:
                self.poll_once()
            except redis.ConnectionError:
                logger.warning("command stream: Redis unreachable, retrying")
                stop_event.wait(1.0)
