"""The relay: routing of the daemon's events, forwarding over Redis, resync after an outage."""

import asyncio
import json

import pytest
import redis.asyncio as aioredis
from channels.layers import get_channel_layer

from cti.notify import LIVE_CHANNEL
from realtime.groups import Directory, groups_for
from realtime.relay import RESYNC_GROUP, LiveRelay

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


async def _receive(layer, channel, timeout=5.0):
    return await asyncio.wait_for(layer.receive(channel), timeout)


def test_relay_forwards_published_events_and_asks_for_resync_after_an_outage(
    redis_client, settings
):
    asyncio.run(_relay_scenario(settings.REDIS_URL, redis_client))


async def _relay_scenario(redis_url, redis_client):
    redis_client.set(
        "cc:config:snapshot",
        json.dumps({"version": 1, "agents": [{"id": 7, "groups": [{"group": 1}]}], "queues": []}),
    )
    layer = get_channel_layer()
    desk = await layer.new_channel()
    board = await layer.new_channel()
    await layer.group_add("agent.7", desk)
    await layer.group_add("team.1", board)
    await layer.group_add(RESYNC_GROUP, board)
    relay = LiveRelay(
        lambda: aioredis.Redis.from_url(
            redis_url, decode_responses=True, client_name="relay-under-test"
        ),
        layer,
        0.05,
    )
    relay.ensure_started()
    try:
        await asyncio.wait_for(relay.subscribed.wait(), 5)
        publisher = aioredis.Redis.from_url(redis_url, decode_responses=True)
        event = {"type": "agent", "agent_id": 7, "old": "busy", "state": "ready", "at": 1.0}
        await publisher.publish(LIVE_CHANNEL, json.dumps(event))
        assert (await _receive(layer, desk)) == {"type": "live.event", "event": event}
        assert (await _receive(layer, board))["event"] == event
        # The relay's connection dies (Redis restart, network): it resubscribes and every
        # page is told to resync, since events published meanwhile are lost.
        relay.subscribed.clear()
        # Only this test's relay connection: the Redis server is shared.
        for client in await publisher.client_list():
            if client.get("name") == "relay-under-test":
                await publisher.client_kill_filter(_id=client["id"])
        await asyncio.wait_for(relay.subscribed.wait(), 5)
        assert (await _receive(layer, board)) == {"type": "live.resync"}
        await publisher.publish(LIVE_CHANNEL, json.dumps({**event, "state": "busy"}))
        assert (await _receive(layer, desk))["event"]["state"] == "busy"
        await publisher.aclose()
    finally:
        await relay.stop()
        await layer.flush()
