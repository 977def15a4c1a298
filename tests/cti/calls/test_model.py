import pytest

from cti.calls.model import TRANSITIONS, Call, CallState, IllegalTransition


def make_call() -> Call:
    return Call(uuid="u-1", caller_number="13800138000", destination_number="12329")


def test_happy_path_through_the_queue_to_survey():
    call = make_call()
    for state in ("ivr", "queued", "offered", "bridged", "held", "bridged", "survey", "ended"):
        call.transition(CallState(state))
    assert call.is_over and call.ended_at is not None
    assert [h[1] for h in call.history][-1] == "ended"


def test_no_answer_goes_back_to_the_queue():
    call = make_call()
    call.transition(CallState.QUEUED)
    call.transition(CallState.OFFERED)
    assert call.transition(CallState.QUEUED) is CallState.OFFERED


@pytest.mark.parametrize(
    ("path", "bad"),
    [((), "bridged"), (("queued",), "held"), (("ivr", "queued", "offered"), "survey")],
)
def test_illegal_transitions_raise_and_name_the_call(path, bad):
    call = make_call()
    for state in path:
        call.transition(CallState(state))
    with pytest.raises(IllegalTransition) as info:
        call.transition(CallState(bad))
    assert "u-1" in str(info.value)
    assert call.state is CallState(path[-1] if path else "arrived")


def test_every_live_state_can_end_and_ended_is_final():
    for state, allowed in TRANSITIONS.items():
        if state is CallState.ENDED:
            assert allowed == frozenset()
        else:
            assert CallState.ENDED in allowed


def test_live_fields_are_strings():
    call = make_call()
    call.agent_id = 7
    assert all(isinstance(v, str) for v in call.live_fields().values())
    assert call.live_fields()["agent_id"] == "7"
