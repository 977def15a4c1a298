"""The daemon's index of live calls: finding the call a hung-up leg belongs to."""

from types import SimpleNamespace

from cti.calls.registry import ActiveCalls


def handler(call_uuid: str, *legs: str) -> SimpleNamespace:
    return SimpleNamespace(
        call=SimpleNamespace(uuid=call_uuid), leg_uuids=lambda: {call_uuid, *legs}
    )


def test_a_leg_is_found_by_the_call_it_is_tagged_with():
    calls = ActiveCalls()
    first, second = handler("call-1", "agent-1"), handler("call-2", "agent-2", "consult-2")
    calls.add("call-1", first)
    calls.add("call-2", second)
    assert calls.find_by_leg("call-2") is second
    assert calls.find_by_leg("consult-2", "call-2") is second
    assert calls.find_by_leg("agent-1", "call-1") is first


def test_a_leg_the_call_does_not_hold_or_an_untagged_one_is_none_of_ours():
    calls = ActiveCalls()
    calls.add("call-1", handler("call-1", "agent-1"))
    # A supervisor's eavesdrop leg carries the call's tag but is not one of its legs.
    assert calls.find_by_leg("eavesdrop-1", "call-1") is None
    assert calls.find_by_leg("agent-1", "call-9") is None
    assert calls.find_by_leg("internal-call") is None
    calls.remove("call-1")
    assert calls.find_by_leg("agent-1", "call-1") is None
