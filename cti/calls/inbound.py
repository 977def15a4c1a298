"""One inbound call, from the dialplan's `socket` application to the last fact.

The handler runs in the outbound-socket connection's greenlet: it answers, runs the DID's IVR
flow, waits in a queue with music and announcements, offers the call to agents through the
`bridge` application (one agent, or several at once for ring-all), and after the talk sends
the caller to the satisfaction survey when the agent hung up first. A second greenlet pumps
the session's events: DTMF while queued, the bridge to an agent (which starts the recording,
announces the agent's work number and pops the customer on the desk), hangups.

FreeSWITCH sends the call to the ring group when the socket closes on a live channel
(freeswitch_conf's failover), so the handler always ends a call it is done with by hanging
it up, never by just closing.
"""

from __future__ import annotations

import json
import logging
import time
import uuid as uuid_module
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
import gevent.lock

from cti.acd.store import AcdError
from cti.calls.model import Call, CallState
from cti.esl.events import ChannelBridge, ChannelUnbridge, Dtmf
from cti.esl.events import ChannelHangup as ChannelHangupEvent
from cti.esl.outbound import ChannelHangup, OutboundSession
from cti.esl.protocol import ConnectionLost, EslError
from cti.facts import FAILOVER
from cti.legs import leg_variables, trunk_caller_id
from cti.notify import CALL_KEY
from cti.services import recording_path

if TYPE_CHECKING:
    from cti.services import CallServices

logger = logging.getLogger(__name__)

S = CallState

# How long a finished call waits for the switch to close its recording (CHANNEL_HANGUP_COMPLETE
# follows the hangup at once on a healthy switch).
RECORDING_CLOSE_SECONDS = 5.0

# States in which the caller talks with somebody through the switch.
CONVERSATION_STATES = frozenset({S.BRIDGED, S.HELD, S.TRANSFERRING, S.CONFERENCE})
# States in which a stopping leader hands the call to the next one (cti/handover.py); an
# offered call is first queued again (its agents' phones stop ringing).
HANDOVER_STATES = frozenset({S.IVR, S.QUEUED, S.OFFERED})
# The channel variable and the live record's field of a handed-over call (cti/handover.py).
HANDOVER_VARIABLE = "cc_handover"
HANDOVER_FIELD = "handover"
# Set on the caller's channel by the daemon that takes the call: a later connection of the
# same call (the dialplan tries the sockets again after a daemon died) is a rejoin.
NODE_VARIABLE = "cc_node"
# Set by the dialplan when it tries the sockets again after this one returns (freeswitch_conf's
# rejoin pauses), to their total in ms: a daemon that stops alone may leave such a caller for
# the daemon that starts next.
REJOIN_VARIABLE = "cc_rejoin_ms"

# FreeSWITCH causes of a failed offer -> how the ACD counts it.
FAILED_OFFER_KINDS = {
    "NO_ANSWER": "no_answer",
    "NO_USER_RESPONSE": "no_answer",
    "ALLOTTED_TIMEOUT": "no_answer",
    "ORIGINATOR_CANCEL": "no_answer",
    "PROGRESS_TIMEOUT": "no_answer",
    "USER_BUSY": "busy",
    "CALL_REJECTED": "reject",
    "USER_NOT_REGISTERED": "unregistered",
    "SUBSCRIBER_ABSENT": "unregistered",
}


@dataclass
class Offer:
    """Agents ringing for the call: agent id -> the leg uuid we gave their channel."""

    legs: dict[int, str]
    started_at: float
    answered_by: int | None = None
    answered_at: float | None = None


class SocketLost(Exception):
    """The call's socket closed with the channel still up: the connection broke, and the
    switch's socket application returned (the dialplan goes on)."""


# How long a rejoining connection waits for the handler of the call's broken one to let go.
PREVIOUS_HANDLER_SECONDS = 5.0
# Music on hold plays in pieces this long at most (see InboundCallHandler._music), and a
# piece shorter than MUSIC_MIN_SECONDS (a missing file) is followed by a pause that long.
MUSIC_PIECE_SECONDS = 20
MUSIC_MIN_SECONDS = 1.0
# A room emptied while the caller was still joining it is emptied again after this long.
ROOM_RECHECK_SECONDS = 1.0


