"""Click to call from the desk: the agent's phone rings first, then the customer.

``dial`` rings the agent's phone with ``originate user/<ext> &bridge(sofia/gateway/...)``.
While the call lasts the agent is busy with the system reason "outbound", so the ACD offers
them nothing; their earlier status comes back when it ends. When the agent picks up the
call is recorded like an inbound one (``recordings/YYYY/MM/DD/<call uuid>.wav``), and its
end (the agent leg's CHANNEL_HANGUP_COMPLETE on the inbound connection) writes the CDR,
answered when the customer was bridged, and the recording fact.

What is needed at the end lives in Redis (``cc:dialout:<uuid>``), not in this process, so a
daemon that took over meanwhile closes the call the same way. The switch marks the agent
leg with the channel variable ``cc_dialout``: other legs' events cost no Redis lookup.
"""

from __future__ import annotations

import logging
import time
import uuid as uuid_module
from typing import TYPE_CHECKING, Any

from cti.acd.store import AcdError
from cti.acd.strategies import AgentStatus
from cti.calls.model import Call, CallState
from cti.legs import leg_variables, trunk_caller_id

if TYPE_CHECKING:
    from cti.services import CallServices

logger = logging.getLogger(__name__)

DIALOUT_KEY = "cc:dialout:"
# agent id -> the uuid of the call they dialled, while it lasts.
AGENT_DIALOUT_KEY = "cc:dialout-agent:"
# A record outlives any call; it is deleted when the call ends.
DIALOUT_TTL_SECONDS = 24 * 3600
# The busy reason (a system reason in the admin's list) while the agent is on the call.
OUTBOUND_REASON = "outbound"
MARK_VARIABLE = "cc_dialout"
# sofia's sip_hangup_disposition when the agent's phone ended the call (a BYE, or a
# refusal of the ring); send_bye and send_cancel mean the switch ended it.
PHONE_ENDED = frozenset({"recv_bye", "recv_cancel", "recv_refuse"})


class NotHeldOrHeld(Exception):
    """A hold or resume that does not fit the call's state (or that the switch refused)."""


class AgentOnCall(Exception):
    """The agent is being offered a call, is talking, or is on a call they dialled: no
    second call now."""


