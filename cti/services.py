"""The daemon's services, built once by `cti.daemon` and handed to every call handler.

`CallServices` bundles what a call needs (configuration, ACD, notifier, facts, prompts, the
IVR runtime, the active calls) so handlers get their dependencies through one constructor
argument and tests can build the same bundle against the simulator.
"""

from __future__ import annotations

import logging
import os
import time
import wave
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import redis

from cti.acd.router import Outcome, RouteDecision, Router
from cti.acd.store import QueueStats, RemovedCall
from cti.calls.prompts import Prompts
from cti.calls.registry import ActiveCalls
from cti.config import ConfigSnapshot
from cti.facts import FactWriter
from cti.notify import LiveNotifier

if TYPE_CHECKING:
    from cti.callbacks import Callbacks
    from cti.calls.inbound import InboundCallHandler
    from cti.dialout import DialOuts

logger = logging.getLogger(__name__)

CUSTOMER_KEY = "cc:customer:phone:"
LAST_AGENT_KEY = "cc:lastagent:"


@dataclass(frozen=True)
class DaemonSettings:
    node_name: str = "cti-1"
    recordings_dir: str = "recordings"
    record_stereo: bool = False
    outbound_gateway: str = "trunk"
    # The company's caller ID on trunk calls (config.settings.OUTBOUND_CALLER_ID_NUMBER).
    outbound_caller_id_number: str = ""
    outbound_caller_id_name: str = ""
    center_area_code: str = ""
    country: str = "CN"


class IvrRuntime(Protocol):
    """What the daemon needs from the IVR engine."""

    def run_flow(
        self, handler: InboundCallHandler, flow: str | None = None, node: str | None = None
    ) -> dict[str, Any]: ...

    def voicemail(self, handler: InboundCallHandler, outcome: dict[str, Any]) -> None: ...

    def survey(self, handler: InboundCallHandler) -> int | None: ...


