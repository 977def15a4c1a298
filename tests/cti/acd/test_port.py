"""AcdPort: how the daemon hands the router's offers to the calls it handles."""

from __future__ import annotations

from cti.acd.strategies import AgentStatus
from cti.calls.registry import ActiveCalls
from cti.services import AcdPort
from tests.cti.acd.conftest import agent_config, queue_config


def test_a_call_in_the_acd_that_no_handler_has_is_removed_not_offered_for_ever(
    make_router, store, redis_client
):
    """A call left waiting in the ACD after its end (a failed transfer to a named agent
    left one): offered to a freed agent, released, offered again at once... until Python's
    recursion limit. It is taken out of the ACD and the agent stays free."""
    router = make_router([agent_config(1)], [queue_config("sales")])
    router.login(1, ready=False, busy_reason="meal", registered=True)
    assert not router.route(router.new_call("left-over", "sales")).reserved
    port = AcdPort(router, ActiveCalls(), redis_client)
    port.deliver(router.set_ready(1))
    assert store.agent(1)["status"] == AgentStatus.READY
    assert store.waiting_calls("sales") == []
    assert port.take_reservation("left-over") is None
