"""A stopping leader hands its IVR, queued and ringing callers to the next leader.

Without this, the callers a daemon holds in its IVR or a queue when it stops (SIGTERM, as
for an upgrade) reach the failover ring group: the socket closes and FreeSWITCH runs the
dialplan's next action. When another daemon is running, the stopping leader does this instead:

1. ``prepare`` (the lease still held): the calls in a queue or offered to agents leave the
   ACD queues, so nobody reserves an agent for a call no daemon will hold (ringing agents
   are freed, and their phones stop ringing: the call is queued again). The handlers of
   those calls and of the calls in the IVR end, leaving the call as it is and the socket
   open; each call's live record is marked ``handover`` (the stopping node and what the
   next daemon needs: the queue's routing hints, the IVR digits and variables). The next
   leader's recovery leaves marked calls be.
2. The lease is released (by the daemon).
3. ``complete``: once another daemon leads and accepts calls (it writes ``cc:accepting``), each
   call gets the channel variable ``cc_handover`` and is sent back through its own dialplan
   extension (``uuid_transfer``, sent on its own socket with the ``exit`` that closes it):
   the ``socket``
   application connects it to the new leader,
   whose handler takes it up where it was (see ``InboundCallHandler.run``). A queued caller
   waits in the same queue at the same place: same arrival time, same priority, the same
   deadline, and no second call_started or queue_entered fact. An IVR caller starts the
   flow again.

With no daemon accepting within ``HANDOVER_WAIT_SECONDS``, or a transfer the switch refuses,
the call is closed as before: the socket closes, the caller reaches the failover ring group,
and the CDR and the queue exit say ``failover``. A marked call that never reaches the new
leader is closed by its recovery after ``HANDOVER_GRACE_SECONDS``.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

import gevent

from cti.calls.inbound import FAILOVER, HANDOVER_FIELD, HANDOVER_STATES, HANDOVER_VARIABLE
from cti.calls.model import CallState
from cti.lease import LEASE_KEY
from cti.notify import CALL_KEY

if TYPE_CHECKING:
    from cti.calls.inbound import InboundCallHandler
    from cti.recovery import Recovery
    from cti.services import CallServices

logger = logging.getLogger(__name__)

# The leader that accepts calls on its socket now (set once it listens).
ACCEPTING_KEY = "cc:accepting"
# How long a stopping leader waits for another daemon to accept calls.
HANDOVER_WAIT_SECONDS = 5.0
# How long the new leader keeps a marked call's record for its caller to arrive.
HANDOVER_GRACE_SECONDS = 30.0
# How long the handlers may take to end.
HANDLERS_END_SECONDS = 5.0


def handover_payload(handler: InboundCallHandler, node: str, rejoin: bool = False) -> str:
    """The live record's ``handover`` mark. ``rejoin``: the call comes back by the dialplan's
    next tries of the sockets (no daemon transfers it), so the next leader may pull it."""
    call = handler.call
    return json.dumps(
        {
            "node": node,
            "rejoin": rejoin,
            "at": time.time(),  # when the daemon let go: the caller left its queue then
            "hints": {k: v for k, v in handler.queue_hints.items() if k not in ("kind", "queue")},
            "digits": call.digits,
            "variables": call.variables,
            "ivr_nodes": call.ivr_nodes,
            "customer_id": call.customer_id,
            "vip_level": call.vip_level,
        },
        default=str,
    )


class Handover:
    def __init__(
        self,
        services: CallServices,
        recovery: Recovery,
        node: str,
    ) -> None:
        self.services = services
        self.recovery = recovery
        self.node = node

    def prepare(self, rejoining_only: bool = False) -> list[InboundCallHandler]:
        """Take the IVR, queued and offered calls out of the ACD, end their handlers (sockets
        kept open) and mark the calls; returns the handlers whose calls are handed over.

        ``rejoining_only``: only the calls whose dialplan tries the sockets again once we let
        go of them (a daemon stopping with no other running: see ``leave_to_rejoin``)."""
        services = self.services
        handlers = [
            h
            for h in services.calls
            if h.call.state in HANDOVER_STATES and (h.rejoins or not rejoining_only)
        ]
        if not handlers:
            return []
        try:
            return self._prepare(handlers, rejoin=rejoining_only)
        except Exception:
            # Redis failing, say: the calls are let go of as any other (failover, or a rejoin
            # the next daemon's recovery finds); a handler that already ended holding its
            # socket lets it close.
            for handler in handlers:
                handler.handing_over = False
                handler.session.released.set()
            raise

    def _prepare(
        self, handlers: list[InboundCallHandler], rejoin: bool
    ) -> list[InboundCallHandler]:
        services = self.services
        for handler in handlers:
            handler.handing_over = True
        # Out of the ACD first, so nobody offers them an agent from now on (ringing agents
        # are freed; the handlers stop their phones).
        for handler in handlers:
            if handler.call.state in (CallState.QUEUED, CallState.OFFERED):
                services.acd.remove(handler.call.uuid)
        # Each handler ends where it is (GreenletExit); its greenlet then holds the socket
        # open until ``complete`` releases it.
        gevent.killall([h.greenlet for h in handlers if h.greenlet is not None], block=False)
        gevent.wait([h.finished for h in handlers], timeout=HANDLERS_END_SECONDS)
        # A handler that moved on (an agent answered, the caller hung up) closed its call
        # the usual way instead.
        kept = [h for h in handlers if h.handed_over]
        with services.batch():
            for handler in kept:
                services.redis.hset(
                    CALL_KEY + handler.call.uuid,
                    HANDOVER_FIELD,
                    handover_payload(handler, self.node, rejoin),
                )
        for handler in kept:
            # Again: one may have entered its queue from the IVR meanwhile.
            if handler.call.state is CallState.QUEUED:
                services.acd.remove(handler.call.uuid)
        logger.warning("handing %d calls over to the next leader", len(kept))
        return kept

    def next_leader(self, timeout: float = HANDOVER_WAIT_SECONDS) -> str | None:
        """The other daemon that leads and accepts calls, once it does (None on timeout)."""
        redis = self.services.redis
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            accepting = redis.get(ACCEPTING_KEY)
            if accepting and accepting != self.node and redis.get(LEASE_KEY) == accepting:
                return accepting
            gevent.sleep(0.05)
        return None

    def complete(self, handlers: list[InboundCallHandler]) -> int:
        """Send each call to the next leader, or to the failover group when none accepts;
        returns how many went to the next leader."""
        leader = self.next_leader() if handlers else None
        if handlers and leader is None:
            logger.error("no other daemon accepts calls: %d callers go to failover", len(handlers))
        sent = 0
        for handler in handlers:
            if leader is not None and self._transfer(handler):
                sent += 1
            else:
                self._close(handler)
            handler.session.released.set()
        if handlers:
            logger.warning("%d calls handed over to %s", sent, leader)
        return sent

    def leave_to_rejoin(self, handlers: list[InboundCallHandler]) -> None:
        """No other daemon runs: let go of the marked calls without closing them. Their
        sockets close and the dialplan tries the sockets again after its pauses
        (``cc_rejoin_ms`` in all), so a daemon that starts meanwhile (a restart) takes each
        caller up where it was. Otherwise the caller reaches the failover ring group, and the
        next daemon to start closes the call from its live record (its recovery), as after a
        crash: the CDR and the queue exit wait until then."""
        for handler in handlers:
            handler.session.released.set()
        if handlers:
            logger.warning(
                "no other daemon runs: %d callers try the sockets again for the next one",
                len(handlers),
            )

    def await_rejoin(self, handler: InboundCallHandler) -> None:
        """The socket of one call broke while this daemon runs on (its handler let go, the
        call is up): out of the ACD, marked, and awaited as after a crash, so its next try
        of the sockets is taken up where it was; closed as failover if it never comes."""
        services = self.services
        call_uuid = handler.call.uuid
        if handler.call.state in (CallState.QUEUED, CallState.OFFERED):
            services.acd.remove(call_uuid)
        mark = handover_payload(handler, self.node, rejoin=True)
        services.redis.hset(CALL_KEY + call_uuid, HANDOVER_FIELD, mark)
        handler.session.released.set()
        gevent.spawn_later(HANDOVER_GRACE_SECONDS, self.recovery.expire_handovers, [call_uuid])
        logger.warning("call %s: its socket broke; awaiting its next try", call_uuid)
        # Its next try comes once the application it is in ends (a piece of music): pull it
        # now (the broken socket cannot end the next one's park any more). Not pulled, it
        # comes back by itself.
        self.recovery.pull(call_uuid, handler.call.destination_number)

    def _transfer(self, handler: InboundCallHandler) -> bool:
        """Back through the call's own dialplan extension: ``uuid_transfer`` and ``exit`` in
        one write on its own socket (see ``OutboundSession.transfer_away`` for why)."""
        data = handler.session.channel_data
        destination = (data.destination_number if data is not None else "") or ""
        if not destination or handler.session.hung_up:
            return False
        return handler.session.transfer_away(destination, {HANDOVER_VARIABLE: self.node})

    def _close(self, handler: InboundCallHandler) -> None:
        """As a stopping daemon closes any call it lets go of (the caller reaches the failover
        group), from the live record."""
        call_uuid = handler.call.uuid
        fields: dict[str, Any] = self.services.redis.hgetall(CALL_KEY + call_uuid)
        if not fields:
            return
        hangup_by = "caller" if handler.session.hung_up else FAILOVER
        self.recovery.close(call_uuid, fields, hangup_by)