class AcdPort:
    """The ACD as a call handler uses it; hands offers the router makes to waiting calls."""

    def __init__(self, router: Router, calls: ActiveCalls, client: redis.Redis) -> None:
        self.router = router
        self.calls = calls
        self.redis = client
        self._reservations: dict[str, tuple[int, ...]] = {}
        # The extensions the reservation script returned, by call and agent: ringing needs
        # no read of the agent's hash (an offered agent cannot log in elsewhere).
        self._extensions: dict[str, dict[int, str]] = {}
        self.callbacks: Callbacks | None = None  # set by the daemon

    def _remember(self, decision: RouteDecision | None) -> None:
        if decision is not None and decision.reserved:
            self._extensions[decision.call_uuid] = {
                agent_id: extension
                for agent_id, extension in zip(decision.agent_ids, decision.extensions)
                if extension
            }

    def take_extensions(self, call_uuid: str) -> dict[int, str]:
        """The extensions of the agents last reserved for the call (forgotten once read)."""
        return self._extensions.pop(call_uuid, None) or {}

    # Offers the router made as a side effect of an agent operation belong to some call.
    def deliver(self, outcome: Outcome) -> None:
        for decision in outcome.offers:
            self._deliver(decision)

    def _deliver(self, decision: RouteDecision) -> None:
        if not decision.reserved:
            return
        if self.callbacks is not None and self.callbacks.is_callback(decision.call_uuid):
            self.callbacks.dial(decision.call_uuid, decision.agent_ids)
            return
        self._reservations[decision.call_uuid] = decision.agent_ids
        self._remember(decision)
        if not self.calls.wake(decision.call_uuid):
            # Only the leader handles calls, and a call's handler takes it out of the ACD
            # before it ends: a call nobody handles is left over. Out of the ACD with it
            # (its agents released): freed agents would be offered it again at once, and
            # again, for good.
            logger.warning("call %s: in the ACD with no handler: removed", decision.call_uuid)
            self.remove(decision.call_uuid)

    def take_reservation(self, call_uuid: str) -> tuple[int, ...] | None:
        return self._reservations.pop(call_uuid, None)

    def enter(
        self, handler: InboundCallHandler, queue: dict[str, Any], hints: dict[str, Any]
    ) -> RouteDecision:
        """The call enters the queue: the routing decision (agents reserved, or where the call
        waits, and the queue's figures after)."""
        call = handler.call
        owner = hints.get("owner_agent_id") or call.owner_agent_id
        last_agent, last_at = self.last_agent(call.caller_number, queue)
        waiting = self.router.new_call(
            call.uuid,
            queue["code"],
            call.caller_number,
            vip_level=int(hints.get("vip_level", call.vip_level) or 0),
            owner_agent_id=owner if isinstance(owner, int) else None,
            last_agent_id=last_agent,
            last_served_at=last_at,
            extra_skills=hints.get("skills") or {},
            arrived_at=call.queued_at,
        )
        decision = self.router.route(waiting, enter=True)
        self._remember(decision)
        return decision

    def reroute(self, handler: InboundCallHandler, queue: dict[str, Any]) -> tuple[int, ...] | None:
        decision = self.router.reroute(handler.call.uuid)
        self._remember(decision)
        return decision.agent_ids if decision is not None and decision.reserved else None

    def reserve_agent(self, handler: InboundCallHandler, agent_id: int) -> bool:
        """Transfer to one agent: route a one-agent queue entry through the agent's group."""
        snapshot = self.router._config()
        agent = snapshot.agents_by_id.get(agent_id)
        if agent is None:
            return False
        queues = [
            q
            for q in snapshot.queues_by_code.values()
            if any(m["group"] == q["group"] for m in agent.get("groups", []))
        ]
        if not queues:
            return False
        call = handler.call
        waiting = self.router.new_call(
            call.uuid, queues[0]["code"], call.caller_number, owner_agent_id=agent_id
        )
        decision = self.router.route(waiting, enter=True)
        if decision.agent_ids == (agent_id,):
            call.queue = queues[0]["code"]
            self._remember(decision)
            return True
        if decision.reserved:
            for other in decision.agent_ids:
                self.deliver(self.router.offer_failed(other, call.uuid, "cancelled"))
        self.router.remove_call(call.uuid, "transfer")
        return False

    def position(self, call_uuid: str) -> int | None:
        return self.router.store.position(call_uuid)

    def agents_logged_in(self, queue: dict[str, Any]) -> int:
        store = self.router.store
        return int(store.client.scard(store.logged_in_key(int(queue["group"]))))

    def estimated_wait_minutes(self, queue_code: str, position: int) -> int:
        """Position × the queue's recent average handle time ÷ agents logged in."""
        queue = self.router._config().queues_by_code.get(queue_code) or {}
        agents = max(1, self.agents_logged_in(queue)) if queue else 1
        average = float(self.redis.get(f"cc:aht:{queue_code}") or 180.0)
        return max(1, round(position * average / agents / 60))

    def queue_changed(self, queue_code: str, stats: QueueStats | None = None) -> None:
        """Publish the queue's waiting count and longest wait: from ``stats`` when a script
        that changed the queue returned them, else read."""
        store = self.router.store
        if stats is not None and stats.queue == queue_code:
            waiting, longest = stats.waiting, stats.longest_wait(store.now())
        else:
            waiting, longest = store.queue_length(queue_code), store.longest_wait(queue_code)
        self.router.notifier.queue_changed(queue_code, waiting, longest)

    def remove(self, call_uuid: str) -> RemovedCall | None:
        """The call leaves the ACD; returns what was removed (None when it was not there)."""
        self._reservations.pop(call_uuid, None)
        self._extensions.pop(call_uuid, None)
        outcome = self.router.remove_call(call_uuid, "left")
        self.deliver(outcome)
        return outcome.removed

    def extension_of(self, agent_id: int) -> str | None:
        return self.router.store.agent(agent_id).get("extension") or None

    def offer_failed(self, agent_id: int, call_uuid: str, kind: str) -> None:
        if kind == "unregistered":
            self.deliver(self.router.set_registered(agent_id, False))
            kind = "no_answer"
        outcome = self.router.offer_failed(agent_id, call_uuid, kind)
        # A re-route of this very call is picked up by the handler's loop.
        self.deliver(outcome)

    def release(self, agent_id: int, call_uuid: str) -> None:
        self.deliver(self.router.offer_failed(agent_id, call_uuid, "cancelled"))

    def offer_answered(self, agent_id: int, call_uuid: str) -> None:
        self.deliver(self.router.offer_answered(agent_id, call_uuid))

    def call_ended(
        self, agent_id: int, call_uuid: str, talk_seconds: float, queue: str | None = None
    ) -> None:
        """The agent's talk is over: wrap-up, and the queue's average handle time (the
        estimated-wait announcements use it) moves 10 % towards this call's talk time."""
        self.deliver(self.router.call_ended(agent_id, call_uuid, talk_seconds))
        if queue:
            key = f"cc:aht:{queue}"
            previous = float(self.redis.get(key) or talk_seconds)
            self.redis.set(key, repr(0.9 * previous + 0.1 * talk_seconds))

    def consult_started(self, agent_id: int) -> None:
        """A consulted agent is busy ("consult") for as long as the consultation lasts."""
        self.deliver(self.router.set_busy(agent_id, "consult"))

    def consult_taken_over(self, agent_id: int, call_uuid: str) -> None:
        """The consulted agent now has the call (busy "consult" -> talking on it)."""
        self.deliver(self.router.take_call(agent_id, call_uuid))

    def consult_ended(self, agent_id: int) -> None:
        agent = self.router.store.agent(agent_id)
        if agent.get("status") == "busy" and agent.get("reason") == "consult":
            self.deliver(self.router.set_ready(agent_id))

    def remember_last_agent(self, caller: str, agent_id: int) -> None:
        if caller:
            self.redis.set(LAST_AGENT_KEY + caller, f"{agent_id}:{time.time()!r}", ex=90 * 86400)

    def last_agent(self, caller: str, queue: dict[str, Any]) -> tuple[int | None, float | None]:
        days = int(queue.get("last_agent_lookback_days") or 0)
        if not days or not caller:
            return None, None
        raw = self.redis.get(LAST_AGENT_KEY + caller)
        if not raw:
            return None, None
        agent, _, at = raw.partition(":")
        if time.time() - float(at) > days * 86400:
            return None, None
        return int(agent), float(at)


