"""What the daemon tells the rest of the platform, live.

The daemon owns live state; it writes it to Redis hashes that any reader may poll
(`cc:live:call:<uuid>`, and the ACD's agent hashes) and announces each change as JSON on the
pub/sub channel `cc:live`. A relay in the ASGI process forwards those messages to the
browsers' Channels groups (the daemon never calls Channels: gevent and asyncio never meet
in one process). Every message carries a `type` and the ids the relay routes by.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

import redis

from cti.calls.model import Call

if TYPE_CHECKING:
    from cti.acd.router import RouteDecision
    from cti.acd.store import StateChange
    from cti.acd.strategies import WaitingCall
    from cti.facts import FactWriter

logger = logging.getLogger(__name__)

LIVE_CHANNEL = "cc:live"
CALL_KEY = "cc:live:call:"
CALLS_INDEX = "cc:live:calls"


class LiveNotifier:
    """One method per outgoing event; each writes live state, publishes, and records facts."""

    def __init__(self, client: redis.Redis, facts: FactWriter | None = None) -> None:
        self._redis = client
        self._facts = facts

    def _publish(self, message: dict[str, Any], pipe=None) -> None:
        message.setdefault("at", time.time())
        target = pipe if pipe is not None else self._redis
        target.publish(LIVE_CHANNEL, json.dumps(message, ensure_ascii=False))

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
    def agent_state_changed(self, change: StateChange) -> None:
        """The ACD changed an agent's state (AcdNotifier): live message and a fact."""
        old, new = str(change.old), str(change.new)
        previous = self._redis.set(f"cc:agentsince:{change.agent_id}", repr(change.at), get=True)
        duration = change.at - float(previous) if previous else None
        self._publish(
            {
                "type": "agent",
                "agent_id": change.agent_id,
                "old": old,
                "state": new,
                "reason": change.reason,
                "call_uuid": change.call_uuid,
                "at": change.at,
            }
        )
        if self._facts is not None:
            self._facts.agent_state_changed(
                agent_id=change.agent_id,
                old=old,
                new=new,
                reason=change.reason or "",
                duration=duration,
                call_uuid=change.call_uuid or "",
                at=change.at,
            )

    def call_queued(self, call: WaitingCall, position: int) -> None:
        self._publish(
            {
                "type": "call_queued",
                "call_uuid": call.uuid,
                "queue": call.queue,
                "position": position,
                "priority": call.priority,
            }
        )

    def call_offered(self, decision: RouteDecision) -> None:
        self._publish(
            {
                "type": "call_offered",
                "call_uuid": decision.call_uuid,
                "queue": decision.queue,
                "agents": list(decision.agent_ids),
            }
        )

    def call_left_queue(self, call_uuid: str, queue: str, reason: str) -> None:
        self._publish(
            {"type": "call_left_queue", "call_uuid": call_uuid, "queue": queue, "reason": reason}
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
