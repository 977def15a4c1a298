"""The CTI daemon: builds the services and wires them to FreeSWITCH and Redis.

`run_cti` (a management command) monkey-patches gevent first, then calls `Daemon.run`.
Everything is built here and passed down through constructors (no module globals):

- the configuration snapshot reader (Redis, reloaded when Django publishes a version);
- one inbound Event Socket connection per FreeSWITCH node, for `api`/`bgapi` and events;
- the outbound-socket server that the dialplan's `socket` application connects to;
- the ACD router on its Redis store, the live notifier and the facts writer;
- the command-stream server for the desk and the wallboard;
- the leader lease: only the leader accepts calls and commands; a standby waits, and when
  it takes over it rebuilds live state from the switch (`show channels`) and Redis.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gevent
import gevent.event
import redis

from cti.acd.router import Router
from cti.acd.store import AcdStore
from cti.callbacks import CALLBACK_VARIABLE, Callbacks
from cti.calls.inbound import InboundCallHandler
from cti.calls.prompts import Prompts
from cti.config import ConfigSnapshotReader
from cti.control.handlers import CallControl
from cti.control.server import CommandServer
from cti.dialout import MARK_VARIABLE as DIALOUT_VARIABLE
from cti.dialout import DialOuts
from cti.esl.events import BackgroundJob
from cti.esl.inbound import InboundClient
from cti.esl.outbound import OutboundServer, OutboundSession
from cti.esl.protocol import ConnectionLost
from cti.facts import FactWriter
from cti.failover import FAILOVER_VARIABLE, FailoverRecords
from cti.handover import ACCEPTING_KEY, Handover
from cti.lease import LeaderLease
from cti.legs import CALL_VARIABLE, LegRecorder
from cti.notify import BatchingRedis, LiveNotifier
from cti.recovery import Recovery
from cti.services import AcdPort, CallServices, DaemonSettings, IvrRuntime

logger = logging.getLogger(__name__)

# What the daemon listens to on the inbound connection (each call's own events arrive on its
# outbound socket): answers and hangups of agent, consulted and callback legs, and phone
# registrations. Subscribing to ALL would parse every event of every channel twice.
DAEMON_EVENTS = (
    "CHANNEL_ANSWER",
    "CHANNEL_HANGUP_COMPLETE",
    "CUSTOM",
    "sofia::register",
    "sofia::unregister",
    "sofia::expire",
)
# Of those, every hangup (each leg's CDR), registrations, bgapi results and heartbeats, but
# only the answers of callback and click-to-call legs: the answers of every caller and agent
# were two of the sixteen events an inbound call cost on the daemon's connections.
# mod_event_socket passes an event that matches any of these (header, value) filters.
DAEMON_FILTERS = (
    ("Event-Name", "BACKGROUND_JOB"),
    ("Event-Name", "HEARTBEAT"),
    ("Event-Name", "CHANNEL_HANGUP_COMPLETE"),
    ("Event-Name", "CUSTOM"),
    (f"variable_{CALLBACK_VARIABLE}", "/./"),
    (f"variable_{DIALOUT_VARIABLE}", "/./"),
)


# How long a stopping daemon waits for its calls' handlers to record how they were let go.
STOP_LET_GO_SECONDS = 5.0


@dataclass
class DaemonOptions:
    redis_url: str
    esl_urls: list[str]
    socket_host: str = "127.0.0.1"
    socket_port: int = 8084
    prompts_dir: str = "var/prompts"
    settings: DaemonSettings = field(default_factory=DaemonSettings)
    lease_ttl_seconds: float = 2.0
    lease_renew_seconds: float = 0.5
    tick_seconds: float = 0.5


class Daemon:
    def __init__(self, options: DaemonOptions, ivr: IvrRuntime) -> None:
        self.options = options
        # Batching: one call step's live updates and facts share a round trip (cti/notify.py).
        self.redis = BatchingRedis.from_url(options.redis_url, decode_responses=True)
        self.reader = ConfigSnapshotReader(self.redis)
        self.facts = FactWriter(self.redis)
        self.notifier = LiveNotifier(self.redis, self.facts)
        self.store = AcdStore(self.redis)
        self.router = Router(
            self.store,
            lambda: self.reader.current,
            self.notifier,
            center_area_code=options.settings.center_area_code,
            country=options.settings.country,
            rng=random.Random(),
        )
        self.switches = [
            InboundClient.from_url(url, events=DAEMON_EVENTS, filters=DAEMON_FILTERS)
            for url in options.esl_urls
        ]
        self.services = CallServices(
            redis=self.redis,
            config=lambda: self.reader.current,
            acd=None,  # type: ignore[arg-type]  (set just below: the port needs the registry)
            notifier=self.notifier,
            facts=self.facts,
            prompts=Prompts(Path(options.prompts_dir)),
            ivr=ivr,
            settings=options.settings,
        )
        self.services.acd = AcdPort(self.router, self.services.calls, self.redis)
        self.services.switch_api = self._api
        self.services.switch_bgapi = self._bgapi
        self.legs = LegRecorder(self.facts)
        self.services.callbacks = Callbacks(self.services)
        self.services.dialouts = DialOuts(self.services)
        self.services.acd.callbacks = self.services.callbacks
        self.control = CallControl(self.services, self._api)
        self.recovery = Recovery(self.services, self._api)
        self.handover = Handover(self.services, self.recovery, options.settings.node_name)
        self.failover = FailoverRecords(self.services, self.recovery)
        self.services.handover = self.handover
        self.services.recovery = self.recovery
        self.commands = CommandServer(self.redis, consumer=options.settings.node_name)
        self.control.register_all(self.commands)
        self.outbound = OutboundServer(
            self._new_call, host=options.socket_host, port=options.socket_port
        )
        self.lease = LeaderLease(
            self.redis,
            options.settings.node_name,
            ttl_seconds=options.lease_ttl_seconds,
            renew_seconds=options.lease_renew_seconds,
        )
        self.stopping = gevent.event.Event()
        self.leading = gevent.event.Event()
        self._greenlets: list[gevent.Greenlet] = []
        self._leader_greenlets: list[gevent.Greenlet] = []
        self._lease_greenlet: gevent.Greenlet | None = None
        self._watchers: list = []
        # Each switch's count of connections when a resync last started.
        self._resynced_connections: dict[int, int] = {}
        for client in self.switches:
            client.on_connect(self._switch_connected)
            client.on("CHANNEL_HANGUP_COMPLETE", self.recovery.on_hangup_complete)
            client.on("CHANNEL_HANGUP_COMPLETE", self._leg_hung_up)
            client.on("CHANNEL_ANSWER", self._leg_answered)
            client.on("CHANNEL_ANSWER", self._dialled_call_answered)
            client.on("CHANNEL_HANGUP_COMPLETE", self._dialled_call_ended)
            client.on("CHANNEL_HANGUP_COMPLETE", self._leg_ended)
            client.on("CHANNEL_HANGUP_COMPLETE", functools.partial(self._failover_ended, client))
            for subclass in ("sofia::register", "sofia::unregister", "sofia::expire"):
                client.on("CUSTOM", self._registration, subclass=subclass)

    # -- switch ------------------------------------------------------------------------
    def _switch(self) -> InboundClient:
        """The first connected switch."""
        for client in self.switches:
            if client.connected:
                return client
        raise ConnectionLost("no FreeSWITCH connection")

    def _api(self, command: str) -> str:
        """Run an api (or `bgapi ...`) command on the first connected switch."""
        client = self._switch()
        if command.startswith("bgapi "):
            return "+OK Job-UUID: " + client.bgapi(command[len("bgapi ") :])
        return client.api(command)

    def _bgapi(self, command: str, callback: Callable[[BackgroundJob], None]) -> str:
        """Start a bgapi job on the first connected switch; ``callback`` gets its result."""
        return self._switch().bgapi(command, callback)

    def _switch_connected(self, client: InboundClient) -> None:
        logger.info("connected to FreeSWITCH %s:%s", client.host, client.port)
        if self.leading.is_set():
            # Events were missed while disconnected: reconcile with what the switch has.
            gevent.spawn(self._resync, True, False)

    def _resync(self, pull: bool = False, force: bool = True) -> None:
        """Reconcile with the switch; with ``pull`` (the socket accepts calls), bring the
        callers of a dead daemon that come back here at once (Recovery.pull_rejoining).
        Without ``force`` (a new connection's), not when another resync has already seen
        every connection as it is now (the election's, waiting for the first one)."""
        if not any(client.wait_connected(10) for client in self.switches):
            logger.error("resync skipped: no FreeSWITCH connection")
            return
        connections = {
            id(client): client.stats.connects for client in self.switches if client.connected
        }
        if not force and connections.items() <= self._resynced_connections.items():
            return
        self._resynced_connections.update(connections)
        try:
            self.recovery.resync()
            if pull:
                self.recovery.pull_rejoining()
        except Exception:
            logger.exception("resync failed")
        self._collect_failover_records()

    def _collect_failover_records(self) -> None:
        """The CDRs of the calls the switches took to the failover group (cti/failover.py)."""
        for client in self.switches:
            if not client.connected:
                continue
            try:
                self.failover.collect_all(client.api)
            except Exception:
                logger.exception("failover records of %s:%s not read", client.host, client.port)

    def _failover_ended(self, client: InboundClient, event) -> None:
        """A call in the failover group ended: its record is on the switch now."""
        if self.leading.is_set() and event.variable(FAILOVER_VARIABLE) == "true":
            gevent.spawn(self._collect_failover_record, client, event.unique_id or "")

    def _collect_failover_record(self, client: InboundClient, call_uuid: str) -> None:
        try:
            self.failover.collect(client.api, call_uuid)
        except Exception:
            logger.exception("failover record of %s not read", call_uuid)

    # A standby sees the same events: only the leader records and closes dialled calls.
    def _dialled_call_answered(self, event) -> None:
        if self.leading.is_set():
            self.services.dialouts.on_answer(event)

    def _dialled_call_ended(self, event) -> None:
        if self.leading.is_set():
            self.services.dialouts.on_hangup_complete(event)

    def _leg_ended(self, event) -> None:
        """Each leg's CDR, written by the leading daemon only."""
        if self.leading.is_set():
            self.legs.on_hangup_complete(event)

    def _leg_answered(self, event) -> None:
        self.services.callbacks.on_answer(event.unique_id or "")

    def _leg_hung_up(self, event) -> None:
        """An agent or consulted leg of a call in a conference room (or of a callback)
        hung up."""
        leg = event.unique_id or ""
        self.services.callbacks.on_hangup(leg, event.hangup_cause or "NORMAL_CLEARING")
        handler = self.services.calls.find_by_leg(leg, event.variable(CALL_VARIABLE) or "")
        if handler is not None and leg != handler.call.uuid:
            try:
                handler.on_leg_hangup(leg)
            except Exception:
                logger.exception("call %s: leg %s hangup handling failed", handler.call.uuid, leg)

    def _registration(self, event) -> None:
        """sofia::register / unregister / expire: an agent phone came or went."""
        extension = event.get("from-user") or event.get("username") or ""
        agent = self.reader.current.agents_by_extension.get(extension)
        if agent is None:
            return
        registered = event.subclass == "sofia::register"
        try:
            self.services.acd.deliver(self.router.set_registered(agent["id"], registered))
        except Exception:
            logger.exception("registration update for %s failed", extension)

    def _new_call(self, session: OutboundSession) -> InboundCallHandler:
        return InboundCallHandler(session, self.services)

    # -- leadership --------------------------------------------------------------------
    def _elected(self) -> None:
        logger.warning("%s leads: accepting calls and commands", self.options.settings.node_name)
        self.leading.set()
        self._resync()
        self.outbound.start()
        # A stopping leader waits for this before it hands its callers over.
        self.redis.set(ACCEPTING_KEY, self.options.settings.node_name)
        try:
            self.recovery.pull_rejoining()
        except Exception:
            logger.exception("pulling the rejoining calls failed")
        self._leader_greenlets = [
            gevent.spawn(self.commands.serve, self.stopping),
            gevent.spawn(self._tick_loop),
        ]

    def _deposed(self) -> None:
        logger.warning("%s no longer leads", self.options.settings.node_name)
        self.leading.clear()
        self.outbound.stop(timeout=1)
        try:
            if self.redis.get(ACCEPTING_KEY) == self.options.settings.node_name:
                self.redis.delete(ACCEPTING_KEY)
        except redis.ConnectionError:
            pass
        gevent.killall(self._leader_greenlets, block=False)
        self._leader_greenlets = []

    def _tick_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                with self.redis.batch():
                    self.services.acd.deliver(self.router.tick())
            except redis.ConnectionError:
                logger.warning("ACD tick: Redis unreachable")
            except Exception:
                logger.exception("ACD tick failed")
            self.stopping.wait(self.options.tick_seconds)

    # -- life cycle --------------------------------------------------------------------
    def watch(self, watcher) -> None:
        """Run `watcher(on_change, stop_event)` (a snapshot reader's watch) while running."""
        self._watchers.append(watcher)

    def start(self) -> None:
        self.commands.ensure_group()
        for watcher in self._watchers:
            self._greenlets.append(gevent.spawn(watcher, None, self.stopping))
        self.reader.refresh()
        self._greenlets.append(gevent.spawn(self.reader.watch, None, self.stopping))
        for client in self.switches:
            client.start()
        # Not ``stopping``: a stopping leader keeps the lease until its calls are marked for
        # the next one (``stop`` ends this greenlet, then releases the lease).
        self._lease_greenlet = gevent.spawn(
            self.lease.run, gevent.event.Event(), self._elected, self._deposed, gevent.sleep
        )
        self._greenlets.append(self._lease_greenlet)

    def stop(self) -> None:
        leading = self.leading.is_set()
        if leading:
            # No new calls, no ACD tick, no commands; the lease is still held.
            self._deposed()
        handed: list = []
        others = self.lease.others_running(time.time()) if leading else []
        if leading:
            # Another daemon runs: the IVR and queued callers go to it (cti/handover.py),
            # marked before the lease is released so its recovery leaves them be. None
            # runs: those whose dialplan tries the sockets again wait for the next to start.
            try:
                handed = self.handover.prepare(rejoining_only=not others)
            except Exception:
                logger.exception("handover failed: the calls go to the failover group")
        self.stopping.set()
        if self._lease_greenlet is not None:
            gevent.kill(self._lease_greenlet)
        self.lease.release()
        self.lease.withdraw()
        if handed and others:
            self.handover.complete(handed)
        elif handed:
            self.handover.leave_to_rejoin(handed)
        # The calls still here are let go, each recording how (a conversation is left for
        # the next leader to adopt; any other call goes to the failover ring group).
        self.outbound.let_go(timeout=STOP_LET_GO_SECONDS)
        for client in self.switches:
            client.stop()
        gevent.killall(self._greenlets, timeout=2)

    def run(self) -> None:
        self.start()
        try:
            self.stopping.wait()
        finally:
            self.stop()
