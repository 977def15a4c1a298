"""The router: modifiers, strategies through Redis, re-routing, agent-ready offers, events."""

from __future__ import annotations

from collections import Counter

import pytest

from cti.acd.router import UnknownQueue
from cti.acd.store import IllegalTransition, OfferOutcome
from cti.acd.strategies import AgentStatus
from tests.cti.acd.conftest import agent_config, queue_config

S = AgentStatus


def login_all(router, agent_ids):
    for agent_id in agent_ids:
        router.login(agent_id, registered=True)


def test_owner_agent_first_then_fallback(make_router):
    router = make_router([agent_config(i) for i in (1, 2, 3)], [queue_config("sales")])
    login_all(router, (1, 2, 3))
    decision = router.route(router.new_call("c1", "sales", owner_agent_id=3))
    assert (decision.agent_ids, decision.reason) == ((3,), "owner_agent")
    # The owner is now offered a call: the next call of the same customer falls back.
    decision = router.route(router.new_call("c2", "sales", owner_agent_id=3))
    assert decision.reason == "strategy" and decision.agent_ids[0] in (1, 2)


def test_owner_routing_can_be_turned_off(make_router):
    agents = [agent_config(1), agent_config(2)]
    router = make_router(agents, [queue_config("sales", route_to_owner_agent=False)])
    login_all(router, (1, 2))
    decision = router.route(router.new_call("c1", "sales", owner_agent_id=2))
    assert decision.reason == "strategy"


def test_last_agent_within_the_lookback(make_router, clock):
    queue = queue_config("sales", last_agent_lookback_days=2)
    router = make_router([agent_config(i) for i in (1, 2)], [queue])
    login_all(router, (1, 2))
    recent = router.new_call("c1", "sales", last_agent_id=2, last_served_at=clock.now - 86_400)
    assert router.route(recent).reason == "last_agent"
    old = router.new_call("c2", "sales", last_agent_id=1, last_served_at=clock.now - 3 * 86_400)
    decision = router.route(old)
    assert decision.reason == "strategy" and decision.agent_ids == (1,)


def test_skills_are_respected(make_router):
    agents = [agent_config(1, skills={"en": 3}), agent_config(2, skills={"en": 7})]
    router = make_router(agents, [queue_config("english", required_skills={"en": 5})])
    login_all(router, (1, 2))
    assert router.route(router.new_call("c1", "english")).agent_ids == (2,)
    decision = router.route(router.new_call("c2", "english"))
    assert not decision.reserved and decision.reason == "no_agent_ready"
    assert decision.position == 1


def test_priority_from_vip_and_long_distance(make_router, store):
    queue = queue_config("sales", priority=2, vip_priority_boost=10, long_distance_priority_boost=4)
    router = make_router([agent_config(1)], [queue], center_area_code="010")
    local = router.new_call("c1", "sales", "01062345678")
    far = router.new_call("c2", "sales", "02162345678")
    vip = router.new_call("c3", "sales", "13800138000", vip_level=1)
    assert (local.priority, far.priority, vip.priority) == (2, 6, 12)
    assert far.is_long_distance and not local.is_long_distance
    for call in (local, far, vip):
        router.route(call)
    assert store.waiting_calls("sales") == ["c3", "c2", "c1"]


def test_no_agent_logged_in_is_reported(make_router):
    router = make_router([agent_config(1)], [queue_config("sales")])
    decision = router.route(router.new_call("c1", "sales"))
    assert decision.reason == "no_agent_logged_in" and decision.position == 1
    assert router.notifier.named("call_queued")[0][1] == 1


def test_round_robin_through_redis_is_fair(make_router):
    router = make_router(
        [agent_config(i) for i in range(1, 6)], [queue_config("sales", strategy="round_robin")]
    )
    login_all(router, range(1, 6))
    counts: Counter[int] = Counter()
    for number in range(23):
        call_uuid = f"c{number}"
        decision = router.route(router.new_call(call_uuid, "sales"))
        (agent_id,) = decision.agent_ids
        counts[agent_id] += 1
        router.offer_answered(agent_id, call_uuid)
        router.call_ended(agent_id, call_uuid, 10)
        router.wrap_up_done(agent_id)
    assert max(counts.values()) - min(counts.values()) <= 1 and sum(counts.values()) == 23


