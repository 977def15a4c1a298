"""The new leader's side of a handover: marked calls wait for their caller, not forever."""

import json
import time
from types import SimpleNamespace

from cti.calls.registry import ActiveCalls
from cti.facts import FactWriter
from cti.notify import CALL_KEY, CALLS_INDEX
from cti.recovery import Recovery


def live_call(redis_client, call_uuid: str, **fields) -> None:
    record = {
        "uuid": call_uuid,
        "caller": "13800000001",
        "destination": "12329",
        "direction": "inbound",
        "state": "queued",
        "started_at": str(time.time() - 30),
        "answered_at": str(time.time() - 29),
        "queue": "hotline",
        "queued_at": str(time.time() - 28),
        **fields,
    }
    redis_client.hset(CALL_KEY + call_uuid, mapping=record)
    redis_client.sadd(CALLS_INDEX, call_uuid)


def recovery(redis_client, channels: list[str]) -> Recovery:
    services = SimpleNamespace(
        calls=ActiveCalls(),
        redis=redis_client,
        facts=FactWriter(redis_client),
        settings=SimpleNamespace(node_name="cti-2"),
        dialouts=None,
    )
    rows = json.dumps({"rows": [{"uuid": uuid} for uuid in channels]})
    return Recovery(services, lambda command: rows)


def facts(redis_client, kind: str) -> list[dict]:
    return [
        json.loads(fields["payload"])
        for _id, fields in redis_client.xrange("cc:facts")
        if fields["kind"] == kind
    ]


def test_a_handed_over_call_whose_caller_never_arrives_is_closed_as_failover(redis_client):
    mark = json.dumps({"node": "cti-1"})
    live_call(redis_client, "never-came", handover=mark)
    live_call(redis_client, "taken-up")  # the new handler removed the mark
    live_call(redis_client, "hung-up", handover=mark)
    closed = recovery(redis_client, ["never-came", "taken-up"]).expire_handovers(
        ["never-came", "taken-up", "hung-up"]
    )

    assert closed == 2
    ended = {cdr["call_uuid"]: cdr for cdr in facts(redis_client, "call_ended")}
    assert set(ended) == {"never-came", "hung-up"}
    assert ended["never-came"]["hangup_by"] == "failover"
    exits = {e["call_uuid"]: e for e in facts(redis_client, "queue_exited")}
    assert (exits["never-came"]["outcome"], exits["never-came"]["overflow_target"]) == (
        "overflowed",
        "failover",
    )
    assert not redis_client.exists(CALL_KEY + "never-came")
    assert redis_client.exists(CALL_KEY + "taken-up")
