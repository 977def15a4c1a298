from cti.acd.strategies import AgentStatus
from tests.cti.acd.conftest import agent_config, queue_config


def test_smoke(make_router, clock):
    router = make_router([agent_config(i) for i in range(1, 4)], [queue_config("sales")])
    for i in range(1, 4):
        out = router.login(i, registered=True)
        assert out.changes[0].new is AgentStatus.READY
    call = router.new_call("c1", "sales", "01062345678")
    d = router.route(call)
    print(d)
    assert d.reserved
    print(router.offer_answered(d.agent_ids[0], "c1"))
    print(router.call_ended(d.agent_ids[0], "c1", 30))
    clock.advance(11)
    print(router.tick())
    print(router.store.agent(d.agent_ids[0]))
