"""Live notifier and write batches: one call step's facts and live updates in one round trip,
facts first, with the same payloads as when every write went on its own."""

from __future__ import annotations

import json
import time
import uuid

import gevent
import pytest
import redis

from cti.acd.store import AcdStore, StateChange
from cti.acd.strategies import AgentStatus
from cti.calls.model import Call, CallState
from cti.facts import FactWriter
from cti.notify import (
    CALL_KEY,
    CALLS_INDEX,
    LIVE_CHANNEL,
    BatchingRedis,
    LiveNotifier,
    QuickCheckConnection,
)
from cti.redis_wire import WireConnections


@pytest.fixture
def batching(redis_client, settings):
    client = BatchingRedis.from_url(settings.REDIS_URL, decode_responses=True)
    yield client
    client.close()


class SendCounter:
    """Counts the round trips a client makes: redis-py's sends and the wire path's."""

    def __init__(self, monkeypatch) -> None:
        self.sends = 0
        original = redis.connection.AbstractConnection.send_packed_command
        wire = WireConnections._roundtrip

        def counting(connection, command, check_health=True):
            self.sends += 1
            return original(connection, command, check_health)

        def counting_wire(connections, packed, count):
            self.sends += 1
            return wire(connections, packed, count)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
        monkeypatch.setattr(WireConnections, "_roundtrip", counting_wire)


def facts_in(client, stream="cc:facts"):
    return [(fields["kind"], json.loads(fields["payload"])) for _, fields in client.xrange(stream)]


CALL_UUID = f"call-{uuid.uuid4()}"
AGENT = 900_000 + uuid.uuid4().int % 90_000


def call(state=CallState.QUEUED) -> Call:
    result = Call(uuid=CALL_UUID, caller_number="13800000000", destination_number="95000")
    result.state = state
    result.queue = "sales"
    return result


def live_messages(pubsub, mine, count: int) -> list[dict]:
    """This test's first ``count`` messages and any extra within 0.3 s (pub/sub channels span
    databases: other runs publish too)."""
    messages: list[dict] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message is not None and message["type"] == "message":
            data = json.loads(message["data"])
            if mine(data):
                messages.append(data)
                if len(messages) == count:
                    deadline = min(deadline, time.monotonic() + 0.3)
    return messages


def test_writes_in_a_batch_wait_for_the_next_read_and_go_with_it(batching, redis_client):
    facts = FactWriter(batching)
    notifier = LiveNotifier(batching, facts)
    with batching.batch():
        notifier.call_updated(call())
        assert (
            facts.queue_entered(call_uuid=CALL_UUID, queue="sales", position=1, entered_at=5.0)
            == ""
        )
        assert not redis_client.exists(CALL_KEY + CALL_UUID)  # still waiting
        assert redis_client.xlen("cc:facts") == 0
        assert batching.get("anything") is None  # a read: the writes go first
        assert redis_client.hget(CALL_KEY + CALL_UUID, "state") == "queued"
        assert redis_client.sismember(CALLS_INDEX, CALL_UUID)
        assert [kind for kind, _ in facts_in(redis_client)] == ["queue_entered"]
        notifier.call_ended(call())
        assert redis_client.exists(CALL_KEY + CALL_UUID)
    # The end of the block sends the rest.
    assert not redis_client.exists(CALL_KEY + CALL_UUID)


def test_one_call_step_is_one_round_trip(batching, monkeypatch):
    facts = FactWriter(batching)
    notifier = LiveNotifier(batching, facts)
    store = AcdStore(batching)
    batching.ping()  # connect first: the handshake is not the step's
    counter = SendCounter(monkeypatch)
    change = StateChange(AGENT, AgentStatus.READY, AgentStatus.OFFERED, 100.0, "", CALL_UUID)
    with batching.batch():
        notifier.call_updated(call())
        notifier.agent_state_changed(change)
        facts.queue_entered(call_uuid=CALL_UUID, queue="sales", position=1, entered_at=5.0)
        notifier.queue_changed("sales", 0, 0.0)
        assert counter.sends == 0
        assert store.queue_length("sales") == 0  # the read carries the four writes
        assert counter.sends == 1
    assert counter.sends == 1