def test_no_answer_goes_to_the_next_agent_then_waits(make_router, store, clock):
    agents = [agent_config(i, max_no_answer=2) for i in (1, 2)]
    router = make_router(agents, [queue_config("sales", strategy="top_down")])
    login_all(router, (1, 2))
    first = router.route(router.new_call("c1", "sales"))
    assert first.agent_ids == (1,)
    outcome = router.offer_failed(1, "c1", OfferOutcome.NO_ANSWER)
    assert [offer.agent_ids for offer in outcome.offers] == [(2,)]
    outcome = router.offer_failed(2, "c1", OfferOutcome.NO_ANSWER)
    assert outcome.offers == [] and store.waiting_calls("sales") == ["c1"]
    # Both agents are held back by the no-answer delay; when it runs out, tick offers again.
    clock.advance(router.no_answer_delay_seconds)
    outcome = router.tick()
    assert [offer.call_uuid for offer in outcome.offers] == ["c1"]
    (agent_id,) = outcome.offers[0].agent_ids
    router.offer_failed(agent_id, "c1", OfferOutcome.NO_ANSWER)
    assert (store.status(agent_id), store.agent(agent_id)["reason"]) == (S.BUSY, "no_answer")


def test_reject_delay_comes_from_the_agent_configuration(make_router, store, clock):
    router = make_router([agent_config(1, reject_delay_seconds=7)], [queue_config("sales")])
    login_all(router, (1,))
    router.route(router.new_call("c1", "sales"))
    router.offer_failed(1, "c1", "reject")
    assert float(store.agent(1)["available_at"]) == clock.now + 7


def test_ring_all_reserves_everyone_and_the_first_answer_wins(make_router, store):
    router = make_router(
        [agent_config(i) for i in (1, 2, 3)], [queue_config("sales", strategy="ring_all")]
    )
    login_all(router, (1, 2, 3))
    decision = router.route(router.new_call("c1", "sales"))
    assert decision.ring_together and sorted(decision.agent_ids) == [1, 2, 3]
    assert sorted(decision.extensions) == ["8001", "8002", "8003"]
    router.route(router.new_call("c2", "sales"))
    outcome = router.offer_answered(2, "c1")
    assert store.status(2) is S.TALKING
    # The two released agents are free again; one of them takes the waiting call c2.
    offers = outcome.offers
    assert [offer.call_uuid for offer in offers] == ["c2"]
    assert {store.status(1), store.status(3)} == {S.READY, S.OFFERED}
    assert store.agent(1)["no_answer"] == "0" and store.agent(3)["no_answer"] == "0"


def test_agent_ready_takes_the_best_call_of_its_queues(make_router, store, clock):
    agents = [agent_config(1, groups=[(1, 1, 1), (2, 1, 1)], skills={"en": 5})]
    queues = [
        queue_config("low", group=1, priority=0),
        queue_config("high", group=2, priority=5),
        queue_config("english", group=2, priority=9, required_skills={"en": 8}),
    ]
    router = make_router(agents, queues)
    router.route(router.new_call("old-low", "low", arrived_at=clock.now - 100))
    router.route(router.new_call("new-high", "high", arrived_at=clock.now - 5))
    router.route(router.new_call("old-high", "high", arrived_at=clock.now - 50))
    router.route(router.new_call("needs-english", "english"))
    outcome = router.login(1, registered=True)
    assert [offer.call_uuid for offer in outcome.offers] == ["old-high"]
    assert outcome.offers[0].reason == "agent_ready"
    router.offer_answered(1, "old-high")
    router.call_ended(1, "old-high", 20)
    outcome = router.wrap_up_done(1)
    assert [offer.call_uuid for offer in outcome.offers] == ["new-high"]


def test_registration_brings_an_agent_into_routing(make_router):
    router = make_router([agent_config(1)], [queue_config("sales")])
    router.login(1, registered=False)
    assert not router.route(router.new_call("c1", "sales")).reserved
    outcome = router.set_registered(1, True)
    assert [offer.call_uuid for offer in outcome.offers] == ["c1"]
    router.set_registered(1, True)
    router.set_registered(1, False)
    assert router.notifier.named("agent_registration_changed") == [(1, True), (1, False)]


def test_busy_and_logout_through_the_router(make_router, store):
    router = make_router([agent_config(1)], [queue_config("sales")])
    router.login(1, registered=True)
    assert router.set_busy(1, "lunch").changes[0].reason == "lunch"
    assert not router.route(router.new_call("c1", "sales")).reserved
    outcome = router.set_ready(1)
    assert [offer.call_uuid for offer in outcome.offers] == ["c1"]
    with pytest.raises(IllegalTransition):
        router.logout(1)
    router.offer_failed(1, "c1", "reject")
    assert router.logout(1).changes[0].new is S.LOGGED_OUT
    assert store.group_state(1).logged_in == 0


