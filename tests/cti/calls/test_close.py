"""Closing a call: whatever fails on the way, the CDR is written."""

from contextlib import nullcontext
from types import SimpleNamespace

from cti.calls.inbound import InboundCallHandler
from cti.calls.model import CallState
from tests.cti.calls.test_bridge_race import Data


class Broken(Exception):
    pass


def test_the_cdr_is_written_when_releasing_the_queue_fails():
    ended: list[dict] = []

    def remove(call_uuid):
        raise Broken("Redis went away in the middle")

    services = SimpleNamespace(
        acd=SimpleNamespace(
            position=lambda call_uuid: 3, remove=remove, take_extensions=lambda u: None
        ),
        facts=SimpleNamespace(
            call_abandoned=lambda **fields: None, call_ended=lambda **f: ended.append(f)
        ),
        notifier=SimpleNamespace(call_ended=lambda call: None, call_updated=lambda call: None),
        settings=SimpleNamespace(node_name="cti-1"),
        batch=nullcontext,
    )
    session = SimpleNamespace(channel_data=Data(), bridged_legs=[], hangup_cause="NORMAL_CLEARING")
    handler = InboundCallHandler(session, services)  # type: ignore[arg-type]
    handler.call.transition(CallState.QUEUED)
    handler.call.queue = "hotline"
    handler._close(handler.call)
    assert [cdr["call_uuid"] for cdr in ended] == ["caller-1"]
    assert ended[0]["queue"] == "hotline" and handler.call.state is CallState.ENDED