def test_read_pipelines_carry_the_waiting_writes(batching, redis_client, monkeypatch):
    notifier = LiveNotifier(batching)
    batching.ping()
    counter = SendCounter(monkeypatch)
    with batching.batch():
        notifier.call_updated(call())
        pipe = batching.pipeline(transaction=False)
        pipe.hget(CALL_KEY + CALL_UUID, "state")
        pipe.scard(CALLS_INDEX)
        assert batching.execute_pipeline(pipe) == ["queued", 1]
        assert counter.sends == 1


def test_the_fact_goes_before_the_live_message(batching):
    facts = FactWriter(batching)
    notifier = LiveNotifier(batching, facts)
    change = StateChange(AGENT, AgentStatus.READY, AgentStatus.OFFERED, 100.0, "", CALL_UUID)
    with batching.batch():
        notifier.agent_state_changed(change)
        names = [args[0] for args, _options in batching.queued().command_stack]
        assert names == ["EVAL", "PUBLISH"]


def test_the_batch_is_sent_when_the_block_ends_with_an_exception(batching, redis_client):
    facts = FactWriter(batching)
    with pytest.raises(RuntimeError), batching.batch():
        facts.survey_scored(call_uuid=CALL_UUID, score=4)
        raise RuntimeError("handler failed")
    assert [kind for kind, _ in facts_in(redis_client)] == ["survey_scored"]


def test_batches_nest_and_belong_to_one_greenlet(batching, redis_client):
    notifier = LiveNotifier(batching)
    with batching.batch():
        with batching.batch():
            notifier.call_updated(call())
        assert not redis_client.exists(CALL_KEY + CALL_UUID)  # the outer block holds it
        # Another greenlet's writes are its own: they go at once.
        other = call()
        other.uuid = f"{CALL_UUID}-2"
        gevent.spawn(notifier.call_updated, other).join()
        assert redis_client.exists(CALL_KEY + other.uuid)
        assert not redis_client.exists(CALL_KEY + CALL_UUID)
    assert redis_client.exists(CALL_KEY + CALL_UUID)


def test_a_plain_client_writes_at_once(redis_client):
    notifier = LiveNotifier(redis_client, FactWriter(redis_client))
    notifier.call_updated(call())
    assert redis_client.hget(CALL_KEY + CALL_UUID, "state") == "queued"


@pytest.mark.parametrize("batched", [False, True])
def test_agent_fact_and_message_are_those_of_separate_writes(batched, batching, redis_client):
    """The duration comes from the since key as before: same fact payload, same message."""
    facts = FactWriter(batching)
    notifier = LiveNotifier(batching, facts)
    pubsub = redis_client.pubsub()
    pubsub.subscribe(LIVE_CHANNEL)
    pubsub.get_message(timeout=1)
    changes = [
        StateChange(AGENT, AgentStatus.LOGGED_OUT, AgentStatus.READY, 1_760_000_000.125, ""),
        StateChange(AGENT, AgentStatus.READY, AgentStatus.OFFERED, 1_760_000_012.3, "", CALL_UUID),
        StateChange(AGENT, AgentStatus.OFFERED, AgentStatus.BUSY, 1_760_000_030.7, 'no "answer"\\'),
    ]
    for change in changes:
        if batched:
            with batching.batch():
                notifier.agent_state_changed(change)
        else:
            notifier.agent_state_changed(change)
    # What the writer made on its own, with the duration worked out in Python as before.
    expected_stream = "expected:facts"
    reference = FactWriter(redis_client, stream=expected_stream)
    previous = None
    for change in changes:
        reference.agent_state_changed(
            agent_id=change.agent_id,
            old=str(change.old),
            new=str(change.new),
            reason=change.reason,
            duration=change.at - previous if previous is not None else None,
            call_uuid=change.call_uuid or "",
            at=change.at,
        )
        previous = change.at
    written = redis_client.xrange("cc:facts")
    wanted = redis_client.xrange(expected_stream)
    assert [json.loads(f["payload"]) for _, f in written] == [
        json.loads(f["payload"]) for _, f in wanted
    ]
    assert [(f["kind"], f["subject"], f["at"]) for _, f in written] == [
        (f["kind"], f["subject"], f["at"]) for _, f in wanted
    ]
    assert redis_client.get(f"cc:agentsince:{AGENT}") == repr(changes[-1].at)
    assert live_messages(pubsub, lambda m: m.get("agent_id") == AGENT, len(changes)) == [
        {
            "type": "agent",
            "agent_id": AGENT,
            "old": str(change.old),
            "state": str(change.new),
            "reason": change.reason,
            "call_uuid": change.call_uuid,
            "at": change.at,
        }
        for change in changes
    ]
    pubsub.close()


