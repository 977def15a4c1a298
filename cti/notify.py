"""What the daemon tells the rest of the platform, live.

The daemon owns live state; it writes it to Redis hashes that any reader may poll
(`cc:live:call:<uuid>`, and the ACD's agent hashes) and announces each change as JSON on the
pub/sub channel `cc:live`. A relay in the ASGI process forwards those messages to the
browsers' Channels groups (the daemon never calls Channels: gevent and asyncio never meet
in one process). Every message carries a `type` and the ids the relay routes by.

Round trips are what the daemon spends its time on, so one call step's writes travel
together: inside ``with client.batch():`` on a :class:`BatchingRedis` client, the live hash
updates, the pub/sub messages and the fact appends of the current greenlet wait in a
pipeline, and go to Redis with the greenlet's next command that needs a reply (an ACD
script, a read) or when the block ends, in the order they were made.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import gevent.local
import redis
import redis.connection
from redis.client import Pipeline

from cti.calls.model import Call
from cti.redis_wire import (
    WireConnections,
    WirePipeline,
    available,
    needs_redis_py,
    readable_now,
)

if TYPE_CHECKING:
    from cti.acd.router import RouteDecision
    from cti.acd.store import StateChange
    from cti.acd.strategies import WaitingCall
    from cti.facts import FactWriter

logger = logging.getLogger(__name__)

LIVE_CHANNEL = "cc:live"
# json.dumps(message, ensure_ascii=False), without building an encoder per message.
_encode_message = json.JSONEncoder(ensure_ascii=False).encode
CALL_KEY = "cc:live:call:"
CALLS_INDEX = "cc:live:calls"


class QuickCheckConnection(redis.connection.Connection):
    """A TCP connection whose "has the server sent something unasked?" check, which the pool
    makes on every checkout, is one real zero-timeout poll instead of gevent's emulation."""

    def can_read(self, timeout: float = 0) -> bool:
        sock = self._sock
        reader = getattr(self._parser, "_reader", None)  # hiredis: bytes already buffered?
        if timeout == 0 and sock is not None and reader is not None and not reader.has_data():
            if not readable_now(sock.fileno()):
                return False
        return super().can_read(timeout)


# The daemon's Redis connections: enough for every greenlet that talks to Redis at one moment
# under load; beyond that a greenlet waits (bounded) for one to come back.
POOL_CONNECTIONS = 256
POOL_WAIT_SECONDS = 20.0


class BatchingRedis(redis.Redis):
    """A Redis client that can hold one greenlet's writes and send them with its next read.

    ``with client.batch():`` opens a batch for the current greenlet (blocks nest; the
    outermost one sends what is left when it ends, also when it ends with an exception).
    Writers that can wait ask :meth:`queued` for the batch's pipeline and add their commands
    to it: the live notifier and the fact writer do. Any other command of that greenlet
    that needs a reply (:meth:`execute_command`, or :meth:`execute_pipeline` for a pipeline
    of reads) takes the waiting writes along, in front of it, in the same round trip; Redis
    runs them in order, so a fact appended before a live change still lands before it.
    Other greenlets and code outside a batch see a plain client.

    Keep blocking I/O (the switch, sleeps) out of a batch: its writes wait until the batch
    ends or the next Redis reply.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = gevent.local.local()
        # Commands and non-transactional pipelines skip redis-py's per-command machinery
        # (cti/redis_wire.py).
        self._wire = (
            WireConnections(self, POOL_CONNECTIONS, POOL_WAIT_SECONDS) if available(self) else None
        )

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        pipe = WirePipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.wire = self._wire
        return pipe

    def close(self) -> None:
        if self._wire is not None:
            self._wire.close()
        super().close()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> BatchingRedis:
        """As redis.Redis.from_url, on a pool where a greenlet waits for a free connection.

        redis-py's default pool refuses a 101st connection (MaxConnectionsError): with a
        few hundred calls up, a burst failed calls outright and the switch sent them to the
        failover ring group. Here at most `POOL_CONNECTIONS` are opened and a greenlet
        waits up to `POOL_WAIT_SECONDS` for one. TCP connections check for stray replies
        cheaply (:class:`QuickCheckConnection`); a unix socket URL keeps its own class.
        """
        if url.startswith("redis://"):
            kwargs.setdefault("connection_class", QuickCheckConnection)
        kwargs.setdefault("max_connections", POOL_CONNECTIONS)
        kwargs.setdefault("timeout", POOL_WAIT_SECONDS)
        pool = redis.BlockingConnectionPool.from_url(url, **kwargs)
        return cls(connection_pool=pool)

    @contextmanager
    def batch(self) -> Iterator[None]:
        local = self._local
        depth = getattr(local, "depth", 0)
        local.depth = depth + 1
        try:
            yield
        finally:
            local.depth = depth
            if depth == 0:
                self.flush()

    def queued(self) -> Pipeline | None:
        """The current greenlet's batch pipeline, or None outside a batch."""
        local = self._local
        if not getattr(local, "depth", 0):
            return None
        pipe = getattr(local, "pipe", None)
        if pipe is None:
            pipe = local.pipe = self.pipeline(transaction=False)
        return pipe

    def _take(self) -> Pipeline | None:
        local = self._local
        pipe = getattr(local, "pipe", None)
        if pipe is None or not pipe.command_stack:
            return None
        local.pipe = None
        return pipe

    def flush(self) -> None:
        """Send the current greenlet's waiting writes now."""
        pipe = self._take()
        if pipe is not None:
            pipe.execute()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        pipe = self._take()
        if pipe is None:
            wire = self._wire
            if wire is None or needs_redis_py(options):
                return super().execute_command(*args, **options)
            return wire.execute(args, options)
        pipe.execute_command(*args, **options)
        return pipe.execute()[-1]

    def execute_pipeline(self, pipe: Pipeline) -> list[Any]:
        """Execute a (non-transactional) pipeline of reads, with the waiting writes first;
        returns the pipeline's own replies."""
        pending = self._take()
        if pending is None:
            return pipe.execute()
        skip = len(pending.command_stack)
        pending.command_stack.extend(pipe.command_stack)
        pipe.reset()
        return pending.execute()[skip:]


