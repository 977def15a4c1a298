"""Callbacks that keep the caller's place in the queue.

A caller who presses the queue's callback key hangs up, but the call's entry stays in the
ACD queue where it was. When the ACD reserves an agent for it, there is no caller leg to
bridge: the daemon rings the agent's phone and, once the agent answers, dials the customer
through the trunk (`originate user/<ext> &bridge(sofia/gateway/...)`). The agent's answer and
hangup arrive as events on the inbound connection; they drive the agent's state and the facts
like any other call.
"""

from __future__ import annotations

import logging
import time
import uuid as uuid_module
from typing import TYPE_CHECKING

from cti.acd.store import AcdError
from cti.esl.protocol import EslError
from cti.legs import leg_variables, trunk_caller_id

if TYPE_CHECKING:
    from cti.services import CallServices

logger = logging.getLogger(__name__)

# Tags the agent leg of a callback (its answer reaches the daemon: cti.daemon.DAEMON_FILTERS).
CALLBACK_VARIABLE = "cc_callback"

CALLBACK_KEY = "cc:callback:"
CALLBACK_TTL_SECONDS = 24 * 3600


class Callbacks:
    def __init__(self, services: CallServices) -> None:
        self.services = services
        # agent leg uuid -> (callback id, agent id)
        self.legs: dict[str, tuple[str, int]] = {}
        self.answered: dict[str, float] = {}
        self.recordings: dict[str, str] = {}

    def request(self, call_uuid: str, number: str, queue: str, position: int) -> None:
        """Remember the number; the call's queue entry stays where it is."""
        key = CALLBACK_KEY + call_uuid
        self.services.redis.hset(
            key,
            mapping={
                "number": number,
                "queue": queue,
                "position": str(position),
                "requested_at": repr(time.time()),
            },
        )
        self.services.redis.expire(key, CALLBACK_TTL_SECONDS)

    def is_callback(self, call_uuid: str) -> bool:
        return bool(self.services.redis.exists(CALLBACK_KEY + call_uuid))

    def dial(self, call_uuid: str, agent_ids: tuple[int, ...]) -> None:
        """The ACD reserved an agent for a callback: ring the agent, then the customer."""
        services = self.services
        details = services.redis.hgetall(CALLBACK_KEY + call_uuid)
        agent_id = agent_ids[0]
        for other in agent_ids[1:]:
            services.acd.release(other, call_uuid)
        leg = str(uuid_module.uuid4())
        extension = services.acd.extension_of(agent_id)
        queue = services.config().queues_by_code.get(details.get("queue", "")) or {}
        self.legs[leg] = (call_uuid, agent_id)
        try:
            services.switch_api(
                f"bgapi originate {{origination_uuid={leg},{CALLBACK_VARIABLE}={call_uuid},"
                f"{leg_variables(leg, 'agent', agent_id)},"
                f"origination_caller_id_number={details['number']},"
                f"originate_timeout={queue.get('ring_timeout_seconds', 20)}}}user/{extension} "
                f"&bridge({{{leg_variables(leg, 'external')}"
                f"{trunk_caller_id(services.settings)}}}"
                f"sofia/gateway/{services.settings.outbound_gateway}/{details['number']})"
            )
        except EslError:
            logger.exception("callback %s: could not ring agent %s", call_uuid, agent_id)
            self.legs.pop(leg, None)
            services.acd.offer_failed(agent_id, call_uuid, "no_answer")

    def on_answer(self, leg: str) -> None:
        found = self.legs.get(leg)
        if found is None or leg in self.answered:
            return
        call_uuid, agent_id = found
        self.answered[leg] = time.time()
        services = self.services
        path = services.start_recording(leg)
        if path:
            self.recordings[leg] = path
        details = services.redis.hgetall(CALLBACK_KEY + call_uuid)
        services.acd.offer_answered(agent_id, call_uuid)
        # The callback's own call (its CDR starts at the agent's answer, as its end says).
        services.facts.call_started(
            call_uuid=leg,
            direction="outbound",
            caller=details.get("number", ""),
            callee=details.get("number", ""),
            node=services.settings.node_name,
            at=self.answered[leg],
        )
        entered = float(details.get("requested_at") or time.time())
        services.facts.queue_exited(
            call_uuid=call_uuid,
            queue=details.get("queue", ""),
            entered_at=entered,
            outcome="callback",
            agent_id=agent_id,
        )

    def on_hangup(self, leg: str, cause: str) -> None:
        found = self.legs.pop(leg, None)
        if found is None:
            return
        call_uuid, agent_id = found
        services = self.services
        answered_at = self.answered.pop(leg, None)
        recording = self.recordings.pop(leg, "")
        details = services.redis.hgetall(CALLBACK_KEY + call_uuid)
        try:
            if answered_at is None:
                services.acd.offer_failed(agent_id, call_uuid, "no_answer")
                return
            services.acd.call_ended(agent_id, call_uuid, time.time() - answered_at)
        except AcdError:
            logger.info("callback %s: agent %s already moved on", call_uuid, agent_id)
        services.redis.delete(CALLBACK_KEY + call_uuid)
        if recording:
            services.recording_saved(leg, recording, agent_id)
        services.facts.call_ended(
            call_uuid=leg,
            direction="outbound",
            caller=details.get("number", ""),
            callee=details.get("number", ""),
            started_at=answered_at,
            hangup_cause=cause,
            answered_at=answered_at,
            queue=details.get("queue", ""),
            agent_id=agent_id,
            recording_path=recording,
            node=services.settings.node_name,
        )
