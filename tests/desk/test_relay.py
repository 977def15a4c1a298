"""The relay and the registry: routing, local delivery over Redis, outboxes, resync."""

import asyncio
import json

import pytest
import redis.asyncio as aioredis

from cti.notify import LIVE_CHANNEL
from realtime.groups import CallAudience, Directory, groups_for
from realtime.registry import RESYNC, LiveRegistry, Outbox
from realtime.relay import LiveRelay

DIRECTORY = Directory(groups_of_agent={7: (1, 2), 8: (2,)}, group_of_queue={"hotline": 1})


@pytest.mark.parametrize(
    ("event", "groups"),
    [
        ({"type": "agent", "agent_id": 7, "state": "ready"}, ["agent.7", "team.1", "team.2"]),
        ({"type": "screen_pop", "agent_id": 8, "caller": "1"}, ["agent.8"]),
        (
            {"type": "call", "call": {"agent_id": "8", "queue": "hotline"}},
            ["agent.8", "team.2", "team.1"],
        ),
        ({"type": "call_ended", "call": {"agent_id": "", "queue": "hotline"}}, ["team.1"]),
        ({"type": "queue", "queue": "hotline", "waiting": 2}, ["team.1"]),
        ({"type": "queue", "queue": "unknown", "waiting": 2}, []),
        (
            {"type": "call_offered", "queue": "hotline", "agents": [8]},
            ["team.1", "agent.8", "team.2"],
        ),
        ({"type": "command", "user_id": 3}, []),
    ],
)
def test_events_go_to_the_agent_and_the_supervisors_of_its_groups(event, groups):
    assert groups_for(event, DIRECTORY) == groups


def test_directory_from_the_configuration_snapshot():
    directory = Directory.from_snapshot(
        {
            "agents": [{"id": 3, "groups": [{"group": 5, "level": 1, "position": 1}]}],
            "queues": [{"code": "q", "group": 5}, {"code": "free", "group": None}],
        }
    )
    assert directory.teams_of_agent(3) == ["team.5"]
    assert directory.team_of_queue("q") == ["team.5"] and directory.team_of_queue("free") == []


class Page:
    """A stand-in consumer that records what the relay hands it."""

    def __init__(self, name):
        self.name = name
        self.frames = []
        self.resyncs = 0

    def deliver(self, frame, event):
        self.frames.append((frame, event))

    def request_resync(self):
        self.resyncs += 1

    def __repr__(self):
        return f"Page({self.name})"


def test_registry_keeps_each_member_once_and_forgets_it_on_unregister():
    registry = LiveRegistry()
    desk, board = Page("desk"), Page("board")
    registry.register(desk, ["agent.7"])
    registry.register(board, ["team.1", "team.2", "team.1"])
    assert registry.groups_of(board) == ("team.1", "team.2")
    assert registry.members_of(["agent.7", "team.1", "team.2"]) == [desk, board]
    assert registry.members_of(["team.9"]) == [] and len(registry) == 2
    registry.unregister(board)
    assert registry.members_of(["team.1", "team.2"]) == [] and registry.everyone() == [desk]
    registry.unregister(board)  # twice is harmless (disconnect after a failed connect)
    assert len(registry) == 1


def test_outbox_drops_a_backlog_for_one_resync_and_wakes_its_reader():
    async def scenario():
        outbox = Outbox(limit=3)
        reader = asyncio.create_task(outbox.get())
        await asyncio.sleep(0)
        outbox.put(({"n": 0}, "f0"))
        assert await asyncio.wait_for(reader, 1) == ({"n": 0}, "f0")
        for n in range(1, 5):
            outbox.put(({"n": n}, f"f{n}"))
        # f1..f3 filled it; f4 overflowed: the backlog became one RESYNC, then f4.
        assert outbox.overflows == 1 and len(outbox) == 2
        assert await outbox.get() is RESYNC
        assert await outbox.get() == ({"n": 4}, "f4")
        outbox.request_resync()
        outbox.request_resync()  # one pending resync is enough
        assert len(outbox) == 1 and await outbox.get() is RESYNC

    asyncio.run(scenario())


def test_forward_builds_the_frame_once_and_hands_it_to_the_local_members():
    registry = LiveRegistry()
    relay = LiveRelay(lambda: None, registry)
    relay.directory = DIRECTORY
    desk7, desk8, board1, board2 = Page("d7"), Page("d8"), Page("b1"), Page("b12")
    registry.register(desk7, ["agent.7"])
    registry.register(desk8, ["agent.8"])
    registry.register(board1, ["team.1"])
    registry.register(board2, ["team.1", "team.2"])
    event = {"type": "agent", "agent_id": 7, "state": "ready"}
    assert relay.forward(json.dumps(event)) == ["agent.7", "team.1", "team.2"]
    for page in (desk7, board1, board2):
        assert len(page.frames) == 1 and page.frames[0][1] == event
        assert json.loads(page.frames[0][0]) == {"type": "event", "event": event}
    assert desk8.frames == []
    # One serialization for the whole fan-out: every member got the very same string.
    assert desk7.frames[0][0] is board1.frames[0][0] is board2.frames[0][0]
    assert relay.forward("not json") == [] and relay.forward("[1]") == []
    assert relay.deliveries == 3