def test_abandoned_call_releases_its_agent(make_router, store):
    router = make_router([agent_config(1)], [queue_config("sales")])
    login_all(router, (1,))
    router.route(router.new_call("c1", "sales"))
    router.route(router.new_call("c2", "sales"))
    outcome = router.remove_call("c1", "abandoned")
    assert [offer.call_uuid for offer in outcome.offers] == ["c2"]
    assert ("c1", "sales", "abandoned") in router.notifier.named("call_left_queue")


def test_every_change_is_notified_in_order(make_router):
    router = make_router([agent_config(1)], [queue_config("sales")])
    router.login(1, registered=True)
    router.route(router.new_call("c1", "sales"))
    router.offer_answered(1, "c1")
    router.call_ended(1, "c1", 12)
    names = [name for name, _ in router.notifier.events]
    assert names == [
        "agent_state_changed",
        "agent_state_changed",
        "call_offered",
        "agent_state_changed",
        "agent_state_changed",
    ]
    statuses = [(c.old, c.new) for c in router.notifier.named("agent_state_changed")]
    assert statuses == [
        (S.LOGGED_OUT, S.READY),
        (S.READY, S.OFFERED),
        (S.OFFERED, S.TALKING),
        (S.TALKING, S.WRAP_UP),
    ]
    (decision,) = router.notifier.named("call_offered")
    assert decision.extensions == ("8001",) and decision.ring_timeout_seconds == 15


def test_a_new_snapshot_is_picked_up(make_router):
    router = make_router([agent_config(1)], [queue_config("sales")])
    login_all(router, (1,))
    with pytest.raises(UnknownQueue):
        router.new_call("c0", "support")
    make_router.config = make_router.config.from_data(
        {**make_router.config.data, "queues": [queue_config("support")]}
    )
    decision = router.route(router.new_call("c1", "support"))
    assert decision.queue == "support" and decision.agent_ids == (1,)


def test_tick_sweeps_waiting_calls_to_agents_that_missed_them(make_router, store, clock):
    router = make_router([agent_config(1, reject_delay_seconds=10)], [queue_config("sales")])
    router.login(1, registered=True)
    router.route(router.new_call("c1", "sales"))
    router.offer_failed(1, "c1", "reject")
    clock.advance(10)
    # Another daemon's tick took the expired delay off the schedule and then died.
    assert store.due_delays() == [1]
    assert router.reroute("c1") is not None and store.waiting_calls("sales") == ["c1"]
    outcome = router.tick()
    assert [(offer.call_uuid, offer.agent_ids) for offer in outcome.offers] == [("c1", (1,))]


def test_tick_reads_nothing_more_when_nothing_is_due(make_router, store, monkeypatch):
    router = make_router([agent_config(1)], [queue_config("sales"), queue_config("support")])
    router.login(1, registered=True)
    heads: list[list[str]] = []
    original = store.waiting_heads
    monkeypatch.setattr(
        store, "waiting_heads", lambda queues, n: heads.append(list(queues)) or original(queues, n)
    )
    outcome = router.tick()
    assert (outcome.changes, outcome.offers, heads) == ([], [], [])


def test_decisions_carry_the_queue_figures(make_router, store, clock):
    router = make_router([agent_config(1)], [queue_config("sales")])
    waiting = router.route(router.new_call("c1", "sales"))
    assert waiting.stats is not None and waiting.stats.waiting == 1 and waiting.position == 1
    router.login(1, registered=True)  # the agent is offered c1 at once
    clock.advance(5)
    second = router.route(router.new_call("c2", "sales"))
    assert not second.reserved and second.stats is not None
    assert second.stats.waiting == store.queue_length("sales") == 1
    outcome = router.remove_call("c2", "abandoned")
    assert outcome.removed is not None and outcome.removed.position == 1
    assert outcome.removed.stats is not None and outcome.removed.stats.waiting == 0


def test_tick_offers_a_waiting_call_to_an_agent_whose_wrap_up_ended(make_router, store, clock):
    router = make_router([agent_config(1, wrap_up_seconds=5)], [queue_config("sales")])
    router.login(1, registered=True)
    router.route(router.new_call("c1", "sales"))
    router.offer_answered(1, "c1")
    router.call_ended(1, "c1", 30)
    waiting = router.route(router.new_call("c2", "sales"))
    assert not waiting.reserved
    clock.advance(6)
    outcome = router.tick()
    assert [(c.old, c.new) for c in outcome.changes] == [(S.WRAP_UP, S.READY)]
    assert [(offer.call_uuid, offer.agent_ids) for offer in outcome.offers] == [("c2", (1,))]
