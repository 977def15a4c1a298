"""Rebuilding live state after a daemon restart or a takeover by the standby.

A new leader cannot know what the old one was doing in memory, but the switch and Redis
still know: `show channels` lists the channels that are up, and Redis holds the live calls
(`cc:live:call:*`), the agents' states and the ACD queues. `Recovery.resync` reconciles them:

- a live call whose channels are gone is closed: its CDR is written, its agent wraps up;
- a live call still up (a conversation that outlived its daemon) is adopted: the daemon
  watches its hangup to close it, and asks the switch to hang the caller up after the
  bridge instead of falling into the failover dialplan. The agent can still hold, resume
  and hang up from the desk, and supervisors listen, whisper, barge and hang up; what needs
  the caller's socket (transfers, consultation, the survey) is refused or skipped;
- an agent offered or talking for a call nobody handles any more is released;
- a queued call nobody handles any more leaves the queue (its caller reached the failover
  ring group when the old daemon's socket closed);
- a call in the IVR or a queue that a stopping leader handed over (cti/handover.py), or
  whose daemon died while the dialplan tries the sockets again (not in the failover group
  yet), is awaited: its caller connects to us and its handler goes on where it was; one that
  never comes is closed as failover after ``HANDOVER_GRACE_SECONDS``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent
import gevent.lock

from cti.acd.store import AcdError
from cti.acd.strategies import AgentStatus
from cti.calls.inbound import CONVERSATION_STATES, FAILOVER, HANDOVER_FIELD, REJOIN_VARIABLE
from cti.calls.model import CallState
from cti.esl.events import ChannelHangupComplete
from cti.handover import HANDOVER_GRACE_SECONDS
from cti.notify import CALL_KEY, CALLS_INDEX

if TYPE_CHECKING:
    from cti.services import CallServices

logger = logging.getLogger(__name__)


class Recovery:
    def __init__(self, services: CallServices, switch_api: Callable[[str], str]) -> None:
        self.services = services
        self.api = switch_api
        # uuid of a caller or agent leg -> the adopted call's uuid
        self.adopted_legs: dict[str, str] = {}
        self.adopted: dict[str, dict[str, str]] = {}
        # Adopted calls a control is hanging up -> who asked ("supervisor").
        self._hangup_by: dict[str, str] = {}
        # Calls being closed right now: a resync that lists the live calls while a close
        # (say, of an adopted call whose agent hung up) waits on Redis must not close it again.
        self._closing: set[str] = set()
        # Calls of a dead or stopped daemon coming back by the dialplan's next tries of the
        # sockets: (uuid, DID), pulled here at once by ``pull_rejoining``.
        self._to_pull: list[tuple[str, str]] = []
        self._resyncing = gevent.lock.Semaphore()

    def live_channels(self) -> set[str]:
        reply = self.api("show channels as json")
        try:
            rows = json.loads(reply).get("rows", [])
        except ValueError:
            logger.error("recovery: unreadable show channels reply: %r", reply[:200])
            raise
        return {row["uuid"] for row in rows if row.get("uuid")}

    def resync(self) -> dict[str, int]:
        # The election and a (re)connection of the switch may both ask at once: one at a
        # time, or both would close the same call.
        with self._resyncing:
            return self._resync()

    def _resync(self) -> dict[str, int]:
        services = self.services
        redis = services.redis
        router = services.acd.router
        live = self.live_channels()
        handled = {handler.call.uuid for handler in services.calls}
        counts = {"closed": 0, "adopted": 0, "released": 0, "dequeued": 0, "awaited": 0}
        awaited: list[str] = []

        for call_uuid in redis.smembers(CALLS_INDEX):
            if call_uuid in handled or call_uuid in self.adopted or call_uuid in self._closing:
                continue
            dialouts = services.dialouts
            if dialouts is not None and dialouts.is_dialled(call_uuid):
                # A call an agent dialled: its own record closes it at its hangup.
                if call_uuid not in live:
                    dialouts.close_gone(call_uuid)
                    counts["closed"] += 1
                continue
            fields = redis.hgetall(CALL_KEY + call_uuid)
            if not fields:
                # Closed since the index was read, or an index entry left without its record.
                redis.srem(CALLS_INDEX, call_uuid)
                continue
            agent_leg = fields.get("agent_leg", "")
            logger.info(
                "recovery: call %s state %s, channel %s",
                call_uuid,
                fields.get("state"),
                "up" if call_uuid in live else "gone",
            )
            if call_uuid in live and self._in_conversation(fields, call_uuid):
                self._adopt(call_uuid, fields)
                counts["adopted"] += 1
            elif call_uuid in live and self._rejoining(call_uuid, fields):
                # On its way from a stopping leader (cti/handover.py), or trying the sockets
                # again after its daemon stopped or died: its caller connects to us.
                awaited.append(call_uuid)
                counts["awaited"] += 1
            elif call_uuid in live or agent_leg in live:
                # Up but not in conversation: the old daemon's socket closed, so the switch
                # sent the caller to the failover ring group; it is no longer ours.
                self.close(call_uuid, fields, FAILOVER)
                counts["closed"] += 1
            else:
                self.close(call_uuid, fields, "")
                counts["closed"] += 1

        for agent_id_text in redis.smembers(f"{router.store.prefix}agents:logged_in"):
            agent_id = int(agent_id_text)
            agent = router.store.agent(agent_id)
            call_uuid = agent.get("call", "")
            if not call_uuid or call_uuid in handled or call_uuid in self.adopted:
                continue
            status = agent.get("status")
            try:
                if status == AgentStatus.OFFERED:
                    services.acd.release(agent_id, call_uuid)
                elif status == AgentStatus.TALKING:
                    started = float(agent.get("changed_at") or time.time())
                    services.acd.call_ended(agent_id, call_uuid, time.time() - started)
                else:
                    continue
            except AcdError:
                logger.info("recovery: agent %s already moved on", agent_id)
                continue
            counts["released"] += 1

        queues = list(services.config().queues_by_code)
        for code in queues:
            for call_uuid in router.store.waiting_calls(code):
                if call_uuid not in handled:
                    services.acd.remove(call_uuid)
                    counts["dequeued"] += 1
        if awaited:
            gevent.spawn_later(HANDOVER_GRACE_SECONDS, self.expire_handovers, awaited)
        logger.warning("recovery: %s", counts)
        return counts

    def _rejoining(self, call_uuid: str, fields: dict[str, str]) -> bool:
        """A call in the IVR or a queue whose daemon stopped or died is not in the failover
        group yet: a stopping leader hands it over, or the dialplan tries the sockets again
        (freeswitch_conf's rejoin pauses). It is marked as handed over (a stopping daemon
        marked it already), so the handler that takes it up goes on where it was."""
        marked = bool(fields.get(HANDOVER_FIELD))
        if fields.get("state") not in (CallState.IVR, CallState.QUEUED, CallState.OFFERED):
            return marked
        try:
            in_failover = self.api(f"uuid_getvar {call_uuid} cc_failover").strip() == "true"
        except Exception:
            logger.exception("recovery: cannot read call %s", call_uuid)
            return marked
        if in_failover:
            return False
        if marked:
            try:
                rejoin = bool(json.loads(fields[HANDOVER_FIELD]).get("rejoin"))
            except (ValueError, AttributeError):
                rejoin = False
        else:
            # Only a dialplan that tries the sockets again (cc_rejoin_ms) brings it back;
            # without, the switch takes it to the failover group once its application ends.
            try:
                retries = self.api(f"uuid_getvar {call_uuid} {REJOIN_VARIABLE}").strip()
            except Exception:
                logger.exception("recovery: cannot read call %s", call_uuid)
                return False
            if retries in ("", "0", "_undef_") or retries.startswith("-ERR"):
                return False
            rejoin = True
            mark = json.dumps({"node": fields.get("node", ""), "rejoin": True, "at": time.time()})
            self.services.redis.hset(CALL_KEY + call_uuid, HANDOVER_FIELD, mark)
        if rejoin and fields.get("destination"):
            # Not on its way from a stopping leader (which transfers it itself): it comes
            # back when the application it is in ends, maybe much later (an IVR menu).
            self._to_pull.append((call_uuid, fields["destination"]))
        return True

    def pull_rejoining(self) -> int:
        """Bring the callers awaited by the last resync here now, once we accept calls:
        ``uuid_transfer`` to their DID ends the application each is in (a piece of queue
        music, an IVR menu, a pause between tries of the sockets; the switch only ends a
        dead socket's control between applications), and the DID's extension runs again,
        whose ``socket`` reaches us. Returns how many were pulled."""
        pulls, self._to_pull = self._to_pull, []
        handled = {handler.call.uuid for handler in self.services.calls}
        pulled = sum(
            self.pull(call_uuid, destination)
            for call_uuid, destination in pulls
            if call_uuid not in handled  # here already
        )
        if pulls:
            logger.warning("recovery: pulled %d of %d rejoining calls", pulled, len(pulls))
        return pulled

    def pull(self, call_uuid: str, destination: str) -> bool:
        """``uuid_transfer`` the call to ``destination`` (its DID); whether the switch did.
        Only for a call no socket controls any more: a live one would lose its park."""
        try:
            reply = self.api(f"uuid_transfer {call_uuid} {destination}")
        except Exception:  # the switch's connection may be broken too
            logger.info("recovery: call %s not pulled: no switch", call_uuid)
            return False
        if not reply.startswith("+OK"):
            logger.info("recovery: call %s not pulled: %s", call_uuid, reply.strip())
            return False
        return True

    def expire_handovers(self, call_uuids: list[str]) -> int:
        """Close the handed-over calls whose caller never reached us (as failover while the
        channel is up); returns how many."""
        services = self.services
        handled = {handler.call.uuid for handler in services.calls}
        try:
            live = self.live_channels()
        except Exception:
            logger.exception("recovery: cannot list channels; handovers kept")
            return 0
        closed = 0
        for call_uuid in call_uuids:
            if call_uuid in handled:
                continue
            fields = services.redis.hgetall(CALL_KEY + call_uuid)
            if not fields.get(HANDOVER_FIELD):
                continue  # taken up (the mark is gone) or closed meanwhile
            logger.warning("recovery: handed-over call %s never arrived", call_uuid)
            self.close(call_uuid, fields, FAILOVER if call_uuid in live else "")
            closed += 1
        return closed

    def _in_conversation(self, fields: dict[str, str], call_uuid: str) -> bool:
        """Bridged by the live record, or by the ACD (the daemon may die in between)."""
        if fields.get("state") in ("bridged", "held"):
            return True
        agent_id = fields.get("agent_id")
        if not agent_id:
            return False
        agent = self.services.acd.router.store.agent(int(agent_id))
        return agent.get("call") == call_uuid and agent.get("status") == AgentStatus.TALKING

    def _adopt(self, call_uuid: str, fields: dict[str, str]) -> None:
        self.adopted[call_uuid] = fields
        self.adopted_legs[call_uuid] = call_uuid
        if fields.get("agent_leg"):
            self.adopted_legs[fields["agent_leg"]] = call_uuid
        try:
            # The socket that would have taken the caller on after the talk is gone.
            self.api(f"uuid_setvar {call_uuid} hangup_after_bridge true")
        except Exception:  # the call may end between the two commands
            logger.info("recovery: %s ended while being adopted", call_uuid)
        logger.warning("recovery: adopted call %s in conversation", call_uuid)

    # -- the desk's and the wallboard's controls on an adopted call -------------------
    def adopted_by_agent(self, agent_id: int) -> tuple[str, dict[str, str]] | None:
        """The adopted conversation on an agent's seat: (its uuid, its live record)."""
        for call_uuid, fields in self.adopted.items():
            if fields.get("agent_id") == str(agent_id):
                return call_uuid, fields
        return None

    def set_adopted_state(self, call_uuid: str, state: CallState) -> None:
        """Held or taken off hold from the desk: the live record and the wallboard say so."""
        fields = self.adopted[call_uuid]
        fields["state"] = state.value
        self.services.notifier.call_record_updated(fields)

    def ended_by(self, call_uuid: str, hangup_by: str) -> None:
        """Who ends an adopted call that is about to be hung up (a supervisor, say): not the
        party whose leg ends first."""
        self._hangup_by[call_uuid] = hangup_by

    def on_hangup_complete(self, event: ChannelHangupComplete) -> None:
        """Inbound-connection handler: an adopted call's caller or agent hung up."""
        call_uuid = self.adopted_legs.get(event.unique_id or "")
        if call_uuid is None:
            return
        fields = self.adopted.get(call_uuid)
        if fields is None:
            return
        hangup_by = self._hangup_by.pop(call_uuid, "") or (
            "caller" if event.unique_id == call_uuid else "agent"
        )
        # The recording is on the caller's channel: its length is known when that one ends.
        record_ms = event.variable("record_ms") if event.unique_id == call_uuid else None
        self.close(call_uuid, fields, hangup_by, event.hangup_cause or "NORMAL_CLEARING", record_ms)

    def close(
        self,
        call_uuid: str,
        fields: dict[str, str],
        hangup_by: str,
        cause: str = "NORMAL_CLEARING",
        record_ms: str | None = None,
    ) -> None:
        if call_uuid in self._closing:
            return  # another greenlet is closing it
        self._closing.add(call_uuid)
        try:
            self._close(call_uuid, fields, hangup_by, cause, record_ms)
        finally:
            self._closing.discard(call_uuid)

    def _close(
        self,
        call_uuid: str,
        fields: dict[str, str],
        hangup_by: str,
        cause: str,
        record_ms: str | None,
    ) -> None:
        services = self.services
        self.adopted.pop(call_uuid, None)
        self._hangup_by.pop(call_uuid, None)
        for leg in [leg for leg, owner in self.adopted_legs.items() if owner == call_uuid]:
            del self.adopted_legs[leg]
        agent_id = int(fields["agent_id"]) if fields.get("agent_id") else None
        # The talk with the agent, for the CDR: from the bridge to now for a call that ends in
        # its conversation (an adopted call's hangup), none for a call that never reached an
        # agent, not known for one whose conversation ended before.
        bridged = float(fields.get("bridged_at") or 0)
        talk: float | None = 0.0
        if bridged and fields.get("state") in CONVERSATION_STATES:
            talk = max(0.0, time.time() - bridged)
        elif bridged:
            talk = None
        if agent_id is not None:
            agent = services.acd.router.store.agent(agent_id)
            if agent.get("call") == call_uuid and agent.get("status") == AgentStatus.TALKING:
                try:
                    services.acd.call_ended(
                        agent_id, call_uuid, time.time() - (bridged or time.time())
                    )
                except AcdError:
                    pass
        started = float(fields.get("started_at") or time.time())
        queue = fields.get("queue", "")
        if queue and fields.get("state") in (CallState.QUEUED, CallState.OFFERED):
            # It left the queue when its daemon's socket closed: the switch took the caller
            # to the failover ring group.
            services.facts.queue_exited(
                call_uuid=call_uuid,
                queue=queue,
                entered_at=float(fields.get("queued_at") or started),
                outcome="overflowed",
                overflow_target=FAILOVER,
                at=_let_go_at(fields),
            )
        recording = fields.get("recording", "")
        if recording:
            services.recording_saved(call_uuid, recording, agent_id, record_ms)
        services.facts.call_ended(
            call_uuid=call_uuid,
            direction=fields.get("direction") or "inbound",
            caller=fields.get("caller", ""),
            callee=fields.get("destination", ""),
            started_at=started,
            hangup_cause=cause,
            answered_at=float(fields["answered_at"]) if fields.get("answered_at") else None,
            did=fields.get("destination", ""),
            queue=fields.get("queue", ""),
            agent_id=agent_id,
            ivr_flow=fields.get("flow", ""),
            recording_path=fields.get("recording", ""),
            hangup_by=hangup_by,
            node=services.settings.node_name,
            talk_seconds=talk,
        )
        pipe = services.redis.pipeline()
        pipe.delete(CALL_KEY + call_uuid)
        pipe.srem(CALLS_INDEX, call_uuid)
        pipe.execute()


def _let_go_at(fields: dict[str, str]) -> float | None:
    """When a daemon let go of the call (its handover mark's time): the caller left its
    queue then, not when this close comes (maybe a daemon's restart later)."""
    try:
        at = json.loads(fields.get(HANDOVER_FIELD) or "{}").get("at")
        return float(at) if at is not None else None
    except (ValueError, TypeError, AttributeError):
        return None
