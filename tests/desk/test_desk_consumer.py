"""The desk's websocket: current state on connect, relayed events, resync, slow pages."""

import asyncio
import json

import pytest
from channels.testing import WebsocketCommunicator

from desk.consumers import DeskConsumer
from desk.live import today_stamp
from realtime.groups import Directory
from realtime.registry import LiveRegistry
from realtime.relay import REGISTRY_SCOPE_KEY, LiveRelay

pytestmark = pytest.mark.django_db(transaction=True)


def _local_relay(agent):
    """A relay not subscribed to Redis: the tests hand it raw events as `cc:live` would."""
    relay = LiveRelay(lambda: None, LiveRegistry())
    relay.directory = Directory(groups_of_agent={agent.pk: ()})
    return relay


async def _connect(user, registry, consumer=DeskConsumer):
    communicator = WebsocketCommunicator(consumer.as_asgi(), "/ws/desk/")
    communicator.scope["user"] = user
    communicator.scope[REGISTRY_SCOPE_KEY] = registry
    connected, code = await communicator.connect()
    return communicator, connected, code


def _state_event(agent, state, sequence=0):
    return {"type": "agent", "agent_id": agent.pk, "state": state, "sequence": sequence}


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
    relay = _local_relay(agent)

    async def scenario():
        communicator, connected, _ = await _connect(seat["user"], relay.registry)
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
        assert relay.forward(json.dumps(pop)) == [f"agent.{agent.pk}"]
        assert await communicator.receive_json_from(5) == {"type": "event", "event": pop}
        # A page that noticed a gap asks again: the pop of the current call comes back.
        await communicator.send_json_to({"type": "resync"})
        again = await communicator.receive_json_from(5)
        assert again["type"] == "sync" and again["pop"]["digits"] == {"id": "9"}
        await communicator.disconnect()

    asyncio.run(scenario())
    assert json.loads(redis_client.get(f"cc:desk:pop:{agent.pk}"))["call_uuid"] == "call-1"


def test_every_page_gets_the_event_and_a_closed_page_is_unregistered(seat, redis_client):
    agent = seat["agent"]
    relay = _local_relay(agent)

    async def scenario():
        pages = [(await _connect(seat["user"], relay.registry))[0] for _ in range(3)]
        for page in pages:
            assert (await page.receive_json_from(5))["type"] == "sync"
        assert len(relay.registry) == 3
        relay.forward(json.dumps(_state_event(agent, "ready")))
        for page in pages:
            message = await page.receive_json_from(5)
            assert message["event"]["state"] == "ready"
        await pages[0].disconnect()
        assert len(relay.registry) == 2
        assert relay.registry.members_of([f"agent.{agent.pk}"]) == relay.registry.everyone()
        relay.forward(json.dumps(_state_event(agent, "busy")))
        for page in pages[1:]:
            assert (await page.receive_json_from(5))["event"]["state"] == "busy"
        assert relay.deliveries == 3 + 2
        for page in pages[1:]:
            await page.disconnect()
        assert len(relay.registry) == 0

    asyncio.run(scenario())


def test_a_slow_page_delays_nobody_and_gets_a_resync_once_it_fell_behind(seat, redis_client):
    agent = seat["agent"]
    redis_client.hset(f"cc:agent:{agent.pk}", mapping={"status": "busy", "day": today_stamp()})
    relay = _local_relay(agent)
    gate = asyncio.Event()

    class SlowDesk(DeskConsumer):
        """A page on a congested link: event frames wait until the gate opens."""

        outbox_limit = 4

        async def send(self, text_data=None, bytes_data=None, close=False):
            if text_data and text_data.startswith('{"type":"event"'):
                await gate.wait()
            await super().send(text_data, bytes_data, close)

    async def scenario():
        fast, _, _ = await _connect(seat["user"], relay.registry)
        slow, _, _ = await _connect(seat["user"], relay.registry, SlowDesk)
        assert (await fast.receive_json_from(5))["type"] == "sync"
        assert (await slow.receive_json_from(5))["type"] == "sync"
        for sequence in range(10):
            relay.forward(json.dumps(_state_event(agent, "ready", sequence)))
            # The fast page gets each change at once although the slow one is stuck.
            message = await fast.receive_json_from(2)
            assert message["event"]["sequence"] == sequence
        slow_consumer = next(m for m in relay.registry.everyone() if isinstance(m, SlowDesk))
        assert slow_consumer.outbox.overflows >= 1
        gate.set()
        # The frame that was in flight, then current state instead of the dropped backlog,
        # then what came after the drop.
        received = [await slow.receive_json_from(5)]
        while received[-1].get("event", {}).get("sequence") != 9:
            received.append(await slow.receive_json_from(5))
        kinds = [message["type"] for message in received]
        assert kinds[0] == "event" and received[0]["event"]["sequence"] == 0
        assert "sync" in kinds and len(received) < 1 + 10
        assert received[kinds.index("sync")]["agent"]["state"] == "busy"
        await fast.disconnect()
        await slow.disconnect()

    asyncio.run(scenario())


def test_desk_socket_refuses_users_without_a_seat_and_consumers_without_a_registry(
    make_user, seat, redis_client
):
    seatless = make_user("bob", "agent")
    registry = LiveRegistry()

    async def scenario():
        communicator, connected, code = await _connect(seatless, registry)
        assert not connected and code == 4403
        assert len(registry) == 0
        # Served without RelayStarter: refused rather than silently never updated.
        orphan = WebsocketCommunicator(DeskConsumer.as_asgi(), "/ws/desk/")
        orphan.scope["user"] = seat["user"]
        connected, code = await orphan.connect()
        assert not connected and code == 1011

    asyncio.run(scenario())
