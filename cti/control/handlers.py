"""What each call-control request does, and who may ask for it.

Authorization happens here, in the daemon (the web tier only says who is asking): an agent
acts only on its own seat and its own calls; a supervisor only on agents of the groups it
supervises (admins on every agent). Every supervisor intervention is audited as a fact.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cti.acd.store import AcdError
from cti.acd.strategies import AgentStatus
from cti.calls.model import CallState
from cti.control.protocol import Command, CommandRejected, Reason, Reply
from cti.dialout import AgentOnCall, NotHeldOrHeld
from cti.esl.protocol import EslError
from cti.legs import leg_variables
from ivr_scripts.blocking import find_block

if TYPE_CHECKING:
    from cti.control.server import CommandServer
    from cti.services import CallServices

logger = logging.getLogger(__name__)

TRANSFER_KINDS = ("agent", "queue", "ivr", "number")
# eavesdrop_whisper_aleg mixes the supervisor's voice into what the eavesdropped channel
# sends (ED_MUX_READ: its bridge partner hears it), _bleg into what it is sent (ED_MUX_WRITE:
# that channel's own party hears it). Checked on FreeSWITCH 1.10.12 by the audio each phone
# received: with _bleg on an inbound call the customer heard the whisper, the agent nothing.
EAVESDROP_MODES = {
    "listen": {},
    # The eavesdropped channel is the caller's; the agent is its bridge partner.
    "whisper": {"eavesdrop_whisper_aleg": "true"},
    "barge": {"eavesdrop_whisper_aleg": "true", "eavesdrop_whisper_bleg": "true"},
}
# On a call the agent dialled the eavesdropped channel is the agent's own leg.
DIALOUT_EAVESDROP_MODES = {
    "listen": {},
    "whisper": {"eavesdrop_whisper_bleg": "true"},
    "barge": {"eavesdrop_whisper_aleg": "true", "eavesdrop_whisper_bleg": "true"},
}


def _held_leg(handler: Any) -> str:
    """The leg ``uuid_hold`` takes for the desk's hold: the agent's. FreeSWITCH holds that
    channel (its phone gets a sendonly re-INVITE, as for the phone's own hold key) and plays
    the music to its partner, the caller (switch_ivr_hold; checked on 1.10.12: holding the
    caller's leg played the music to the agent and left the caller in silence)."""
    return handler.call.agent_leg_uuid or handler.call.uuid


class CallControl:
    """Handlers for every action of the command stream."""

    def __init__(self, services: CallServices, switch_api) -> None:
        self.services = services
        # `switch_api(command) -> str`: an api call on the inbound ESL connection.
        self.api = switch_api

    def register_all(self, server: CommandServer) -> None:
        for action in (
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
            "listen",
            "whisper",
            "barge",
            "force_hangup",
            "force_logout",
            "force_busy",
            "force_ready",
        ):
            server.register(action, getattr(self, action))

    # -- who is asking ---------------------------------------------------------------
    def _own_agent(self, command: Command) -> dict[str, Any]:
        agent = self.services.config().agents_by_user.get(command.user_id)
        if agent is None or not agent.get("enabled", True):
            raise CommandRejected(Reason.NOT_AN_AGENT, "Your account is not linked to an agent.")
        return agent

    def _supervised_agent(self, command: Command) -> dict[str, Any]:
        config = self.services.config()
        if not {"supervisor", "admin"} & set(command.roles):
            raise CommandRejected(Reason.NOT_A_SUPERVISOR, "Only supervisors may do this.")
        agent = config.agents_by_id.get(int(command.args["agent_id"]))
        if agent is None:
            raise CommandRejected(Reason.UNKNOWN_TARGET, "No such agent.")
        if "admin" not in command.roles:
            groups = {m["group"] for m in agent.get("groups", [])}
            mine = {
                g["id"]
                for g in config.groups_by_id.values()
                if command.user_id in g.get("supervisors", [])
            }
            if not groups & mine:
                raise CommandRejected(
                    Reason.NOT_YOUR_AGENT, "This agent is not in a group you supervise."
                )
        return agent

    def _current_call(self, agent: dict[str, Any]):
        handler = self.services.calls.find_by_agent(agent["id"])
        if handler is None or handler.call.state not in (
            CallState.BRIDGED,
            CallState.HELD,
            CallState.OFFERED,
            CallState.CONFERENCE,
        ):
            if handler is None and self._adopted_call(agent) is not None:
                raise CommandRejected(
                    Reason.ADOPTED_CALL,
                    "This call went on across a restart of the call-control service: it can "
                    "be held, resumed and hung up, not transferred or conferenced.",
                )
            raise CommandRejected(Reason.NO_CALL, "There is no call on this seat.")
        return handler

    def _adopted_call(self, agent: dict[str, Any]) -> tuple[str, dict[str, str]] | None:
        """A conversation on the agent's seat that this daemon adopted after a restart (no
        handler: its caller's socket was the old daemon's): (its uuid, its live record)."""
        recovery = self.services.recovery
        if recovery is None or self.services.calls.find_by_agent(agent["id"]) is not None:
            return None
        return recovery.adopted_by_agent(agent["id"])

    def _seat_call(self, agent: dict[str, Any]) -> tuple[str, Any]:
        """The call on the agent's seat: (its uuid, its handler), or (the uuid, None) for a
        call the agent dialled from the desk."""
        try:
            handler = self._current_call(agent)
        except CommandRejected:
            dialled = self.services.dialouts.current(agent["id"])
            if dialled is None:
                raise
            return dialled, None
        return handler.call.uuid, handler

    def _acd(self, operation, *args) -> None:
        try:
            self.services.acd.deliver(operation(*args))
        except AcdError as error:
            raise CommandRejected(Reason.ILLEGAL_STATE, str(error)) from error

    def _audit(
        self, command: Command, action: str, agent: dict[str, Any], call_uuid: str, result: str
    ) -> None:
        self.services.facts.supervisor_action(
            supervisor_id=command.user_id,
            action=action,
            result="ok" if result.startswith("+OK") or result == "ok" else "failed",
            target_agent_id=agent["id"],
            target_call_uuid=call_uuid,
            detail=result if not result.startswith("+OK") else "",
        )

    # -- agent state -----------------------------------------------------------------
    def login(self, command: Command) -> Reply:
        agent = self._own_agent(command)
        extension = str(command.args.get("extension") or agent["extension"])
        registered = self._registered(extension)
        if registered is None:
            # The switch cannot tell (no sofia_contact): trust the login; a USER_NOT_REGISTERED
            # answer to the first offer marks the seat unregistered.
            registered = True
        router = self.services.acd.router
        ready = bool(command.args.get("ready", False))
        try:
            outcome = router.login(
                agent["id"],
                extension,
                ready=ready,
                busy_reason=command.args.get("reason", "login"),
                registered=registered,
            )
        except AcdError as error:
            raise CommandRejected(Reason.ILLEGAL_STATE, str(error)) from error
        self.services.acd.deliver(outcome)
        return Reply.ok(extension=extension, registered=registered)

    def _not_dialling(self, agent: dict[str, Any]) -> None:
        """An agent on a call they dialled is busy "outbound" until it ends: turned ready,
        the ACD offered them inbound calls on top of it (and the dialled call, its status
        restored at its end, lost its CDR); logged out, they were still on the phone."""
        if self.services.dialouts is not None and self.services.dialouts.current(agent["id"]):
            raise CommandRejected(Reason.ILLEGAL_STATE, "Finish the call you dialled first.")

    def logout(self, command: Command) -> Reply:
        agent = self._own_agent(command)
        self._not_dialling(agent)
        self._acd(self.services.acd.router.logout, agent["id"])
        return Reply.ok()

    def ready(self, command: Command) -> Reply:
        agent = self._own_agent(command)
        self._not_dialling(agent)
        self._acd(self.services.acd.router.set_ready, agent["id"])
        return Reply.ok()

    def busy(self, command: Command) -> Reply:
        agent = self._own_agent(command)
        reason = str(command.args["reason"])
        codes = {r["code"] for r in self.services.config().data.get("busy_reasons", [])}
        if codes and reason not in codes:
            raise CommandRejected(Reason.BAD_ARGUMENTS, f"Unknown busy reason {reason!r}.")
        self._not_dialling(agent)
        self._acd(self.services.acd.router.set_busy, agent["id"], reason)
        return Reply.ok()

    def _registered(self, extension: str) -> bool | None:
        """Ask the switch whether the extension is registered (None: cannot tell)."""
        try:
            reply = self.api(f"sofia_contact {extension}").strip()
        except EslError:
            return None
        if reply.startswith("error/user_not_registered"):
            return False
        if reply.startswith("-ERR"):
            return None
        return True

    # -- the agent's call ------------------------------------------------------------
    def _switch(self, command: str) -> str:
        try:
            reply = self.api(command)
        except EslError as error:
            raise CommandRejected(Reason.SWITCH_ERROR, str(error)) from error
        if reply.startswith("-ERR"):
            raise CommandRejected(Reason.SWITCH_ERROR, reply.strip())
        return reply

    def answer(self, command: Command) -> Reply:
        agent = self._own_agent(command)
        handler = self._current_call(agent)
        offer = handler.offer
        leg = offer.legs.get(agent["id"]) if offer else None
        if leg is None or handler.call.state is not CallState.OFFERED:
            raise CommandRejected(Reason.ILLEGAL_STATE, "No call is ringing on this seat.")
        # Desk phones answer on a SIP NOTIFY "talk"; the simulator's phones do the same.
        self._switch(f"uuid_phone_event {leg} talk")
        return Reply.ok(call_uuid=handler.call.uuid)

    def hangup(self, command: Command) -> Reply:
        agent = self._own_agent(command)
        adopted = self._adopted_call(agent)
        if adopted is not None:
            call_uuid, fields = adopted
            self._switch(f"uuid_kill {fields.get('agent_leg') or call_uuid}")
            return Reply.ok(call_uuid=call_uuid)
        call_uuid, handler = self._seat_call(agent)
        if handler is None:  # a call the agent dialled: its leg is the call
            self.services.dialouts.ending(call_uuid, "agent")
            self._switch(f"uuid_kill {call_uuid}")
            return Reply.ok(call_uuid=call_uuid)
        leg = handler.call.agent_leg_uuid or (
            handler.offer.legs.get(agent["id"]) if handler.offer else None
        )
        self._switch(f"uuid_kill {leg}")
        return Reply.ok(call_uuid=handler.call.uuid)

    def _hold_dialled(self, call_uuid: str, on: bool) -> Reply:
        try:
            self.services.dialouts.hold(call_uuid, on)
        except NotHeldOrHeld as error:
            raise CommandRejected(Reason.ILLEGAL_STATE, str(error)) from error
        return Reply.ok(call_uuid=call_uuid)

    def _hold_adopted(self, call_uuid: str, fields: dict[str, str], on: bool) -> Reply:
        if on and fields.get("state") != CallState.BRIDGED:
            raise CommandRejected(Reason.ILLEGAL_STATE, "Only a connected call can be held.")
        if not on and fields.get("state") != CallState.HELD:
            raise CommandRejected(Reason.ILLEGAL_STATE, "The call is not on hold.")
        leg = fields.get("agent_leg") or call_uuid
        self._switch(f"uuid_hold {leg}" if on else f"uuid_hold off {leg}")
        self.services.recovery.set_adopted_state(
            call_uuid, CallState.HELD if on else CallState.BRIDGED
        )
        return Reply.ok(call_uuid=call_uuid)

    def _hold_in_room(self, handler: Any, on: bool) -> Reply:
        try:
            handler.hold_in_room(on)
        except (RuntimeError, EslError) as error:
            raise CommandRejected(Reason.SWITCH_ERROR, str(error)) from error
        return Reply.ok(call_uuid=handler.call.uuid)

    def hold(self, command: Command) -> Reply:
        agent = self._own_agent(command)
        adopted = self._adopted_call(agent)
        if adopted is not None:
            return self._hold_adopted(*adopted, on=True)
        call_uuid, handler = self._seat_call(agent)
        if handler is None:  # a call the agent dialled: the customer hears the music
            return self._hold_dialled(call_uuid, True)
        if handler.call.state is CallState.CONFERENCE:
            return self._hold_in_room(handler, True)
        if handler.call.state is not CallState.BRIDGED:
            raise CommandRejected(Reason.ILLEGAL_STATE, "Only a connected call can be held.")
        self._switch(f"uuid_hold {_held_leg(handler)}")
        handler.call.transition(CallState.HELD)
        handler.publish()
        return Reply.ok(call_uuid=handler.call.uuid)

    def resume(self, command: Command) -> Reply:
        agent = self._own_agent(command)
        adopted = self._adopted_call(agent)
        if adopted is not None:
            return self._hold_adopted(*adopted, on=False)
        call_uuid, handler = self._seat_call(agent)
        if handler is None:
            return self._hold_dialled(call_uuid, False)
        if handler.held_in_room:
            return self._hold_in_room(handler, False)
        if handler.call.state is not CallState.HELD:
            raise CommandRejected(Reason.ILLEGAL_STATE, "The call is not on hold.")
        self._switch(f"uuid_hold off {_held_leg(handler)}")
        handler.call.transition(CallState.BRIDGED)
        handler.publish()
        return Reply.ok(call_uuid=handler.call.uuid)

    def transfer(self, command: Command) -> Reply:
        """Blind transfer of the caller to an agent, a queue, an IVR flow or a number."""
        agent = self._own_agent(command)
        handler = self._current_call(agent)
        if handler.call.state is CallState.OFFERED:
            # Still ringing: the transfer would be left pending for a call never connected.
            raise CommandRejected(Reason.ILLEGAL_STATE, "Answer the call before transferring it.")
        kind = command.args["kind"]
        target = str(command.args["target"])
        config = self.services.config()
        if kind not in TRANSFER_KINDS:
            raise CommandRejected(Reason.BAD_ARGUMENTS, f"Unknown transfer kind {kind!r}.")
        if kind == "queue" and target not in config.queues_by_code:
            raise CommandRejected(Reason.UNKNOWN_TARGET, f"No queue {target!r}.")
        if kind == "agent":
            target_agent = config.agents_by_id.get(int(target))
            if target_agent is None or target_agent["id"] == agent["id"]:
                raise CommandRejected(Reason.UNKNOWN_TARGET, "Choose another agent.")
            status = self.services.acd.router.store.agent(target_agent["id"]).get("status")
            if status != AgentStatus.READY:
                # Refused here, the caller stays with this agent; accepted, a busy target
                # would leave the caller nobody but the "agent unavailable" prompt.
                raise CommandRejected(
                    Reason.ILLEGAL_STATE, "That agent is not free to take the call."
                )
        if kind == "number":
            self._check_outbound_blacklist(target)
        in_room = handler.in_room
        if handler.call.state is CallState.HELD and not in_room:
            self._switch(f"uuid_hold off {_held_leg(handler)}")
            handler.call.transition(CallState.BRIDGED)
        action: dict[str, Any] = {"kind": kind}
        action.update(
            {"queue": target}
            if kind == "queue"
            else {"agent_id": int(target)}
            if kind == "agent"
            else {"flow": target, "node": command.args.get("node")}
            if kind == "ivr"
            else {"number": target}
        )
        handler.pending_action = action
        handler.call.transition(CallState.TRANSFERRING)
        handler.publish()
        if in_room:
            # Out of a conference room: everybody leaves it; the caller goes on.
            self._switch(f"conference {handler.room} kick all")
        else:
            self._switch(f"uuid_kill {handler.call.agent_leg_uuid}")
        return Reply.ok(call_uuid=handler.call.uuid)

    def _consult_target(self, command: Command, agent: dict[str, Any]) -> tuple[str, int | None]:
        """The dial string of the party to consult, and its agent id when it is an agent."""
        kind = command.args["kind"]
        target = str(command.args["target"])
        if kind == "agent":
            other = self.services.config().agents_by_id.get(int(target))
            if other is None or other["id"] == agent["id"]:
                raise CommandRejected(Reason.UNKNOWN_TARGET, "Choose another agent.")
            try:
                self.services.acd.consult_started(other["id"])
            except AcdError as error:
                raise CommandRejected(
                    Reason.ILLEGAL_STATE, "That agent is not free to take a consultation."
                ) from error
            extension = self.services.acd.extension_of(other["id"]) or other["extension"]
            return f"user/{extension}", other["id"]
        if kind == "number":
            if not target.lstrip("+").isdigit():
                raise CommandRejected(Reason.BAD_ARGUMENTS, "Not a phone number.")
            self._check_outbound_blacklist(target)
            return f"sofia/gateway/{self.services.settings.outbound_gateway}/{target}", None
        raise CommandRejected(Reason.BAD_ARGUMENTS, f"Cannot consult a {kind!r}.")

    def consult(self, command: Command) -> Reply:
        """Attended transfer, step 1: the caller waits with music while the agent consults."""
        return self._start_room(command, three_way=False)

    def conference(self, command: Command) -> Reply:
        """Three-way: the agent, the caller and a third party in one conference."""
        return self._start_room(command, three_way=True)

    def _start_room(self, command: Command, three_way: bool) -> Reply:
        agent = self._own_agent(command)
        handler = self._current_call(agent)
        if not handler.can_consult:
            raise CommandRejected(Reason.ILLEGAL_STATE, "Only a connected call can do this.")
        dial, target_agent = self._consult_target(command, agent)
        try:
            handler.start_consultation(dial, target_agent, three_way)
        except (RuntimeError, EslError) as error:
            if target_agent is not None:
                self.services.acd.consult_ended(target_agent)
            raise CommandRejected(Reason.SWITCH_ERROR, str(error)) from error
        return Reply.ok(call_uuid=handler.call.uuid, room=handler.room)

    def _decide(self, command: Command, decision: str) -> Reply:
        agent = self._own_agent(command)
        handler = self.services.calls.find_by_agent(agent["id"])
        if handler is None or handler.call.state is not CallState.TRANSFERRING:
            raise CommandRejected(Reason.ILLEGAL_STATE, "No consultation in progress.")
        try:
            handler.decide_consultation(decision)
        except (RuntimeError, EslError) as error:
            raise CommandRejected(Reason.SWITCH_ERROR, str(error)) from error
        return Reply.ok(call_uuid=handler.call.uuid)

    def consult_complete(self, command: Command) -> Reply:
        """Attended transfer, step 2: hand the caller to the consulted party."""
        return self._decide(command, "complete")

    def consult_cancel(self, command: Command) -> Reply:
        """Attended transfer abandoned: drop the consulted party, back to the caller."""
        return self._decide(command, "cancel")

    def _check_outbound_blacklist(self, number: str) -> None:
        entries = self.services.config().data.get("blacklist", [])
        if find_block(entries, number, "out", datetime.now(UTC)) is not None:
            raise CommandRejected(Reason.BLACKLISTED, "This number may not be called.")

    def dial(self, command: Command) -> Reply:
        """Click to call: ring the agent's phone, then the customer through the trunk."""
        agent = self._own_agent(command)
        number = str(command.args["number"])
        if not number.lstrip("+").isdigit():
            raise CommandRejected(Reason.BAD_ARGUMENTS, "Not a phone number.")
        self._check_outbound_blacklist(number)
        extension = self.services.acd.extension_of(agent["id"]) or agent["extension"]
        try:
            call_uuid = self.services.dialouts.dial(agent, extension, number)
        except AgentOnCall as error:
            raise CommandRejected(
                Reason.ILLEGAL_STATE, "Finish the call you are on first."
            ) from error
        except EslError as error:
            raise CommandRejected(Reason.SWITCH_ERROR, str(error)) from error
        return Reply.ok(call_uuid=call_uuid)

    # -- supervisors -----------------------------------------------------------------
    def _eavesdrop(self, command: Command, mode: str) -> Reply:
        agent = self._supervised_agent(command)
        adopted = self._adopted_call(agent)
        if adopted is not None:  # an inbound conversation: the caller's channel, as below
            call_uuid, handler, modes = adopted[0], None, EAVESDROP_MODES
        else:
            call_uuid, handler = self._seat_call(agent)
            modes = EAVESDROP_MODES if handler is not None else DIALOUT_EAVESDROP_MODES
        supervisor = self.services.config().agents_by_user.get(command.user_id)
        extension = command.args.get("extension") or (supervisor or {}).get("extension")
        if not extension:
            raise CommandRejected(Reason.BAD_ARGUMENTS, "Which phone should ring for you?")
        variables: dict[str, str] = {
            "eavesdrop_enable_dtmf": "true",
            "cc_supervisor": str(command.user_id),
            **modes[mode],
        }
        leg = str(uuid.uuid4())
        if handler is not None:
            # Ended with the conversation: the caller goes on to the survey.
            handler.supervisor_legs.add(leg)
        variables["origination_uuid"] = leg
        prefix = ",".join(f"{k}={v}" for k, v in variables.items())
        tag = leg_variables(call_uuid, "supervisor", (supervisor or {}).get("id"))
        prefix = f"{prefix},{tag}"
        # Audited with the originate's result: "ok" once the supervisor's phone answered
        # and the eavesdrop started, "failed" with the cause (not answered, not registered).
        try:
            self.services.switch_bgapi(
                f"originate {{{prefix}}}user/{extension} &eavesdrop({call_uuid})",
                lambda job: self._audit(
                    command, mode, agent, call_uuid, job.result.strip() or "ok"
                ),
            )
        except EslError as error:
            raise CommandRejected(Reason.SWITCH_ERROR, str(error)) from error
        return Reply.ok(call_uuid=call_uuid)

    def listen(self, command: Command) -> Reply:
        return self._eavesdrop(command, "listen")

    def whisper(self, command: Command) -> Reply:
        return self._eavesdrop(command, "whisper")

    def barge(self, command: Command) -> Reply:
        return self._eavesdrop(command, "barge")

    def force_hangup(self, command: Command) -> Reply:
        agent = self._supervised_agent(command)
        adopted = self._adopted_call(agent)
        if adopted is not None:
            call_uuid = adopted[0]
            self.services.recovery.ended_by(call_uuid, "supervisor")
        else:
            call_uuid, handler = self._seat_call(agent)
            if handler is not None:
                handler.hangup_by = "supervisor"  # not the caller, whose leg this ends
            else:
                self.services.dialouts.ending(call_uuid, "supervisor")
        self._switch(f"uuid_kill {call_uuid}")
        self._audit(command, "hangup", agent, call_uuid, "ok")
        return Reply.ok(call_uuid=call_uuid)

    def force_logout(self, command: Command) -> Reply:
        agent = self._supervised_agent(command)
        self._not_dialling(agent)
        self._acd(self.services.acd.router.logout, agent["id"])
        self._audit(command, "logout", agent, "", "ok")
        return Reply.ok()

    def force_busy(self, command: Command) -> Reply:
        agent = self._supervised_agent(command)
        self._not_dialling(agent)
        self._acd(self.services.acd.router.set_busy, agent["id"], "forced")
        self._audit(command, "busy", agent, "", "ok")
        return Reply.ok()

    def force_ready(self, command: Command) -> Reply:
        agent = self._supervised_agent(command)
        self._not_dialling(agent)
        self._acd(self.services.acd.router.set_ready, agent["id"])
        self._audit(command, "ready", agent, "", "ok")
        return Reply.ok()