class InboundCallHandler:
    """Drives one call; `run()` returns when the call is over."""

    def __init__(self, session: OutboundSession, services: CallServices) -> None:
        self.session = session
        self.services = services
        data = session.channel_data
        assert data is not None, "the server sends connect before handing the session over"
        destination = data.variable("cc_did") or data.destination_number or ""
        self.call = Call(
            uuid=data.unique_id or str(uuid_module.uuid4()),
            caller_number=data.caller_number or "",
            destination_number=destination,
        )
        self.offer: Offer | None = None
        self.wake = gevent.event.Event()
        self.pressed: list[str] = []
        self.pending_action: dict[str, Any] | None = None
        self.hangup_by = ""
        self.customer: dict[str, str] | None = None
        self.callback_requested = False
        self.consult_leg: str | None = None
        self.consult_agent: int | None = None
        self.consult_decision: str | None = None
        self.room_legs: set[str] = set()
        # The caller is held in the conference room (see hold_in_room), for a consultation
        # started from the room too.
        self.held_in_room = False
        self.consulting_in_room = False
        # Supervisors' listen/whisper/barge legs on this call (see _end_supervisor_legs).
        self.supervisor_legs: set[str] = set()
        # The leg to an outside number the caller is bridged to (see bridge_outside).
        self.outside_leg: str | None = None
        # Ringing a named agent (a transfer to that agent): the ACD routes it through the
        # agent's queue, but the call waits in no queue; no queue entry, exit or abandon.
        self.direct_offer = False
        # The last agent who talked with the caller, once the call went on without them (a
        # blind transfer): the CDR, the recording and the survey still name them.
        self.served_by: int | None = None
        self._pump: gevent.Greenlet | None = None
        self._wrap_up_agent: int | None = None
        self._talk_started: float | None = None
        # Seconds the caller talked with agents, for the CDR (each agent's part, as the ACD
        # counts it).
        self._talked = 0.0
        self._recorded_ms: str | None = None
        self._bridge_lock = gevent.lock.Semaphore()
        self._publish_lock = gevent.lock.Semaphore()
        # Set when the daemon stops while the call is still up (see _finish).
        self.let_go = False
        # The greenlet running the call, once it runs.
        self.greenlet: gevent.Greenlet | None = None
        # A stopping leader hands the call over (cti/handover.py): asked, then done.
        self.handing_over = False
        self.handed_over = False
        # Set once _finish has run.
        self.finished = gevent.event.Event()
        # The routing hints the call entered its queue with (kept for a handover).
        self.queue_hints: dict[str, Any] = {}
        # The daemon that handed this call over to us, if one did.
        self.handed_over_by = data.variable(HANDOVER_VARIABLE) or data.variable(NODE_VARIABLE) or ""
        # The dialplan tries the sockets again if this one lets go of the call.
        self.rejoins = (data.variable(REJOIN_VARIABLE) or "0") not in ("", "0")
        # The socket closed under the call (not a hangup): see SocketLost.
        self.socket_lost = False
        self._finishing = False
        # playback_timeout_sec is set on the channel for the music (see _music), and the
        # music is being stopped.
        self.music_bounded = False
        self.music_stop = gevent.event.Event()

    # -- bookkeeping ------------------------------------------------------------------
    @property
    def agent_engaged(self) -> bool:
        """The call's agent is still on it (ringing, talking, holding, consulting)."""
        return (
            not self.call.is_over
            and self._wrap_up_agent != self.call.agent_id
            and self.call.state in (S.OFFERED, S.BRIDGED, S.HELD, S.TRANSFERRING, S.CONFERENCE)
        )

    def leg_uuids(self) -> set[str]:
        legs = {self.call.uuid}
        if self.offer is not None:
            legs.update(self.offer.legs.values())
        if self.consult_leg:
            legs.add(self.consult_leg)
        if self.call.agent_leg_uuid:
            legs.add(self.call.agent_leg_uuid)
        return legs

    def _move(self, state: CallState) -> None:
        if self.call.state is not state or state is S.QUEUED:
            self.call.transition(state)
        self.publish()

    def publish(self) -> None:
        """Write the live call as it is now. The handler, command greenlets and switch
        events write it one after another: a write built before a change (a consulted agent
        taking the call, say) cannot land after the write that shows it."""
        with self._publish_lock:
            self.services.notifier.call_updated(self.call)

    # -- the call ---------------------------------------------------------------------
    def run(self) -> None:
        services = self.services
        call = self.call
        self.greenlet = gevent.getcurrent()
        previous = services.calls.get(call.uuid)
        if previous is not None:
            # This call's earlier connection broke and the dialplan tried again: that
            # handler lets go of the call (marks it) first.
            previous.finished.wait(PREVIOUS_HANDLER_SECONDS)
        self.wake = services.calls.add(call.uuid, self)
        # A call another daemon handed over goes on where it was; any other call starts.
        resumed = self._take_over() if self.handed_over_by else None
        if resumed is None:
            services.facts.call_started(
                call_uuid=call.uuid,
                direction="inbound",
                caller=call.caller_number,
                callee=call.destination_number,
                did=call.destination_number,
                node=services.settings.node_name,
                at=call.started_at,
            )
        try:
            # The pump acts on these only; the switch is asked for no other kinds.
            self.session.subscribe({"DTMF", "CHANNEL_BRIDGE"}, linger=True)
            self.session.delivered_events = (Dtmf, ChannelBridge, ChannelHangupEvent)
            self._pump = gevent.spawn(self._pump_events)
            # One application sets both (one completion event instead of two).
            node = services.settings.node_name
            self.session.execute_many(
                [
                    ("multiset", f"hangup_after_bridge=false continue_on_fail=true cc_node={node}"),
                    ("answer", ""),
                ]
            )
            call.answered_at = call.answered_at or time.time()
            if resumed and resumed.get("kind") == "queue":
                self._follow(resumed)
                return
            did = services.config().dids_by_number.get(call.destination_number)
            if did is not None:
                call.flow = did["flow"]
                call.language = did["language"]
            self._move(S.IVR)
            outcome = services.ivr.run_flow(self)
            self._follow(outcome)
        except gevent.GreenletExit:
            # The daemon is stopping and lets go of the call (OutboundServer.let_go): the
            # switch takes the caller on to the failover ring group, or, in a conversation,
            # the next leader adopts it.
            self.let_go = True
            raise
        except ChannelHangup:
            self.hangup_by = self.hangup_by or "caller"
        except SocketLost:
            self.socket_lost = True
        except EslError as error:
            logger.warning("call %s: switch connection problem: %s", call.uuid, error)
            self.socket_lost = isinstance(error, ConnectionLost) and not self.session.hung_up
        except Exception:
            logger.exception("call %s: handler failed", call.uuid)
        finally:
            try:
                self._finish()
            finally:
                self.finished.set()

    def _take_over(self) -> dict[str, Any] | None:
        """Take up a call another daemon handed over (cti/handover.py) from its live record:
        the call's times and IVR input are restored. Returns where it goes on: its queue
        (with ``resumed``) for a queued call, ``{}`` for the IVR from the top, or None when
        the record is not marked (the call then starts as a new one)."""
        services = self.services
        call = self.call
        key = CALL_KEY + call.uuid
        fields = services.redis.hgetall(key)
        marked = fields.get(HANDOVER_FIELD) if fields else None
        if not marked:
            logger.warning(
                "call %s: handed over by %s but not marked", call.uuid, self.handed_over_by
            )
            return None
        services.redis.hdel(key, HANDOVER_FIELD)
        try:
            state = json.loads(marked)
        except ValueError:
            state = {}
        call.started_at = float(fields.get("started_at") or call.started_at)
        call.answered_at = float(fields["answered_at"]) if fields.get("answered_at") else None
        call.flow = fields.get("flow") or None
        call.language = fields.get("language") or call.language
        call.digits = dict(state.get("digits") or {})
        call.variables = dict(state.get("variables") or {})
        call.ivr_nodes = list(state.get("ivr_nodes") or [])
        call.vip_level = int(state.get("vip_level") or 0)
        if state.get("customer_id") is not None:
            call.customer_id = int(state["customer_id"])
        logger.warning(
            "call %s: taken over from %s in state %s",
            call.uuid,
            self.handed_over_by,
            fields.get("state"),
        )
        queue = fields.get("queue")
        # An offered call whose daemon died rang an agent nobody answered: queued again.
        waiting = fields.get("state") in (S.QUEUED.value, S.OFFERED.value)
        if waiting and queue and fields.get("queued_at"):
            call.queued_at = float(fields["queued_at"])
            return {**(state.get("hints") or {}), "kind": "queue", "queue": queue, "resumed": True}
        return {}

    def _follow(self, outcome: dict[str, Any]) -> None:
        """Act on where the IVR (or an overflow, or a transfer) sent the call."""
        while outcome:
            kind = outcome.get("kind")
            if kind == "queue":
                outcome = self.wait_in_queue(outcome["queue"], outcome)
            elif kind == "agent":
                outcome = self.offer_to_agent(int(outcome["agent_id"]))
            elif kind == "number":
                outcome = self.bridge_outside(outcome["number"])
            elif kind == "voicemail":
                self._move(S.VOICEMAIL)
                self.services.ivr.voicemail(self, outcome)
                outcome = {}
            elif kind == "ivr":
                if self.call.state is not S.IVR:
                    self._move(S.IVR)
                outcome = self.services.ivr.run_flow(self, outcome.get("flow"), outcome.get("node"))
            elif kind == "survey":
                self._survey()
                outcome = {}
            elif kind == "consult_wait":
                outcome = self._wait_for_consultation()
            elif kind == "join_room":
                outcome = self._join_room()
            else:  # "hangup" and anything unknown
                prompt = outcome.get("prompt")
                if prompt:
                    self.play(prompt)
                outcome = {}
        self.hangup_by = self.hangup_by or "system"
        self.session.hangup("NORMAL_CLEARING")

    # -- media helpers ----------------------------------------------------------------
    def play(self, path: str) -> None:
        self.session.execute("playback", path)

    def prompt(self, prompt_id: str) -> str:
        return self.services.prompts.path(self.call.language, prompt_id)

    # -- the queue --------------------------------------------------------------------
    def wait_in_queue(self, queue_code: str, hints: dict[str, Any]) -> dict[str, Any]:
        services = self.services
        config = services.config()
        queue = config.queues_by_code.get(queue_code)
        if queue is None:
            logger.error("call %s: unknown queue %s", self.call.uuid, queue_code)
            return {"kind": "hangup", "prompt": self.prompt("system_busy")}
        call = self.call
        # A call handed over by a stopping daemon keeps its place: same arrival, same deadline.
        resumed = bool(hints.get("resumed")) and call.queued_at is not None
        self.queue_hints = {k: v for k, v in hints.items() if k != "resumed"}
        call.queue = queue_code
        if not resumed:
            call.queued_at = time.time()
        assert call.queued_at is not None
        with services.batch():
            # The caller's card (owner agent, VIP level) shapes the routing, and pops on the
            # desk.
            self.customer = services.customer_card(call)
            self._move(S.QUEUED)
            decision = services.acd.enter(self, queue, hints)
            reservation = decision.agent_ids or None
            # The reservation script's position: a reserved call no longer waits (1).
            position = decision.position or 1
            call.queue_position = position
            if not resumed:
                services.facts.queue_entered(
                    call_uuid=call.uuid,
                    queue=queue_code,
                    position=position,
                    entered_at=call.queued_at,
                )
            services.acd.queue_changed(queue_code, decision.stats)
            greeting = None if resumed else queue.get("greeting_prompt")
            # An agent is already reserved and no greeting comes first: the offer's live
            # updates go with the entry's.
            dial = None
            if reservation and not greeting:
                dial = self._prepare_offer(reservation, queue)
        if greeting:
            self.play(greeting)
        deadline = call.queued_at + queue["max_wait_seconds"]
        next_announcement = time.time() + queue["announce_interval_seconds"]
        music: gevent.Greenlet | None = None
        try:
            while True:
                if reservation is not None and reservation:
                    self._stop_music(music)
                    music = None
                    result = self.ring(reservation, queue, dial)
                    if result == "connected":
                        return self._after_talk()
                    reservation = dial = None
                    continue
                if (
                    not services.acd.agents_logged_in(queue)
                    and queue["no_agent_rule"] == "overflow"
                ):
                    return self._overflow(queue, "no_agent")
                if time.time() >= deadline:
                    return self._overflow(queue, "max_wait")
                key = self._pressed_key(queue)
                if key is not None:
                    return key
                if music is None or music.dead:
                    music = gevent.spawn(self._music, queue["music_on_hold"])
                if time.time() >= next_announcement and (
                    queue["announce_position"] or queue["announce_wait_time"]
                ):
                    self._stop_music(music)
                    music = None
                    self._announce_position(queue)
                    next_announcement = time.time() + queue["announce_interval_seconds"]
                    continue
                self._idle(min(1.0, max(0.05, deadline - time.time())))
                reservation = services.acd.take_reservation(call.uuid) or services.acd.reroute(
                    self, queue
                )
        finally:
            self._stop_music(music)

    def _idle(self, timeout: float) -> None:
        """Wait until woken (a key, an offer, a command) or ``timeout``; raises ChannelHangup
        as soon as the caller hangs up (the music, in its own greenlet, swallows it)."""
        self.wake.clear()
        if not self.session.hung_up:
            self.wake.wait(timeout=timeout)
        if self.session.hung_up:
            raise ChannelHangup(self.session.hangup_cause or "NORMAL_CLEARING", self.call.uuid)

    def _music(self, moh: str) -> None:
        """Music until stopped, in pieces of at most ``MUSIC_PIECE_SECONDS`` (a channel
        variable each playback reads as it starts): the switch ends a socket's control of
        a call only between applications, so endless music would keep a caller whose
        daemon died in it for good, instead of sending it on to the sockets' next tries."""
        bound = (f"uuid_setvar {self.call.uuid} playback_timeout_sec {MUSIC_PIECE_SECONDS}",)
        stop = self.music_stop = gevent.event.Event()
        try:
            while not stop.is_set():
                started = time.monotonic()
                self.music_bounded = True
                self.session.execute_many([("playback", moh)], api_first=bound)
                bound = ()
                if time.monotonic() - started < MUSIC_MIN_SECONDS:
                    stop.wait(MUSIC_MIN_SECONDS)  # a missing or very short file
        except (ChannelHangup, EslError):
            pass

    def _stop_music(self, music: gevent.Greenlet | None) -> None:
        if music is not None and not music.dead:
            self.music_stop.set()
            try:
                self.session.api(f"uuid_break {self.call.uuid} all")
            except EslError:
                pass
            music.join(timeout=5)
            if not music.dead:
                music.kill()
        if self.music_bounded:
            # The prompts after the queue play whole again.
            self.music_bounded = False
            try:
                self.session.api(f"uuid_setvar {self.call.uuid} playback_timeout_sec 0")
            except EslError:
                pass

    def _announce_position(self, queue: dict[str, Any]) -> None:
        acd = self.services.acd
        position = acd.position(self.call.uuid) or 1
        wait_minutes = None
        if queue["announce_wait_time"]:
            wait_minutes = acd.estimated_wait_minutes(queue["code"], position)
        self.play(self.services.prompts.queue_position(self.call.language, position, wait_minutes))

    def _pressed_key(self, queue: dict[str, Any]) -> dict[str, Any] | None:
        while self.pressed:
            digit = self.pressed.pop(0)
            if queue.get("leave_message_key") and digit == queue["leave_message_key"]:
                self._leave_queue(queue["code"], "voicemail")
                return {"kind": "voicemail", "group": queue["group"], "queue": queue["code"]}
            if queue.get("callback_key") and digit == queue["callback_key"]:
                position = self.services.acd.position(self.call.uuid) or 1
                self.services.callbacks.request(
                    self.call.uuid, self.call.caller_number, queue["code"], position
                )
                self.callback_requested = True
                return {"kind": "hangup", "prompt": self.prompt("callback_confirmed")}
        return None

    def _leave_queue(
        self, queue_code: str, outcome: str, target: str = "", record: bool = True
    ) -> None:
        """Out of the ACD; ``record``: with its queue exit fact."""
        call = self.call
        with self.services.batch():
            # The removal script says where the call stood and what the queue looks like now.
            removed = self.services.acd.remove(call.uuid)
            position = removed.position if removed is not None else None
            now = time.time()
            if record:
                self.services.facts.queue_exited(
                    call_uuid=call.uuid,
                    queue=queue_code,
                    entered_at=call.queued_at or now,
                    outcome=outcome,
                    position=position,
                    overflow_target=target,
                    agent_id=call.agent_id if outcome == "answered" else None,
                    at=now,
                )
            self.services.acd.queue_changed(
                queue_code, removed.stats if removed is not None else None
            )

    def _overflow(self, queue: dict[str, Any], why: str) -> dict[str, Any]:
        kind = queue["overflow_kind"]
        logger.info(
            "call %s: overflow from %s (%s) to %s", self.call.uuid, queue["code"], why, kind
        )
        if kind == "queue" and queue.get("overflow_queue"):
            self._leave_queue(queue["code"], "overflowed", queue["overflow_queue"])
            return {"kind": "queue", "queue": queue["overflow_queue"]}
        if kind == "voicemail":
            self._leave_queue(queue["code"], "voicemail")
            return {"kind": "voicemail", "group": queue["group"], "queue": queue["code"]}
        if kind == "ivr":
            self._leave_queue(queue["code"], "overflowed", queue["overflow_target"])
            flow, _, node = queue["overflow_target"].partition(":")
            return {"kind": "ivr", "flow": flow or None, "node": node or None}
        if kind == "number":
            self._leave_queue(queue["code"], "overflowed", queue["overflow_target"])
            return {"kind": "number", "number": queue["overflow_target"]}
        if kind == "none" and why == "max_wait":
            # "Keep waiting": a fresh wait period in the same queue.
            self._leave_queue(queue["code"], "overflowed", queue["code"])
            return {"kind": "queue", "queue": queue["code"]}
        self._leave_queue(queue["code"], "overflowed", "hangup")
        return {"kind": "hangup", "prompt": self.prompt("queue_closed")}

    # -- offering to agents -----------------------------------------------------------
    def _prepare_offer(self, agent_ids: tuple[int, ...], queue: dict[str, Any] | None) -> str:
        """The offer's Redis side (the call offered, the screen pops) and the bridge string.
        Switch I/O comes after it: call it in a batch."""
        services = self.services
        call = self.call
        config = services.config()
        legs = {agent_id: str(uuid_module.uuid4()) for agent_id in agent_ids}
        self.offer = Offer(legs=legs, started_at=time.time())
        if len(legs) == 1:
            # Known before the answer, so a daemon taking over mid-offer can find the leg.
            call.agent_id, call.agent_leg_uuid = next(iter(legs.items()))
        timeout = (queue or {}).get("ring_timeout_seconds", 20)
        targets = []
        self._move(S.OFFERED)
        reserved = services.acd.take_extensions(call.uuid)
        for agent_id, leg in legs.items():
            agent = config.agents_by_id.get(agent_id)
            extension = (
                reserved.get(agent_id)
                or services.acd.extension_of(agent_id)
                or (agent or {}).get("extension")
            )
            # One target: its uuid goes with the global variables; several (ring-all):
            # each leg gets its own in square brackets.
            target = f"user/{extension}"
            tag = leg_variables(call.uuid, "agent", agent_id)
            targets.append(target if len(legs) == 1 else f"[origination_uuid={leg},{tag}]{target}")
            services.notifier.screen_pop(agent_id, call, self.customer)
        single = ""
        if len(legs) == 1:
            agent_id, leg = next(iter(legs.items()))
            single = f",origination_uuid={leg},{leg_variables(call.uuid, 'agent', agent_id)}"
        return (
            f"{{originate_timeout={timeout},ignore_early_media=true,"
            f"origination_caller_id_number={call.caller_number}{single}}}" + ",".join(targets)
        )

    def ring(
        self, agent_ids: tuple[int, ...], queue: dict[str, Any] | None, dial: str | None = None
    ) -> str:
        """Ring the reserved agents with `bridge`; 'connected' once talk is over, else 'failed'.

        ``dial`` is the bridge string when :meth:`_prepare_offer` already ran (in the batch
        of the queue entry)."""
        services = self.services
        call = self.call
        if dial is None:
            with services.batch():
                dial = self._prepare_offer(agent_ids, queue)
        # The caller keeps hearing the queue's music while the agents ring; set by an api
        # command in the bridge's write, which brings no completion event.
        ringback = ()
        if queue is not None:
            ringback = (f"uuid_setvar {call.uuid} ringback {queue['music_on_hold']}",)
        try:
            # Not event-locked: the agent's number (uuid_broadcast, once answered) must play
            # during the bridge; with the lock FreeSWITCH holds it until the bridge ends.
            complete = self.session.execute_many(
                [("bridge", dial)], api_first=ringback, event_lock=False
            )[-1]
        except ChannelHangup:
            self._settle_bridge()
            self.hangup_by = self.hangup_by or "caller"
            # The offer is cancelled by the close, once the call has left its queue (_release).
            raise
        self._settle_bridge()
        offer = self.offer
        if offer.answered_by is None:
            cause = (
                complete.variable("originate_disposition")
                or complete.variable("DIALSTATUS")
                or complete.application_response
                or "NO_ANSWER"
            )
            kind = FAILED_OFFER_KINDS.get(cause.upper(), "no_answer")
            for agent_id in offer.legs:
                services.acd.offer_failed(agent_id, call.uuid, kind)
            self.offer = None
            call.agent_id = call.agent_leg_uuid = None
            self._move(S.QUEUED if queue is not None else S.IVR)
            logger.info("call %s: offer to %s failed: %s", call.uuid, agent_ids, cause)
            return "failed"
        return "connected"

    def _withdraw_offer(self) -> None:
        """A stopping leader hands over a call whose agents' phones ring: they stop ringing,
        the agents are free again, and the call is queued as before the offer. An agent
        who answers meanwhile keeps the call (a conversation, left for adoption)."""
        if self._pump is not None:
            self._pump.kill()
        self._settle_bridge()
        offer = self.offer
        if self.call.state is not S.OFFERED or offer is None:
            return
        for leg in offer.legs.values():
            try:
                self.services.switch_api(f"uuid_kill {leg} ORIGINATOR_CANCEL")
            except EslError:
                pass
        try:
            # Usually moot: the handover took the call out of the ACD, which freed them.
            self._offer_cancelled(reason="handover")
        except AcdError:
            self.offer = None
            self.call.agent_id = self.call.agent_leg_uuid = None
        self._move(S.QUEUED)

    def _offer_cancelled(self, reason: str) -> None:
        offer = self.offer
        if offer is None or offer.answered_by is not None:
            return
        for agent_id in offer.legs:
            try:
                self.services.acd.release(agent_id, self.call.uuid)
            except AcdError:
                # Let go already: taking the call out of its queue releases the agents
                # ringing for it (Router.remove_call), and one may be on the next call now.
                logger.debug("call %s: agent %s released already", self.call.uuid, agent_id)
        self.offer = None
        self.call.agent_id = self.call.agent_leg_uuid = None

    def on_bridged(self, other_leg: str, talk_over: bool = False) -> None:
        """The caller is bridged to one of the ringing agents (pump greenlet; or the
        handler itself with ``talk_over`` when the bridge ended before the pump got to it).
        Runs once per offer."""
        with self._bridge_lock:
            self._on_bridged(other_leg, talk_over)

    def _settle_bridge(self) -> None:
        """The bridge application returned: let a running :meth:`on_bridged` finish, and
        handle a bridge the pump has not got to yet (under load the completion and the
        bridge event arrive together and the handler may run first)."""
        with self._bridge_lock:
            pass
        offer = self.offer
        if offer is None or offer.answered_by is not None:
            return
        legs = set(offer.legs.values())
        for other in self.session.bridged_legs:
            if other in legs:
                self.on_bridged(other, talk_over=True)
                return

    def _on_bridged(self, other_leg: str, talk_over: bool) -> None:
        services = self.services
        call = self.call
        offer = self.offer
        if offer is None or offer.answered_by is not None:
            return
        agent_id = next((a for a, leg in offer.legs.items() if leg == other_leg), None)
        if agent_id is None:
            return
        now = time.time()
        offer.answered_by = agent_id
        offer.answered_at = now
        call.agent_id = agent_id
        call.agent_leg_uuid = other_leg
        call.bridged_at = now
        self._talk_started = now
        # A new talk (the agent may be the one who wrapped this call up before: transferred
        # back to the queue, the call reached the same agent).
        self._wrap_up_agent = None
        # The path goes into the live call with the bridge, so a daemon that adopts the
        # conversation later still records the recording's fact.
        call.recording_path = None if talk_over else self._recording_path()
        with services.batch():
            services.acd.offer_answered(agent_id, call.uuid)
            if call.queue:
                self._leave_queue(call.queue, "answered", record=not self.direct_offer)
            self._move(S.BRIDGED)
        if talk_over:
            return  # nothing left to record or announce
        agent = services.config().agents_by_id.get(agent_id) or {}
        queue = services.config().queues_by_code.get(call.queue or "") or {}
        self._start_recording()
        if queue.get("announce_employee_number", True) and agent.get("employee_number"):
            announcement = services.prompts.employee_number(call.language, agent["employee_number"])
            try:
                self.session.api(f"uuid_broadcast {call.uuid} {announcement} aleg")
            except EslError:
                logger.warning("call %s: could not announce the agent's number", call.uuid)

    def _recording_path(self) -> str:
        return recording_path(self.services.settings.recordings_dir, self.call.uuid)

    def _start_recording(self) -> None:
        """Record the call to ``call.recording_path`` over the call's own socket; if the
        switch refuses, the call has no recording (and the live call says so)."""
        call = self.call
        path = self.services.start_recording(call.uuid, call.recording_path, self.session.api)
        if path is not None:
            call.recording_path = path
        elif call.recording_path is not None:
            call.recording_path = None
            self.publish()

    def _end_supervisor_legs(self) -> None:
        """Supervisors listening in leave with the agent: the survey is not theirs."""
        legs, self.supervisor_legs = self.supervisor_legs, set()
        for leg in legs:
            try:
                self.session.api(f"uuid_kill {leg}")
            except EslError:
                pass

    def _stop_recording(self) -> None:
        """The conversation is over (the survey comes): the recording ends with it."""
        path = self.call.recording_path
        if not path:
            return
        try:
            self.session.api(f"uuid_record {self.call.uuid} stop {path}")
        except EslError:
            logger.warning("call %s: could not stop the recording", self.call.uuid)

    def _after_talk(self) -> dict[str, Any]:
        """The bridge ended with the caller still on the line: the agent hung up first, or
        moved into a consultation or conference room (then the agent is still working)."""
        if self.pending_action is not None and self.pending_action["kind"] in (
            "consult_wait",
            "join_room",
        ):
            action, self.pending_action = self.pending_action, None
            return action
        self.hangup_by = "agent"
        with self.services.batch():
            self._agent_done()
            if self.pending_action is not None:
                action, self.pending_action = self.pending_action, None
                self._agent_left()
                return action
            self._move(S.SURVEY)
        return {"kind": "survey"}

    def _agent_left(self) -> None:
        """The agent transferred the call away: the live call (the wallboard's row of that
        agent, the desk) no longer names them; the facts at its end still do."""
        call = self.call
        if call.agent_id is not None:
            self.served_by = call.agent_id
        call.agent_id = call.agent_leg_uuid = None
        self.publish()

    @property
    def served_agent(self) -> int | None:
        """The agent the call's facts name: the one on it, or the last one who was."""
        return self.call.agent_id if self.call.agent_id is not None else self.served_by

    def _agent_done(self) -> None:
        """The agent's part of the call is over: wrap-up, stats, last-agent memory."""
        call = self.call
        if call.agent_id is None or self._talk_started is None:
            return  # nobody talked with the caller
        if self._wrap_up_agent == call.agent_id:
            return
        self._wrap_up_agent = call.agent_id
        talk = time.time() - (self._talk_started or time.time())
        self._talked += talk
        self.services.acd.call_ended(call.agent_id, call.uuid, talk, call.queue)
        self.services.acd.remember_last_agent(call.caller_number, call.agent_id)

    # -- consultation, attended transfer and three-way ---------------------------------
    # The agent leaves the caller's bridge for a conference room `cc-<call uuid>` where the
    # consulted party is originated; the caller waits with music (consult) or joins the room
    # at once (three-way). Completing puts the caller in the room and drops the agent;
    # cancelling drops the consulted party. When only the caller is left, the room is
    # emptied and the caller goes on to the survey.
    @property
    def room(self) -> str:
        return f"cc-{self.call.uuid}"

    @property
    def can_consult(self) -> bool:
        """Bridged to its agent, or alone with its agent in the room (after a cancelled
        consultation or a take-over)."""
        call = self.call
        if not call.agent_leg_uuid:
            return False
        return call.state is S.BRIDGED or (
            call.state is S.CONFERENCE and self.room_legs == {call.agent_leg_uuid}
        )

    def start_consultation(self, dial: str, target_agent: int | None, three_way: bool) -> None:
        """Command greenlet: ring the consulted party into the room, move the agent there.
        From the room itself the caller is held there meanwhile (a consultation) or stays
        (three-way)."""
        call = self.call
        if not self.can_consult:
            raise RuntimeError("no conversation to consult from")
        in_room = call.state is S.CONFERENCE
        api = self.services.switch_api
        if in_room and not three_way:
            reply = api(f"conference {self.room} hold uuid={call.uuid} {self._hold_music()}")
            if not reply.startswith("+OK"):
                raise RuntimeError(reply.strip() or "the switch refused")
            self.held_in_room = self.consulting_in_room = True
        self.consult_leg = str(uuid_module.uuid4())
        self.consult_agent = target_agent
        self.consult_decision = None
        self.room_legs = {call.agent_leg_uuid, self.consult_leg}
        if not in_room:
            self.pending_action = {"kind": "join_room" if three_way else "consult_wait"}
        if not (in_room and three_way):
            call.transition(S.CONFERENCE if three_way else S.TRANSFERRING)
        self.publish()
        # A consulted agent's phone shows the caller; an outside party the company's number.
        caller_id = (
            f",origination_caller_id_number={call.caller_number}"
            if target_agent
            else trunk_caller_id(self.services.settings, fallback=call.caller_number)
        )
        api(
            f"bgapi originate {{origination_uuid={self.consult_leg},"
            f"{leg_variables(call.uuid, 'agent' if target_agent else 'external', target_agent)}"
            f"{caller_id}}}{dial} "
            f"&conference({self.room}@default)"
        )
        if not in_room:
            api(f"uuid_transfer {call.agent_leg_uuid} conference:{self.room}@default inline")

    def decide_consultation(self, decision: str) -> None:
        """Command greenlet: "complete" (the caller talks to the consulted party) or
        "cancel" (back to the agent)."""
        if self.call.state is not S.TRANSFERRING or self.consult_leg is None:
            raise RuntimeError("no consultation in progress")
        api = self.services.switch_api
        if decision == "complete":
            api(f"uuid_kill {self.call.agent_leg_uuid}")
        else:
            api(f"uuid_kill {self.consult_leg}")
        self.consult_decision = decision
        self.wake.set()

    def _hold_music(self) -> str:
        queue = self.services.config().queues_by_code.get(self.call.queue or "") or {}
        return queue.get("music_on_hold") or "local_stream://moh"

    def _wait_for_consultation(self) -> dict[str, Any]:
        music: gevent.Greenlet | None = None
        moh = self._hold_music()
        try:
            while self.consult_decision is None:
                if music is None or music.dead:
                    music = gevent.spawn(self._music, moh)
                self._idle(1.0)
        finally:
            self._stop_music(music)
        return {"kind": "join_room"}

    def _join_room(self) -> dict[str, Any]:
        call = self.call
        if call.state is not S.CONFERENCE:
            call.transition(S.CONFERENCE)
            self.publish()
        if self.room_legs:  # nobody left to talk to: the caller does not wait alone
            self.session.execute("conference", f"{self.room}@default")
        if call.state is S.HELD:  # held when the room emptied: out of it, nobody holds it
            call.transition(S.CONFERENCE)
        self.held_in_room = False
        # Everybody else left and the room was emptied: the caller is still here. The agent
        # who had the call last (the consulted one, once it took the call over) is done.
        self._agent_done()
        self.hangup_by = "agent"
        if self.pending_action is not None:  # a blind transfer out of the conference
            action, self.pending_action = self.pending_action, None
            self.room_legs = set()
            self._agent_left()
            return action
        return {"kind": "survey"}

    @property
    def in_room(self) -> bool:
        """The caller is in the conference room (talking there, or held in it)."""
        return self.call.state is S.CONFERENCE or self.held_in_room

    def hold_in_room(self, on: bool) -> None:
        """Command greenlet: hold the caller in the room (mod_conference's ``hold``: out of
        the mix, hearing the music; the agents in the room still talk), or take it back.
        Raises RuntimeError with the switch's answer when it refuses."""
        call = self.call
        if on:
            command = f"hold uuid={call.uuid} {self._hold_music()}"
        else:
            command = f"unhold uuid={call.uuid}"
        reply = self.services.switch_api(f"conference {self.room} {command}")
        if not reply.startswith("+OK"):
            raise RuntimeError(reply.strip() or "the switch refused")
        self.held_in_room = on
        self.consulting_in_room = False  # taken off hold mid-consultation: all three talk
        call.transition(S.HELD if on else S.CONFERENCE)
        self.publish()

    def _unhold_after_consultation(self) -> None:
        try:
            self.services.switch_api(f"conference {self.room} unhold uuid={self.call.uuid}")
        except EslError:
            logger.warning("call %s: could not take the caller off hold", self.call.uuid)
        self.held_in_room = False
        if self.call.state is not S.TRANSFERRING:
            return  # the caller hung up meanwhile (and the call is closed: nothing to write)
        self.call.transition(S.CONFERENCE)
        self.publish()

    def on_leg_hangup(self, leg_uuid: str) -> None:
        """Inbound-connection event: a leg of this call hung up (agent or consulted party)."""
        legs = self.room_legs
        if leg_uuid not in legs:
            return
        legs.discard(leg_uuid)
        call = self.call
        agent_left = leg_uuid == call.agent_leg_uuid
        if agent_left:
            self._agent_done()
            # Not once the caller is gone: the room empties after the caller's hang-up, and
            # the consulted agent would take over a call that has ended.
            caller_here = not (self.session.hung_up or call.is_over)
            if self.consult_leg in legs and self.consult_agent is not None and caller_here:
                self._hand_to_consulted()
        elif leg_uuid == self.consult_leg and self.consult_agent is not None:
            self.services.acd.consult_ended(self.consult_agent)
        if call.state is S.TRANSFERRING and self.consult_decision is None:
            # A phone hung up mid-consultation: the agent's completes the transfer (as a desk
            # phone's hang-up does), the consulted party's cancels it.
            self.consult_decision = "complete" if agent_left else "cancel"
            self.wake.set()
        if self.consulting_in_room and call.state is S.TRANSFERRING:
            # A consultation from the room is over: the caller talks there again.
            self.consulting_in_room = False
            self._unhold_after_consultation()
        if not legs and self.in_room:
            self._empty_room()

    def _empty_room(self) -> None:
        """Kick the caller out of the room it is alone in; once more a moment later, for a
        caller whose join was under way when the last party left."""
        self.services.switch_api(f"conference {self.room} kick all")

        def again() -> None:
            if self.in_room and not self.room_legs and not self.call.is_over:
                try:
                    self.services.switch_api(f"conference {self.room} kick all")
                except EslError:
                    pass

        gevent.spawn_later(ROOM_RECHECK_SECONDS, again)

    def _hand_to_consulted(self) -> None:
        """The first agent left the caller with a consulted agent (a completed attended
        transfer, or the first agent leaving a three-way): the consulted agent has the call
        now, to hold on, transfer, hang up and wrap up, and the desk and the wallboard show
        it as that agent's."""
        call = self.call
        agent_id = self.consult_agent
        assert agent_id is not None
        try:
            self.services.acd.consult_taken_over(agent_id, call.uuid)
        except AcdError as error:
            # The consulted agent logged out meanwhile: the call stays nobody's.
            logger.warning("call %s: agent %s cannot take the call: %s", call.uuid, agent_id, error)
            return
        call.agent_id = agent_id
        call.agent_leg_uuid = self.consult_leg
        self.consult_agent = None
        self._talk_started = time.time()
        self._wrap_up_agent = None
        self.publish()
        self.services.notifier.screen_pop(agent_id, call, self.customer)

    def offer_to_agent(self, agent_id: int) -> dict[str, Any]:
        """Transfer to one named agent: reserve them (if ready) and ring."""
        reserved = self.services.acd.reserve_agent(self, agent_id)
        if not reserved:
            self.play(self.prompt("agent_unavailable"))
            return {"kind": "hangup"}
        if self.call.state is not S.QUEUED:
            self._move(S.QUEUED)
        self.direct_offer = True
        connected = self.ring((agent_id,), None) == "connected"
        self.direct_offer = False
        if connected:
            return self._after_talk()
        # Out of the ACD: the unanswered offer left the call waiting in the agent's queue,
        # where nothing would take it out again (agents were offered it after its end).
        self.services.acd.remove(self.call.uuid)
        self.play(self.prompt("agent_unavailable"))
        return {"kind": "hangup"}

    def bridge_outside(self, number: str) -> dict[str, Any]:
        """To an outside number through the trunk (a blind transfer, an overflow, an IVR
        node): transferring while it rings, bridged once it answers. The call is out of
        its queue and with no agent, so a caller hanging up now abandons nothing."""
        call = self.call
        gateway = self.services.settings.outbound_gateway
        call.variables["transferred_to"] = number
        if call.state is not S.TRANSFERRING:
            self._move(S.TRANSFERRING)
        self.hangup_by = ""  # not the agent who transferred: whoever ends it from here
        self.outside_leg = str(uuid_module.uuid4())
        self.session.execute(
            "bridge",
            f"{{origination_uuid={self.outside_leg},{leg_variables(call.uuid, 'external')}"
            f"{trunk_caller_id(self.services.settings, fallback=None)}}}"
            f"sofia/gateway/{gateway}/{number}",
        )
        # The bridge returned with the caller still on the line (the bridge event may not
        # have reached the pump yet: the reader noted it).
        if self.outside_leg in self.session.bridged_legs:
            self._outside_answered()
        if call.state is S.BRIDGED:
            self.hangup_by = "external"  # the outside party hung up
            return {}
        return {"kind": "hangup", "prompt": self.prompt("system_busy")}  # it never answered

    def _outside_answered(self) -> None:
        """Pump greenlet: the outside number answered the caller's bridge."""
        if self.call.state is S.TRANSFERRING:
            self._move(S.BRIDGED)

    def _survey(self) -> None:
        if self.call.state is not S.SURVEY:
            self._move(S.SURVEY)
        self._stop_recording()
        self._end_supervisor_legs()
        score = self.services.ivr.survey(self)
        if score is not None:
            self.services.facts.survey_scored(
                call_uuid=self.call.uuid,
                score=score,
                agent_id=self.served_agent,
                queue=self.call.queue or "",
            )

    # -- events -----------------------------------------------------------------------
    def _pump_events(self) -> None:
        for event in self.session.iter_events():
            try:
                if isinstance(event, Dtmf) and event.digit:
                    self.pressed.append(event.digit)
                    self.wake.set()
                elif isinstance(event, ChannelHangupEvent):
                    self.wake.set()  # a caller waiting in a queue leaves it now
                elif isinstance(event, ChannelUnbridge):
                    continue
                elif isinstance(event, ChannelBridge):
                    other = event.other_leg_uuid or event.bridge_b_uuid
                    if other and other == self.outside_leg:
                        self._outside_answered()
                    elif other:
                        self.on_bridged(other)
            except Exception:
                logger.exception("call %s: event handling failed", self.call.uuid)
        # The socket closed. Without a hangup, the connection broke under a call still up:
        # a handler waiting (in its queue, say) would not notice by itself.
        if (
            not self.session.hung_up
            and not self._finishing
            and not self.handing_over
            and self.call.state in HANDOVER_STATES
        ):
            logger.warning("call %s: its socket closed with the channel up", self.call.uuid)
            if self.greenlet is not None:
                self.greenlet.kill(SocketLost(), block=False)

    # -- the end ----------------------------------------------------------------------
    def _finish(self) -> None:
        services = self.services
        call = self.call
        self._finishing = True
        if self.socket_lost and not self.session.hung_up and call.state in HANDOVER_STATES:
            # The switch's socket application returned: the dialplan tries the sockets
            # again (a rejoin: the caller is kept for it, as for a handover) or goes on to
            # the failover ring group (the call is closed as handed to it).
            self.let_go = True
            self.handing_over = self.rejoins and services.handover is not None
        if self.handing_over:
            if self.let_go and call.state is S.OFFERED and not self.session.hung_up:
                self._withdraw_offer()
            if self.let_go and call.state in (S.IVR, S.QUEUED) and not self.session.hung_up:
                # The stopping leader sends the call on to the next (cti/handover.py): the
                # socket stays open until the switch has it, and nothing is closed here.
                self.handed_over = True
                self.session.keep_open = True
                if self.socket_lost:
                    services.handover.await_rejoin(self)
                services.calls.remove(call.uuid, self)
                if self._pump is not None:
                    self._pump.kill(block=False)
                return
            self.handing_over = False
        if self.let_go and call.state is S.SURVEY and not self.session.hung_up:
            # Served already: the caller is hung up, not sent to the failover ring group
            # (which would ring the agents again); the unfinished survey scores nothing.
            try:
                self.session.hangup("NORMAL_CLEARING")
                self.let_go = False
                self.hangup_by = "system"
            except (EslError, ChannelHangup):
                pass
        if self.let_go and call.state in CONVERSATION_STATES:
            # Nothing to close: the conversation goes on in the switch and the next leader
            # adopts it from the live call (its CDR, recording and wrap-up included).
            services.calls.remove(call.uuid, self)
            return
        if self.room_legs:
            # The caller left a consultation or conference: nobody stays in the room, and a
            # consulted phone still ringing stops.
            try:
                services.switch_api(f"conference {self.room} kick all")
                if self.consult_leg in self.room_legs:
                    services.switch_api(f"uuid_kill {self.consult_leg}")
            except EslError:
                pass
        if call.recording_path and not self.let_go:
            # The recording is whole only once the switch has closed it (its length counts);
            # a stopping daemon does not wait (the file's own length is measured).
            complete = self.session.wait_hangup_complete(RECORDING_CLOSE_SECONDS)
            if complete is not None:
                self._recorded_ms = complete.variable("record_ms")
        with services.batch():
            self._close(call)
        services.calls.remove(call.uuid, self)
        if self._pump is not None:
            self._pump.kill(block=False)

    def _release(self, call: Call) -> None:
        """The queue entry (an abandoned call's 呼损 fact) and the agent let go."""
        services = self.services
        if self.consult_agent is not None:
            # A consultation the caller's hang-up cut short: the consulted agent is free.
            consulted, self.consult_agent = self.consult_agent, None
            services.acd.consult_ended(consulted)
        ringing = self.offer is not None and self.offer.answered_by is None
        if self.direct_offer and call.queue:
            # The named agent was ringing: the caller left no queue.
            self._leave_queue(call.queue, "left", record=False)
        elif self.let_go and call.state in (S.QUEUED, S.OFFERED) and call.queue:
            # Not an abandon: the stopping daemon sent the caller to the failover ring group.
            self._leave_queue(call.queue, "overflowed", FAILOVER)
        elif call.state in (S.QUEUED, S.OFFERED) and call.queue and not self.callback_requested:
            position = services.acd.position(call.uuid) or call.queue_position or 1
            now = time.time()
            services.facts.call_abandoned(
                call_uuid=call.uuid,
                queue=call.queue,
                entered_at=call.queued_at or now,
                position=position,
                at=now,
            )
            self._leave_queue(call.queue, "abandoned")
        if ringing:
            # Once out of its queue: an agent freed here is offered the next caller at once,
            # and would be offered this one again if it still waited there.
            self._offer_cancelled(reason="caller")
        try:
            self._agent_done()
        except AcdError:
            logger.exception("call %s: agent state could not be closed", call.uuid)

    def _close(self, call: Call) -> None:
        """The call's last Redis work (one batch): the queue and the agent released, the
        CDR and the recording facts, the live call removed."""
        try:
            self._release(call)
        except Exception:
            # Whatever went wrong with the queue or the agent, the CDR is still written.
            logger.exception("call %s: its queue or agent could not be released", call.uuid)
        services = self.services
        if self.let_go:
            self.hangup_by = FAILOVER
        if not call.is_over:
            call.transition(S.ENDED)  # legal from every state
        call.hangup_cause = self.session.hangup_cause or "NORMAL_CLEARING"
        if call.recording_path:
            try:
                services.recording_saved(
                    call.uuid, call.recording_path, self.served_agent, self._recorded_ms
                )
            except Exception:
                logger.exception("call %s: no recording fact", call.uuid)
        services.facts.call_ended(
            call_uuid=call.uuid,
            direction="inbound",
            caller=call.caller_number,
            callee=call.destination_number,
            started_at=call.started_at,
            hangup_cause=call.hangup_cause,
            answered_at=call.answered_at,
            did=call.destination_number,
            queue=call.queue or "",
            agent_id=self.served_agent,
            ivr_flow=call.flow or "",
            recording_path=call.recording_path or "",
            hangup_by=self.hangup_by,
            node=services.settings.node_name,
            talk_seconds=self._talked,
        )
        services.notifier.call_ended(call)
        services.acd.take_extensions(call.uuid)  # a reservation the call never rang