class DialOuts:
    def __init__(self, services: CallServices) -> None:
        self.services = services

    def dial(self, agent: dict[str, Any], extension: str, number: str) -> str:
        """Ring the agent's phone, then ``number``; returns the call's uuid.

        Raises :class:`AgentOnCall` when the agent is offered or talking, and lets the
        switch's errors through (the agent's status is put back first)."""
        services = self.services
        store = services.acd.router.store
        agent_id = int(agent["id"])
        before = store.agent(agent_id)
        status = before.get("status") or AgentStatus.LOGGED_OUT
        on_dial_out = status == AgentStatus.BUSY and before.get("reason") == OUTBOUND_REASON
        if status in (AgentStatus.OFFERED, AgentStatus.TALKING) or on_dial_out:
            raise AgentOnCall(status)
        call_uuid = str(uuid_module.uuid4())
        customer_leg = str(uuid_module.uuid4())
        started = time.time()
        logged_in = status != AgentStatus.LOGGED_OUT
        if logged_in:
            try:
                services.acd.deliver(services.acd.router.set_busy(agent_id, OUTBOUND_REASON))
            except AcdError as error:  # offered a call in the meantime
                raise AgentOnCall(str(error)) from error
        key = DIALOUT_KEY + call_uuid
        record = {
            "agent_id": str(agent_id),
            "extension": extension,
            "number": number,
            "started_at": repr(started),
            # What the agent goes back to; empty: they were not logged in.
            "status_before": status if logged_in else "",
            "reason_before": before.get("reason", "") if logged_in else "",
            "recording": "",
            "customer_leg": customer_leg,
            "held": "",
            "bridged_at": "",
        }
        services.redis.hset(key, mapping=record)
        services.redis.expire(key, DIALOUT_TTL_SECONDS)
        # On the wallboard's call list while the agent's phone rings.
        services.notifier.call_updated(self._call(call_uuid, record, CallState.OFFERED))
        services.redis.set(AGENT_DIALOUT_KEY + str(agent_id), call_uuid, ex=DIALOUT_TTL_SECONDS)
        services.facts.call_started(
            call_uuid=call_uuid,
            direction="outbound",
            caller=extension,
            callee=number,
            node=services.settings.node_name,
            at=started,
        )
        gateway = services.settings.outbound_gateway
        try:
            services.switch_bgapi(
                f"originate {{origination_uuid={call_uuid},"
                f"{leg_variables(call_uuid, 'agent', agent_id)},"
                f"{MARK_VARIABLE}=true,origination_caller_id_number={number},"
                f"cc_direction=outbound}}user/{extension} "
                f"&bridge({{origination_uuid={customer_leg},{MARK_VARIABLE}=true,"
                f"{leg_variables(call_uuid, 'external')}"
                f"{trunk_caller_id(services.settings)}}}"
                f"sofia/gateway/{gateway}/{number})",
                lambda job: self.on_originated(call_uuid, job),
            )
        except Exception:
            self._close(call_uuid, "DESTINATION_OUT_OF_ORDER", None)
            raise
        return call_uuid

    def _call(self, call_uuid: str, record: dict[str, str], state: CallState) -> Call:
        """The dialled call as a live call (the wallboard's call list)."""
        bridged = record.get("bridged_at")
        return Call(
            uuid=call_uuid,
            caller_number=record.get("extension", ""),
            destination_number=record.get("number", ""),
            direction="outbound",
            state=state,
            started_at=float(record.get("started_at") or time.time()),
            answered_at=float(bridged) if bridged else None,
            bridged_at=float(bridged) if bridged else None,
            agent_id=int(record["agent_id"]),
            agent_leg_uuid=call_uuid,
            recording_path=record.get("recording") or None,
        )

    def _publish(self, call_uuid: str, state: CallState) -> None:
        record = self.services.redis.hgetall(DIALOUT_KEY + call_uuid)
        if record:
            self.services.notifier.call_updated(self._call(call_uuid, record, state))

    def is_dialled(self, call_uuid: str) -> bool:
        return bool(self.services.redis.exists(DIALOUT_KEY + call_uuid))

    def close_gone(self, call_uuid: str) -> None:
        """Recovery: the call ended while no daemon was listening (its hangup was missed)."""
        record = self.services.redis.hgetall(DIALOUT_KEY + call_uuid)
        bridged = record.get("bridged_at") if record else None
        self._close(call_uuid, "NORMAL_CLEARING", float(bridged) if bridged else None)

    def current(self, agent_id: int) -> str | None:
        """The uuid of the call the agent dialled and is still on, if any."""
        return self.services.redis.get(AGENT_DIALOUT_KEY + str(agent_id)) or None

    def hold(self, call_uuid: str, on: bool) -> None:
        """Put the customer on hold (music) or take them off it. Raises
        :class:`NotHeldOrHeld` when the call already is (or is not) on hold."""
        services = self.services
        key = DIALOUT_KEY + call_uuid
        record = services.redis.hgetall(key)
        if not record:
            raise NotHeldOrHeld("the call is over")
        if bool(record.get("held")) == on:
            raise NotHeldOrHeld("already on hold" if on else "not on hold")
        # The agent's leg (the call's own uuid): FreeSWITCH plays the music to the held
        # channel's partner, the customer (see cti/control/handlers.py, _held_leg).
        leg = call_uuid
        reply = services.switch_api(f"uuid_hold {leg}" if on else f"uuid_hold off {leg}")
        if reply.startswith("-ERR"):
            raise NotHeldOrHeld(reply.strip())
        services.redis.hset(key, "held", "1" if on else "")
        self._publish(call_uuid, CallState.HELD if on else CallState.BRIDGED)

    # -- events of the inbound connection -------------------------------------------------
    def on_answer(self, event: Any) -> None:
        """The agent picked up: record the call from now on. The customer picked up: the
        call is a conversation (the wallboard shows it so)."""
        if not event.variable(MARK_VARIABLE):
            return
        redis = self.services.redis
        if event.variable("cc_party") == "external":
            call_uuid = event.variable("cc_call_uuid") or ""
            key = DIALOUT_KEY + call_uuid
            if redis.exists(key):
                redis.hset(key, "bridged_at", repr(time.time()))
                self._publish(call_uuid, CallState.BRIDGED)
            return
        call_uuid = event.unique_id or ""
        key = DIALOUT_KEY + call_uuid
        if not redis.exists(key):
            return
        path = self.services.start_recording(call_uuid)
        if path:
            redis.hset(key, "recording", path)

    def on_originated(self, call_uuid: str, job: Any) -> None:
        """The originate's result: on ``-ERR`` (the phone is not registered, did not answer,
        was busy) the call is over, whether or not the agent's leg ever existed."""
        if job.is_error:
            cause = job.result.strip()[len("-ERR") :].strip() or "NORMAL_TEMPORARY_FAILURE"
            self._close(call_uuid, cause.split()[0], None)

    def on_hangup_complete(self, event: Any) -> None:
        """The agent's leg ended: so did the call (the customer's leg ends with it)."""
        if not event.variable(MARK_VARIABLE) or event.variable("cc_party") == "external":
            return
        bridged_us = int(event.get("Caller-Channel-Bridged-Time") or 0)
        answered_at = bridged_us / 1e6 if bridged_us else None
        if event.variable("sip_hangup_disposition") in PHONE_ENDED:
            hangup_by = "agent"
        else:  # the switch hung the agent's phone up: the customer's side ended
            hangup_by = "customer" if answered_at else "system"
        self._close(
            event.unique_id or "", event.hangup_cause or "NORMAL_CLEARING", answered_at, hangup_by
        )

    def ending(self, call_uuid: str, by: str) -> None:
        """The desk ("agent") or a supervisor ("supervisor") is about to end the call: its
        CDR says so (the switch alone cannot tell a hang-up it was asked for)."""
        key = DIALOUT_KEY + call_uuid
        if self.services.redis.exists(key):
            self.services.redis.hset(key, "hangup_by", by)

    def _close(
        self, call_uuid: str, cause: str, answered_at: float | None, hangup_by: str = "system"
    ) -> None:
        """The CDR and the recording fact; the agent gets their status back."""
        services = self.services
        key = DIALOUT_KEY + call_uuid
        record = services.redis.hgetall(key)
        if not record or not services.redis.delete(key):
            return  # not ours, or closed already (by another daemon)
        agent_id = int(record["agent_id"])
        services.notifier.call_ended(self._call(call_uuid, record, CallState.ENDED))
        agent_key = AGENT_DIALOUT_KEY + str(agent_id)
        if services.redis.get(agent_key) == call_uuid:
            services.redis.delete(agent_key)
        if record.get("recording"):
            services.recording_saved(call_uuid, record["recording"], agent_id)
        services.facts.call_ended(
            call_uuid=call_uuid,
            direction="outbound",
            caller=record.get("extension", ""),
            callee=record.get("number", ""),
            started_at=float(record.get("started_at") or time.time()),
            hangup_cause=cause,
            answered_at=answered_at,
            agent_id=agent_id,
            recording_path=record.get("recording", ""),
            hangup_by=record.get("hangup_by") or hangup_by,
            node=services.settings.node_name,
        )
        self._restore(agent_id, record.get("status_before", ""), record.get("reason_before", ""))

    def _restore(self, agent_id: int, status: str, reason: str) -> None:
        """Back to the status before the call, unless the agent changed it meanwhile."""
        services = self.services
        router = services.acd.router
        now = router.store.agent(agent_id)
        if now.get("status") != AgentStatus.BUSY or now.get("reason") != OUTBOUND_REASON:
            return
        try:
            if status == AgentStatus.BUSY and reason:
                services.acd.deliver(router.set_busy(agent_id, reason))
            else:  # ready, or wrap-up (which the call replaced)
                services.acd.deliver(router.set_ready(agent_id))
        except AcdError:
            logger.info("outbound call: agent %s moved on before the call ended", agent_id)
