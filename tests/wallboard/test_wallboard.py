"""The wallboard: only the supervisor's groups, interventions through the daemon."""

import asyncio
import datetime as dt
import json
import time

import pytest
from channels.testing import WebsocketCommunicator
from django.urls import reverse
from django.utils import timezone

from cti.control.protocol import Reason, Reply
from cti.models import QueueEntry, QueueOutcome
from desk.live import today_stamp
from realtime.groups import Directory
from realtime.registry import LiveRegistry
from realtime.relay import REGISTRY_SCOPE_KEY, LiveRelay
from tests.desk.daemon_double import ReplyingDaemon
from wallboard.consumers import WallboardConsumer
from wallboard.services import queue_counters_today, wallboard_snapshot

pytestmark = pytest.mark.django_db


def test_snapshot_lists_only_the_supervised_groups(floor, redis_client):
    anna = floor["agents"]["安娜"]
    redis_client.hset(
        f"cc:agent:{anna.pk}",
        mapping={
            "status": "talking",
            "calls_today": "3",
            "talk_today": "200",
            "day": today_stamp(),
        },
    )
    redis_client.zadd("cc:queue:hotline:waiting", {"member-1": -1, "member-2": -1})
    redis_client.zadd("cc:queue:hotline:arrivals", {"c1": time.time() - 42, "c2": time.time()})
    redis_client.hset("cc:live:call:c9", mapping={"uuid": "c9", "agent_id": anna.pk})
    redis_client.hset("cc:live:call:c8", mapping={"uuid": "c8", "queue": "sales"})
    redis_client.sadd("cc:live:calls", "c9", "c8")
    snapshot = wallboard_snapshot(floor["boss"], redis_client)
    assert [a["name"] for a in snapshot["agents"]] == ["安娜"]
    assert snapshot["agents"][0]["state"] == "talking" and snapshot["agents"][0]["calls_today"] == 3
    assert [q["code"] for q in snapshot["queues"]] == ["hotline"]
    assert snapshot["queues"][0]["waiting"] == 2
    assert 41 <= snapshot["queues"][0]["longest_wait"] <= 45
    assert [c["uuid"] for c in snapshot["calls"]] == ["c9"]


def test_service_level_and_abandon_rate_of_today():
    now = timezone.now()
    rows = [
        (QueueOutcome.ANSWERED, 5),
        (QueueOutcome.ANSWERED, 15),
        (QueueOutcome.ANSWERED, 60),
        (QueueOutcome.ABANDONED, 30),
        (QueueOutcome.WAITING, None),
    ]
    for index, (outcome, wait) in enumerate(rows):
        QueueEntry.objects.create(
            call_uuid=f"c{index}",
            queue="hotline",
            entered_at=now,
            outcome=outcome,
            wait_seconds=wait,
        )
    QueueEntry.objects.create(
        call_uuid="old", queue="hotline", entered_at=now - dt.timedelta(days=2), outcome="abandoned"
    )
    from telephony.models import Queue
    from tests.telephony.factories import QueueFactory

    QueueFactory(code="hotline", service_level_seconds=20)
    assert Queue.objects.get(code="hotline").service_level_seconds == 20
    counters = queue_counters_today(["hotline"], now)["hotline"]
    assert counters["offered"] == 4 and counters["abandoned"] == 1
    assert counters["service_level"] == 50.0 and counters["abandoned_rate"] == 25.0


def test_page_for_supervisors_only(client, floor, make_user):
    client.force_login(make_user("ann2", "agent"))
    assert client.get(reverse("wallboard:index")).status_code == 403
    client.force_login(floor["boss"])
    page = client.get(reverse("wallboard:index")).content.decode()
    assert "班长监控墙" in page and "热线组" in page and "销售组" not in page
    assert "强插" in page and "监听" in page