def test_a_call_moved_to_another_group_reaches_the_wallboards_that_showed_it_once_more():
    directory = Directory(groups_of_agent={7: (1,), 9: (3,)}, group_of_queue={"a": 1, "b": 2})
    registry = LiveRegistry()
    relay = LiveRelay(lambda: None, registry)
    relay.directory = directory
    board1, board2, board3 = Page("b1"), Page("b2"), Page("b3")
    for page, team in ((board1, "team.1"), (board2, "team.2"), (board3, "team.3")):
        registry.register(page, [team])

    def update(kind="call", **call):
        return relay.forward(json.dumps({"type": kind, "call": {"uuid": "c-1", **call}}))

    assert update(queue="a") == ["team.1"]
    assert update(queue="a", agent_id="7") == ["agent.7", "team.1"]
    # Transferred to queue b (group 2): group 1's wallboard gets this update, to drop it...
    assert update(queue="b") == ["team.2", "team.1"]
    # ...and nothing after it.
    assert update(queue="b", agent_id="9") == ["agent.9", "team.3", "team.2"]
    assert update("call_ended", queue="b", agent_id="9") == ["agent.9", "team.3", "team.2"]
    assert len(relay.audience) == 0, "an ended call is forgotten"
    assert [len(board.frames) for board in (board1, board2, board3)] == [3, 3, 2]
    # Other kinds and calls without a uuid are routed by the event alone.
    assert relay.forward(json.dumps({"type": "call", "call": {"queue": "a"}})) == ["team.1"]
    assert len(relay.audience) == 0


def test_the_audience_forgets_the_oldest_calls_beyond_its_limit():
    audience = CallAudience(limit=2)
    for number in range(3):
        audience.widen({"type": "call", "call": {"uuid": f"c-{number}"}}, ["team.1"])
    assert len(audience) == 2
    # c-0 was forgotten: its next update goes to its current groups only.
    assert audience.widen({"type": "call", "call": {"uuid": "c-0"}}, ["team.2"]) == ["team.2"]
    assert audience.widen({"type": "call", "call": {"uuid": "c-2"}}, ["team.2"]) == [
        "team.2",
        "team.1",
    ]


def test_relay_delivers_published_events_and_asks_for_resync_after_an_outage(
    redis_client, settings
):
    asyncio.run(_relay_scenario(settings.REDIS_URL, redis_client))


async def _wait_until(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


async def _relay_scenario(redis_url, redis_client):
    redis_client.set(
        "cc:config:snapshot",
        json.dumps({"version": 1, "agents": [{"id": 7, "groups": [{"group": 1}]}], "queues": []}),
    )
    registry = LiveRegistry()
    desk, board, other = Page("desk"), Page("board"), Page("other")
    registry.register(desk, ["agent.7"])
    registry.register(board, ["team.1"])
    registry.register(other, ["agent.8"])
    relay = LiveRelay(
        lambda: aioredis.Redis.from_url(
            redis_url, decode_responses=True, client_name="relay-under-test"
        ),
        registry,
        0.05,
    )
    relay.ensure_started()
    publisher = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await asyncio.wait_for(relay.subscribed.wait(), 5)
        # Pages registered before the relay subscribed may have missed events: resynced.
        assert (desk.resyncs, board.resyncs, other.resyncs) == (1, 1, 1)
        event = {"type": "agent", "agent_id": 7, "old": "busy", "state": "ready", "at": 1.0}
        await publisher.publish(LIVE_CHANNEL, json.dumps(event))
        await _wait_until(lambda: desk.frames and board.frames)
        assert desk.frames[0][1] == event and board.frames[0][1] == event
        assert other.frames == []
        # The relay's connection dies (Redis restart, network): it resubscribes and every
        # local page is told to resync, since events published meanwhile are lost.
        relay.subscribed.clear()
        # Only this test's relay connection: the Redis server is shared.
        for client in await publisher.client_list():
            if client.get("name") == "relay-under-test":
                await publisher.client_kill_filter(_id=client["id"])
        await asyncio.wait_for(relay.subscribed.wait(), 5)
        assert (desk.resyncs, board.resyncs, other.resyncs) == (2, 2, 2)
        await publisher.publish(LIVE_CHANNEL, json.dumps({**event, "state": "busy"}))
        await _wait_until(lambda: len(desk.frames) == 2)
        assert desk.frames[1][1]["state"] == "busy"
    finally:
        await publisher.aclose()
        await relay.stop()
