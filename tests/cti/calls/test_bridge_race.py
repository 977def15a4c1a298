"""The bridge application can return before the pump greenlet has handled its bridge event
(under load both arrive in one read). The handler then settles the bridge itself, once."""

from contextlib import nullcontext
from types import SimpleNamespace

import gevent

from cti.calls.inbound import InboundCallHandler, Offer
from cti.calls.model import CallState


class Data:
    unique_id = "caller-1"
    caller_number = "13800138000"
    destination_number = "12329"

    def variable(self, name):
        return None


class Acd:
    def __init__(self) -> None:
        self.answered: list[tuple[int, str]] = []

    def offer_answered(self, agent_id: int, call_uuid: str) -> None:
        gevent.sleep(0.01)  # a Redis round trip
        self.answered.append((agent_id, call_uuid))


def handler() -> tuple[InboundCallHandler, Acd]:
    acd = Acd()
    services = SimpleNamespace(
        acd=acd,
        notifier=SimpleNamespace(call_updated=lambda call: None),
        batch=nullcontext,
    )
    session = SimpleNamespace(channel_data=Data(), bridged_legs=[])
    built = InboundCallHandler(session, services)  # type: ignore[arg-type]
    built.call.transition(CallState.OFFERED)
    built.offer = Offer(legs={7: "agent-leg-7", 8: "agent-leg-8"}, started_at=0.0)
    return built, acd


def test_a_bridge_the_pump_has_not_seen_is_settled_by_the_handler():
    call, acd = handler()
    call.session.bridged_legs.append("agent-leg-8")
    call._settle_bridge()
    assert acd.answered == [(8, "caller-1")]
    assert call.offer.answered_by == 8 and call.call.agent_id == 8
    assert call.call.state is CallState.BRIDGED
    assert call.call.recording_path is None, "nothing is recorded once the talk is over"
    # The pump gets to the event afterwards: nothing happens twice.
    call.on_bridged("agent-leg-8")
    assert acd.answered == [(8, "caller-1")]


def test_the_handler_waits_for_the_pump_that_is_handling_the_bridge():
    call, acd = handler()
    call.session.bridged_legs.append("agent-leg-7")
    pump = gevent.spawn(call.on_bridged, "agent-leg-7", True)
    gevent.sleep(0)  # the pump is inside its Redis round trip
    call._settle_bridge()
    # Once the handler goes on, the agent is talking on the ACD's books.
    assert acd.answered == [(7, "caller-1")]
    assert call.call.state is CallState.BRIDGED
    pump.join()
    assert acd.answered == [(7, "caller-1")]


def test_no_bridge_no_answer():
    call, acd = handler()
    call._settle_bridge()
    assert acd.answered == [] and call.offer.answered_by is None
