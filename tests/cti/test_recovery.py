"""The new leader's recovery closes each call once, however its closes and resyncs overlap."""

import json
from types import SimpleNamespace

import gevent

from cti.notify import CALL_KEY, CALLS_INDEX
from tests.cti.test_handover import facts, live_call, recovery


def slow_recovery(redis_client, channels: list[str]):
    """A recovery over ``channels`` (a list the test may change) whose recording fact waits
    on Redis, as the daemon's does, letting other greenlets run in the middle of a close."""
    rec = recovery(redis_client, [])
    rec.api = lambda command: json.dumps({"rows": [{"uuid": uuid} for uuid in channels]})
    store = SimpleNamespace(prefix="cc:acd:", agent=lambda agent_id: {}, waiting_calls=list)
    rec.services.acd = SimpleNamespace(router=SimpleNamespace(store=store))
    rec.services.config = lambda: SimpleNamespace(queues_by_code={})

    def recording_saved(call_uuid, path, agent_id, record_ms=None):
        gevent.sleep(0.05)
        rec.services.facts.recording_saved(
            call_uuid=call_uuid, path=path, duration=1.0, size=0, channels=1, agent_id=agent_id
        )

    rec.services.recording_saved = recording_saved
    return rec


def test_a_resync_during_the_close_of_an_adopted_call_does_not_close_it_again(redis_client):
    channels = ["talking"]
    live_call(redis_client, "talking", state="bridged", recording="/rec/talking.wav")
    rec = slow_recovery(redis_client, channels)
    assert rec.resync()["adopted"] == 1

    # The caller and the agent hang up; the close of the adopted call is under way when a
    # resync (the switch reconnecting, say) lists the live calls.
    channels.clear()
    fields = rec.adopted["talking"]
    closing = gevent.spawn(rec.close, "talking", fields, "agent")
    gevent.sleep(0.01)
    resync = gevent.spawn(rec.resync)
    gevent.joinall([closing, resync], raise_error=True)

    assert [cdr["hangup_by"] for cdr in facts(redis_client, "call_ended")] == ["agent"]
    assert [r["path"] for r in facts(redis_client, "recording_saved")] == ["/rec/talking.wav"]
    assert not redis_client.exists(CALL_KEY + "talking")
    assert not redis_client.sismember(CALLS_INDEX, "talking")


def test_an_index_entry_without_its_live_record_is_dropped_without_a_cdr(redis_client):
    redis_client.sadd(CALLS_INDEX, "closed-meanwhile")
    counts = slow_recovery(redis_client, []).resync()

    assert counts["closed"] == 0
    assert not facts(redis_client, "call_ended")
    assert not redis_client.sismember(CALLS_INDEX, "closed-meanwhile")