def test_page_names_call_directions_and_the_reasons_the_system_sets(client, floor):
    """The call list says which calls were dialled out; an agent on one reads busy 外呼."""
    client.force_login(floor["boss"])
    page = client.get(reverse("wallboard:index")).content.decode()
    script = page.split('id="wallboard-config" type="application/json">')[1]
    text = json.loads(script.split("<")[0])["text"]
    assert text["directions"] == {"inbound": "呼入", "outbound": "呼出", "internal": "内部"}
    assert text["busyReasons"]["outbound"] == "外呼"
    assert 'data-testid="call-table"' in page


def test_intervention_on_an_agent_of_another_group_never_reaches_the_daemon(
    client, floor, redis_client
):
    client.force_login(floor["boss"])
    bob = floor["agents"]["鲍勃"]
    response = client.post(reverse("wallboard:act", args=[bob.pk, "barge"]))
    assert response.status_code == 403 and response.json()["code"] == "not_your_agent"
    assert redis_client.xlen("cc:commands") == 0


def test_barge_is_sent_with_the_supervisors_phone_and_the_reply_shown(
    client, floor, redis_client, settings
):
    def decide(command):
        if command.action == "force_hangup":
            return Reply.rejected(Reason.NO_CALL, "There is no call on this seat.")
        return Reply.ok(call_uuid="c1")

    anna = floor["agents"]["安娜"]
    client.force_login(floor["boss"])
    with ReplyingDaemon(settings.REDIS_URL, decide) as daemon:
        ok = client.post(reverse("wallboard:act", args=[anna.pk, "barge"]), {"extension": "1009"})
        refused = client.post(reverse("wallboard:act", args=[anna.pk, "force_hangup"]))
    assert ok.json()["accepted"] and ok.json()["data"] == {"call_uuid": "c1"}
    assert refused.json()["message"] == "该坐席当前没有通话。"
    barge = daemon.received[0]
    assert barge.action == "barge" and barge.roles == ("supervisor",)
    assert barge.args == {"agent_id": anna.pk, "extension": "1009"}
    assert daemon.received[1].args == {"agent_id": anna.pk}


@pytest.mark.django_db(transaction=True)
def test_wallboard_socket_gets_the_events_of_the_supervised_groups_only(
    floor, redis_client, make_user
):
    plain_agent = make_user("plain", "agent")
    anna, bob = floor["agents"]["安娜"], floor["agents"]["鲍勃"]
    relay = LiveRelay(lambda: None, LiveRegistry())
    relay.directory = Directory(
        groups_of_agent={anna.pk: (floor["mine"].pk,), bob.pk: (floor["other"].pk,)},
        group_of_queue={"hotline": floor["mine"].pk, "sales": floor["other"].pk},
    )

    async def scenario():
        board = WebsocketCommunicator(WallboardConsumer.as_asgi(), "/ws/wallboard/")
        board.scope["user"] = floor["boss"]
        board.scope[REGISTRY_SCOPE_KEY] = relay.registry
        connected, _ = await board.connect()
        assert connected
        sync = await board.receive_json_from(5)
        assert [a["name"] for a in sync["agents"]] == ["安娜"]
        (member,) = relay.registry.everyone()
        assert relay.registry.groups_of(member) == (f"team.{floor['mine'].pk}",)
        relay.forward(json.dumps({"type": "agent", "agent_id": bob.pk, "state": "ready"}))
        relay.forward(json.dumps({"type": "queue", "queue": "sales", "waiting": 3}))
        relay.forward(json.dumps({"type": "agent", "agent_id": anna.pk, "state": "ready"}))
        received = await board.receive_json_from(5)
        assert received["event"]["agent_id"] == anna.pk
        assert await board.receive_nothing(0.3)
        await board.disconnect()
        assert len(relay.registry) == 0
        agent_only = WebsocketCommunicator(WallboardConsumer.as_asgi(), "/ws/wallboard/")
        agent_only.scope["user"] = plain_agent
        agent_only.scope[REGISTRY_SCOPE_KEY] = relay.registry
        connected, code = await agent_only.connect()
        assert not connected and code == 4403

    asyncio.run(scenario())