def queued(client: Any) -> Pipeline | None:
    """The batch pipeline of ``client`` for this greenlet (None: write at once)."""
    method = getattr(client, "queued", None)
    return method() if method is not None else None


def execute_pipeline(client: Any, pipe: Pipeline) -> list[Any]:
    """``pipe.execute()``, carrying the greenlet's waiting writes on a batching client."""
    method = getattr(client, "execute_pipeline", None)
    return method(pipe) if method is not None else pipe.execute()


class LiveNotifier:
    """One method per outgoing event; each writes live state, publishes, and records facts.

    Inside a batch of a :class:`BatchingRedis` client the writes join the batch.
    """

    def __init__(self, client: redis.Redis, facts: FactWriter | None = None) -> None:
        self._redis = client
        self._facts = facts

    def _publish(self, message: dict[str, Any], pipe=None) -> None:
        message.setdefault("at", time.time())
        target = pipe if pipe is not None else (queued(self._redis) or self._redis)
        target.publish(LIVE_CHANNEL, _encode_message(message))

    # --- calls -----------------------------------------------------------------------
    def call_updated(self, call: Call) -> None:
        self.call_record_updated(call.live_fields())

    def call_record_updated(self, fields: dict[Any, Any]) -> None:
        """Write and publish a live call's record as it is (an adopted call has no
        :class:`Call`, only the record its daemon left)."""
        batch = queued(self._redis)
        pipe = batch if batch is not None else self._redis.pipeline(transaction=False)
        call_uuid = fields["uuid"]
        pipe.hset(CALL_KEY + call_uuid, mapping=fields)
        pipe.sadd(CALLS_INDEX, call_uuid)
        self._publish({"type": "call", "call": fields}, pipe)
        if batch is None:
            pipe.execute()

    def call_ended(self, call: Call) -> None:
        batch = queued(self._redis)
        pipe = batch if batch is not None else self._redis.pipeline(transaction=False)
        pipe.delete(CALL_KEY + call.uuid)
        pipe.srem(CALLS_INDEX, call.uuid)
        self._publish({"type": "call_ended", "call": call.live_fields()}, pipe)
        if batch is None:
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
        """The ACD changed an agent's state (AcdNotifier): a fact and a live message.

        The fact's ``duration`` (seconds in ``old``) comes from ``cc:agentsince:<id>``, which
        the fact's own script reads and moves to ``change.at``; the fact and the message go
        in one round trip (or join the current batch), the fact first.
        """
        old, new = str(change.old), str(change.new)
        since_key = f"cc:agentsince:{change.agent_id}"
        batch = queued(self._redis)
        pipe = batch if batch is not None else self._redis.pipeline(transaction=False)
        if self._facts is not None:
            self._facts.agent_state_changed_since(
                since_key,
                agent_id=change.agent_id,
                old=old,
                new=new,
                reason=change.reason or "",
                call_uuid=change.call_uuid or "",
                at=change.at,
                pipe=pipe,
            )
        else:
            pipe.set(since_key, repr(change.at))
        self._publish(
            {
                "type": "agent",
                "agent_id": change.agent_id,
                "old": old,
                "state": new,
                "reason": change.reason,
                "call_uuid": change.call_uuid,
                "at": change.at,
            },
            pipe,
        )
        if batch is None:
            pipe.execute()

    def agent_registration_changed(self, agent_id: int, registered: bool) -> None:
        """The agent's phone registered or went away (its ACD status is unchanged)."""
        self._publish(
            {"type": "agent_registration", "agent_id": agent_id, "registered": registered}
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