def test_agent_fact_without_a_readable_previous_time_has_no_duration(batching, redis_client):
    facts = FactWriter(batching)
    notifier = LiveNotifier(batching, facts)
    redis_client.set(f"cc:agentsince:{AGENT}", "garbage")
    notifier.agent_state_changed(StateChange(AGENT, AgentStatus.BUSY, AgentStatus.READY, 50.0))
    redis_client.set(f"cc:agentsince:{AGENT}", "80.0")  # later than the change: clock went back
    notifier.agent_state_changed(StateChange(AGENT, AgentStatus.READY, AgentStatus.BUSY, 60.0))
    durations = [payload["duration"] for _, payload in facts_in(redis_client)]
    assert durations == [None, None]


def test_call_messages_keep_their_payload(batching, redis_client):
    notifier = LiveNotifier(batching)
    pubsub = redis_client.pubsub()
    pubsub.subscribe(LIVE_CHANNEL)
    pubsub.get_message(timeout=1)
    item = call()
    with batching.batch():
        notifier.call_updated(item)
        notifier.call_ended(item)
    messages = live_messages(pubsub, lambda m: m.get("call", {}).get("uuid") == item.uuid, 2)
    assert [m["type"] for m in messages] == ["call", "call_ended"]
    assert messages[0]["call"] == item.live_fields() == messages[1]["call"]
    assert set(messages[0]) == {"type", "call", "at"}
    pubsub.close()


def test_quick_check_connections_still_see_unread_replies(batching):
    pool = batching.connection_pool
    assert pool.connection_class is QuickCheckConnection
    connection = pool.get_connection()
    try:
        assert connection.can_read() is False
        connection.send_command("PING")
        deadline = time.monotonic() + 2
        while not connection.can_read() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert connection.can_read() is True  # a reply nobody read: the pool reconnects
        assert connection.read_response() in ("PONG", b"PONG", True)
        assert connection.can_read() is False
    finally:
        pool.release(connection)


def test_unix_socket_urls_keep_their_connection_class():
    client = BatchingRedis.from_url("unix:///tmp/no-such-redis.sock")
    assert client.connection_pool.connection_class is redis.connection.UnixDomainSocketConnection


def test_a_busy_pool_makes_callers_wait_for_a_connection_instead_of_failing(settings):
    import threading

    from cti.notify import POOL_CONNECTIONS

    default = BatchingRedis.from_url(settings.REDIS_URL, decode_responses=True)
    assert isinstance(default.connection_pool, redis.BlockingConnectionPool)
    assert default.connection_pool.max_connections == POOL_CONNECTIONS
    default.close()

    # Two connections, eight callers each holding one for 0.2 s: they take turns.
    small = BatchingRedis.from_url(settings.REDIS_URL, decode_responses=True, max_connections=2)
    errors: list[BaseException] = []

    def hold_a_connection(index: int) -> None:
        try:
            small.blpop(f"test-pool-nothing-{uuid.uuid4().hex}-{index}", timeout=0.2)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=hold_a_connection, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert len(small.connection_pool._connections) <= 2
    small.close()


def test_the_live_notifier_has_every_method_the_acd_calls():
    """The ACD calls its notifier through the AcdNotifier protocol; a method missing from the
    daemon's implementation failed every SIP registration (found on a real switch)."""
    import inspect

    from cti.acd.notifier import AcdNotifier

    wanted = {name for name, _ in inspect.getmembers(AcdNotifier, inspect.isfunction)}
    missing = {name for name in wanted if not callable(getattr(LiveNotifier, name, None))}
    assert not missing


def test_a_registration_change_is_published(batching, redis_client):
    notifier = LiveNotifier(batching)
    pubsub = redis_client.pubsub()
    pubsub.subscribe(LIVE_CHANNEL)
    pubsub.get_message(timeout=1)
    notifier.agent_registration_changed(AGENT, True)
    (message,) = live_messages(pubsub, lambda m: m.get("agent_id") == AGENT, 1)
    assert (message["type"], message["registered"]) == ("agent_registration", True)
    pubsub.close()
