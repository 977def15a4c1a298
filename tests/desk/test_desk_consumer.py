"""The desk's websocket: current state on connect, the agent's events, resync on request."""

import asyncio
import json

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from desk.consumers import DeskConsumer
from desk.live import today_stamp

pytestmark = pytest.mark.django_db(transaction=True)


async def _connect(user):
    communicator = WebsocketCommunicator(DeskConsumer.as_asgi(), "/ws/desk/")
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


def test_desk_socket_syncs_forwards_and_remembers_the_screen_pop(seat, redis_client):
    agent = seat["agent"]
    redis_client.hset(
        f"cc:agent:{agent.pk}",
        mapping={
            "status": "talking",
            "call": "call-1",
            "changed_at": "1700000000.5",
            "calls_today": "4",
            "talk_today": "300",
            "day": today_stamp(),
        },
    )
    redis_client.hset(
        "cc:live:call:call-1",
        mapping={
            "uuid": "call-1",
            "caller": "13800138000",
            "state": "bridged",
            "agent_id": agent.pk,
        },
    )
    redis_client.sadd("cc:live:calls", "call-1")

    async def scenario():
        communicator, connected, _ = await _connect(seat["user"])
        assert connected
        sync = await communicator.receive_json_from(5)
        assert sync["type"] == "sync" and sync["pop"] is None
        assert sync["agent"]["state"] == "talking" and sync["agent"]["calls_today"] == 4
        assert sync["call"]["caller"] == "13800138000"
        pop = {
            "type": "screen_pop",
            "agent_id": agent.pk,
            "call_uuid": "call-1",
            "digits": {"id": "9"},
        }
        await get_channel_layer().group_send(
            f"agent.{agent.pk}", {"type": "live.event", "event": pop}
        )
        assert await communicator.receive_json_from(5) == {"type": "event", "event": pop}
        # A page that noticed a gap asks again: the pop of the current call comes back.
        await communicator.send_json_to({"type": "resync"})
        again = await communicator.receive_json_from(5)
        assert again["pop"]["digits"] == {"id": "9"}
        await communicator.disconnect()

    asyncio.run(scenario())
    assert json.loads(redis_client.get(f"cc:desk:pop:{agent.pk}"))["call_uuid"] == "call-1"


def test_desk_socket_refuses_users_without_a_seat(make_user, redis_client):
    seatless = make_user("bob", "agent")

    async def scenario():
        communicator, connected, code = await _connect(seatless)
        assert not connected and code == 4403

    asyncio.run(scenario())