def recording_path(recordings_dir: str, call_uuid: str, now: datetime | None = None) -> str:
    """recordings/YYYY/MM/DD/<call uuid>.wav, its directory made."""
    day = (now or datetime.now()).strftime("%Y/%m/%d")
    path = os.path.join(recordings_dir, day, f"{call_uuid}.wav")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


@dataclass
class CallServices:
    redis: redis.Redis
    config: Callable[[], ConfigSnapshot]
    acd: AcdPort
    notifier: LiveNotifier
    facts: FactWriter
    prompts: Prompts
    ivr: IvrRuntime
    settings: DaemonSettings
    calls: ActiveCalls = field(default_factory=ActiveCalls)
    # `api` on the switch (the inbound Event Socket connection); set by the daemon.
    switch_api: Callable[[str], str] = field(default=lambda command: "-ERR no switch")
    # `switch_bgapi(command, callback)`: a bgapi job; callback(BackgroundJob) with its result.
    switch_bgapi: Callable[[str, Callable[[Any], None]], str] = field(
        default=lambda command, callback: "-ERR no switch"
    )
    callbacks: Callbacks = None  # type: ignore[assignment]  (set by the daemon)
    dialouts: DialOuts = None  # type: ignore[assignment]  (set by the daemon)
    # cti.handover.Handover, set by the daemon: keeps a call whose socket broke for its rejoin.
    handover: Any = None
    # cti.recovery.Recovery, set by the daemon: the conversations adopted after a restart.
    recovery: Any = None

    def batch(self) -> AbstractContextManager[Any]:
        """A write batch on the daemon's Redis client (cti.notify.BatchingRedis): the live
        updates and facts of one call step go with its next read or when the block ends.
        Keep switch I/O out of it. A plain client has no batches: writes go at once."""
        batch = getattr(self.redis, "batch", None)
        return batch() if batch is not None else nullcontext()

    def customer_card(self, call) -> dict[str, Any] | None:
        """What the CRM published about the caller's number (id, name, VIP, owner agent)."""
        card = self.redis.hgetall(CUSTOMER_KEY + call.caller_number)
        if not card:
            return None
        if card.get("id"):
            call.customer_id = int(card["id"])
        call.vip_level = int(card.get("vip_level") or 0)
        if card.get("owner_agent_id"):
            call.owner_agent_id = int(card["owner_agent_id"])
        return card

    def start_recording(
        self,
        call_uuid: str,
        path: str | None = None,
        api: Callable[[str], str] | None = None,
    ) -> str | None:
        """Record channel ``call_uuid`` (both sides once bridged) to ``path`` (by default
        recordings/YYYY/MM/DD/<uuid>.wav) with ``api`` (by default the inbound connection;
        a call's handler passes its own socket); returns the path, or None when the switch
        refused."""
        path = path or recording_path(self.settings.recordings_dir, call_uuid)
        api = api or self.switch_api
        try:
            if self.settings.record_stereo:
                api(f"uuid_setvar {call_uuid} RECORD_STEREO true")
            reply = api(f"uuid_record {call_uuid} start {path}")
        except Exception as error:
            reply = str(error)
        if reply.startswith("+OK"):
            return path
        logger.error("call %s: recording did not start: %s", call_uuid, reply.strip())
        return None

    def recording_saved(
        self, call_uuid: str, path: str, agent_id: int | None, record_ms: str | None = None
    ) -> None:
        """The recording fact: its path and, when this host can read the file, its size,
        duration and channels; else the duration the switch measured (``record_ms``)."""
        size, channels = 0, 2 if self.settings.record_stereo else 1
        duration = int(record_ms) / 1000 if record_ms and record_ms.isdigit() else 0.0
        try:
            size = os.path.getsize(path)
            with wave.open(path, "rb") as wav:
                channels = wav.getnchannels()
                duration = wav.getnframes() / float(wav.getframerate() or 8000)
        except Exception:  # absent here (another host), or not a whole WAV
            logger.info("call %s: recording %s not readable here", call_uuid, path)
        self.facts.recording_saved(
            call_uuid=call_uuid,
            path=path,
            duration=duration,
            size=size,
            channels=channels,
            agent_id=agent_id,
        )
