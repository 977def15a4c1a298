"""A stand-in for the daemon's command server: reads the real command stream, replies.

Used where the test is about the web tier (what it sends, how it shows the reply); the
end-to-end browser tests run the real daemon.
"""

from __future__ import annotations

import threading

import redis

from cti.control.protocol import COMMAND_STREAM, REPLY_PREFIX, Command, Reply


class ReplyingDaemon:
    """Answers each command with `decide(command) -> Reply` and keeps what it received."""

    def __init__(self, redis_url: str, decide) -> None:
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.decide = decide
        self.received: list[Command] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ReplyingDaemon:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self.client.close()

    def _run(self) -> None:
        last = "0-0"
        while not self._stop.is_set():
            answer = self.client.xread({COMMAND_STREAM: last}, block=100, count=10)
            for _stream, entries in answer or ():
                for entry_id, fields in entries:
                    last = entry_id
                    command = Command.from_fields(fields)
                    self.received.append(command)
                    reply: Reply = self.decide(command)
                    self.client.rpush(REPLY_PREFIX + command.request_id, reply.to_json())
