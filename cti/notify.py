"""What the daemon tells the rest of the platform, live.

The daemon owns live state; it writes it to Redis hashes that any reader may poll
(`cc:call:<uuid>`, and the ACD's agent hashes) and announces each change as JSON on the
pub/sub channel `cc:live`. A relay in the ASGI process forwards those messages to the
browsers' Channels groups (the daemon never calls Channels: gevent and asyncio never meet
in one process). Every message carries a `type` and the ids the relay routes by.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Protocol

import redis

from cti.calls.model import Call

logger = logging.getLogger(__name__)

LIVE_CHANNEL = "cc:live"
CALL_KEY = "cc:call:"
CALLS_INDEX = "cc:calls"


class FactSink(Protocol):
    def emit(
        self, kind: str, subject: str, payload: dict[str, Any], at: float | None = None
    ) -> Any: ...


class LiveNotifier:
    """One method per outgoing event; each writes live state, publishes, and records facts."""

    def __init__(self, client: redis.Redis, facts: FactSink | None = None) -> None:
        self._redis = client
        self._facts = facts

    def _publish(self, message: dict[str, Any], pipe=None) -> None:
        message.setdefault("at", time.time())
        target = pipe if pipe is not None else self._redis
        target.publish(LIVE_CHANNEL, json.dumps(message, ensure_ascii=False))

    def _fact(self, kind: str, subject: str, payload: dict[str, Any]) -> None:
        if self._facts is not None:
            self._facts.emit(kind, subject, payload)

    # --- calls -----------------------------------------------------------------------
    def call_updated(self, call: Call) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(CALL_KEY + call.uuid, mapping=call.live_fields())
        pipe.sadd(CALLS_INDEX, call.uuid)
        self._publish({"type": "call", "call": call.live_fields()}, pipe)
        pipe.execute()

    def call_ended(self, call: Call) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.delete(CALL_KEY + call.uuid)
        pipe.srem(CALLS_INDEX, call.uuid)
        self._publish({"type": "call_ended", "call": call.live_fields()}, pipe)
        pipe.execute()

    def screen_pop(self, agent_id: int, call: Call, customer: dict[str, Any] | None) -> None:
        """Tell the agent's desk who is calling, with what the IVR learnt."""
        self._publish(
            {
                "type": "screen_pop",
                "agent_id": agent_id,
                "call_uuid": call.uuid,
                "caller": call.caller_number,
                "destination": call.destination_number,
                "queue": call.queue,
                "digits": call.digits,
                "variables": {k: str(v) for k, v in call.variables.items()},
                "customer_id": call.customer_id,
                "customer": customer,
            }
        )

    # --- agents and queues -----------------------------------------------------------
    def agent_state_changed(
        self,
        agent_id: int,
        old: str,
        new: str,
        reason: str = "",
        duration: float | None = None,
        call_uuid: str | None = None,
    ) -> None:
        self._publish(
            {
                "type": "agent",
                "agent_id": agent_id,
                "old": old,
                "state": new,
                "reason": reason,
                "call_uuid": call_uuid,
            }
        )
        self._fact(
            "agent_state_changed",
            f"agent:{agent_id}",
            {
                "agent_id": agent_id,
                "old": old,
                "new": new,
                "reason": reason,
                "duration": duration,
                "call_uuid": call_uuid,
            },
        )

    def queue_changed(self, queue: str, waiting: int, longest_wait: float) -> None:
        self._publish(
            {"type": "queue", "queue": queue, "waiting": waiting, "longest_wait": longest_wait}
        )

    def command_result(self, user_id: int, action: str, accepted: bool, code: str) -> None:
        self._publish(
            {
                "type": "command",
                "user_id": user_id,
                "action": action,
                "accepted": accepted,
                "code": code,
            }
        )

    def fact(self, kind: str, subject: str, payload: dict[str, Any]) -> None:
        """Record a durable fact that has no live counterpart."""
        self._fact(kind, subject, payload)
