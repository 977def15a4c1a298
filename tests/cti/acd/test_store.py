"""The Redis store: state machine, offers, no-answer counting, delays, wrap-up, queues."""

from __future__ import annotations

import itertools

import pytest

from cti.acd.store import (
    NO_ANSWER_REASON,
    OPERATIONS,
    TRANSITIONS,
    AcdStore,
    IllegalTransition,
    Operation,
    StaleCall,
    can_transition,
)
from cti.acd.strategies import AgentStatus, WaitingCall

S = AgentStatus
GROUP = 1
uuids = itertools.count(1)


def new_call(queue: str = "sales", priority: int = 0, arrived_at: float = 0.0, **fields):
    return WaitingCall(
        f"call-{next(uuids)}", queue, priority=priority, arrived_at=arrived_at, **fields
    )


def offer(store: AcdStore, agent_id: int) -> str:
    call = new_call(arrived_at=store.now())
    reservation = store.reserve(call, [agent_id], group_id=GROUP, enter=True)
    assert reservation.agent_ids == (agent_id,)
    return call.uuid


def bring_to(store: AcdStore, agent_id: int, status: AgentStatus) -> str | None:
    """Put a fresh agent in ``status``; returns the call it is offered or talking to."""
    if status is S.LOGGED_OUT:
        return None
    store.login(agent_id, "8001", [GROUP], ready=status is not S.BUSY, registered=True)
    if status in (S.READY, S.BUSY):
        return None
    call_uuid = offer(store, agent_id)
    if status is S.OFFERED:
        return call_uuid
    store.offer_answered(agent_id, call_uuid)
    if status is S.TALKING:
        return call_uuid
    store.call_ended(agent_id, call_uuid, 30, 10)
    return call_uuid


def run(store: AcdStore, operation: Operation, agent_id: int, call_uuid: str | None):
    call = call_uuid or "no-call"
    if operation is Operation.LOGIN:
        return store.login(agent_id, "8001", [GROUP], registered=True)
    if operation is Operation.LOGOUT:
        return store.logout(agent_id)
    if operation is Operation.SET_READY:
        return store.set_ready(agent_id)
    if operation is Operation.SET_BUSY:
        return store.set_busy(agent_id, "lunch")
    if operation is Operation.RESERVE:
        reservation = store.reserve(new_call(), [agent_id], group_id=GROUP, enter=True)
        if not reservation.agent_ids:
            raise IllegalTransition(agent_id, operation, store.status(agent_id))
        return reservation
    if operation is Operation.OFFER_ANSWERED:
        return store.offer_answered(agent_id, call)
    if operation is Operation.OFFER_FAILED:
        return store.offer_failed(agent_id, call, "reject")
    if operation is Operation.CALL_ENDED:
        return store.call_ended(agent_id, call, 10, 5)
    if operation is Operation.TAKE_CALL:
        if store.status(agent_id) is S.BUSY:
            store.set_busy(agent_id, "consult")
        return store.take_call(agent_id, call)
    return store.wrap_up_done(agent_id)


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("operation", list(Operation))
def test_state_machine_follows_the_table(store, status, operation):
    agent_id = 40
    call_uuid = bring_to(store, agent_id, status)
    assert store.status(agent_id) is status
    allowed, targets = OPERATIONS[operation]
    if status in allowed:
        run(store, operation, agent_id, call_uuid)
        assert store.status(agent_id) in targets
        assert can_transition(status, store.status(agent_id))
    else:
        with pytest.raises(IllegalTransition):
            run(store, operation, agent_id, call_uuid)
        assert store.status(agent_id) is status


def test_transition_table_has_no_way_out_of_a_call_but_through_its_end():
    assert not can_transition(S.TALKING, S.LOGGED_OUT)
    assert not can_transition(S.OFFERED, S.LOGGED_OUT)
    assert not can_transition(S.LOGGED_OUT, S.TALKING)
    assert (S.WRAP_UP, S.READY) in TRANSITIONS


def test_state_changes_return_old_and_new(store, clock):
    change = store.login(1, "8001", [GROUP], registered=True)
    assert (change.old, change.new, change.at) == (S.LOGGED_OUT, S.READY, clock.now)
    change = store.set_busy(1, "lunch")
    assert (change.old, change.new, change.reason) == (S.READY, S.BUSY, "lunch")
    assert store.agent(1)["reason"] == "lunch"


def test_a_consulted_agent_takes_the_call_over_and_ends_it(store, clock):
    """busy "consult" -> talking on the call the first agent left; its end is the
    consulted agent's, with wrap-up and the day's counters."""
    store.login(1, "8001", [GROUP], registered=True)
    store.login(2, "8002", [GROUP], registered=True)
    call_uuid = offer(store, 1)
    store.offer_answered(1, call_uuid)
    store.set_busy(2, "consult")
    store.call_ended(1, call_uuid, 20, 0)  # the first agent left
    change = store.take_call(2, call_uuid)
    assert (change.old, change.new, change.call_uuid) == (S.BUSY, S.TALKING, call_uuid)
    assert store.agent(2)["call"] == call_uuid and store.agent(2)["reason"] == ""
    assert not store.client.hexists(store.ready_key(GROUP), "2")
    change = store.call_ended(2, call_uuid, 15, 10)
    assert (change.old, change.new) == (S.TALKING, S.WRAP_UP)
    assert store.agent(2)["calls_today"] == "1"


def test_only_a_consulting_agent_takes_a_call_over(store):
    store.login(2, "8002", [GROUP], ready=False, busy_reason="meal", registered=True)
    with pytest.raises(IllegalTransition):
        store.take_call(2, "call-x")
    assert store.status(2) is S.BUSY and store.agent(2)["reason"] == "meal"


def test_events_for_another_call_are_refused(store):
    store.login(1, "8001", [GROUP], registered=True)
    call_uuid = offer(store, 1)
    with pytest.raises(StaleCall):
        store.offer_answered(1, "some-other-call")
    store.offer_answered(1, call_uuid)
    with pytest.raises(StaleCall):
        store.call_ended(1, "some-other-call", 10, 0)


def test_ready_hash_tracks_ready_and_registered_agents(store, redis_client):
    ready_key = store.ready_key(GROUP)
    store.login(1, "8001", [GROUP], registered=False)
    assert not redis_client.hexists(ready_key, "1")
    store.set_registered(1, True)
    assert redis_client.hexists(ready_key, "1")
    store.set_busy(1, "training")
    assert not redis_client.hexists(ready_key, "1")
    store.set_ready(1)
    assert redis_client.hexists(ready_key, "1")
    offer(store, 1)
    assert not redis_client.hexists(ready_key, "1")
    state = store.group_state(GROUP)
    assert state.logged_in == 1 and state.agents == ()


def test_unregistered_or_busy_agents_are_never_reserved(store):
    store.login(1, "8001", [GROUP], registered=False)
    store.login(2, "8002", [GROUP], ready=False, busy_reason="lunch", registered=True)
    store.login(3, "8003", [GROUP], registered=True)
    call = new_call()
    reservation = store.reserve(call, [1, 2, 3], group_id=GROUP, enter=True)
    assert reservation.agent_ids == (3,) and reservation.extensions == ("8003",)
    second = store.reserve(new_call(), [1, 2, 3], group_id=GROUP, enter=True)
    assert second.agent_ids == () and second.position == 1


def test_no_answer_counting_sets_busy_after_the_maximum(store, clock):
    store.login(1, "8001", [GROUP], registered=True)
    for attempt in range(1, 3):
        end = store.offer_failed(1, offer(store, 1), "no_answer", delay_seconds=0, max_no_answer=3)
        assert end.change.new is S.READY
        assert store.agent(1)["no_answer"] == str(attempt)
    end = store.offer_failed(1, offer(store, 1), "no_answer", delay_seconds=0, max_no_answer=3)
    assert (end.change.new, end.change.reason) == (S.BUSY, NO_ANSWER_REASON)
    assert store.agent(1)["no_answer"] == "0"


def test_an_answer_resets_the_no_answer_count(store):
    store.login(1, "8001", [GROUP], registered=True)
    store.offer_failed(1, offer(store, 1), "no_answer", max_no_answer=2)
    call_uuid = offer(store, 1)
    store.offer_answered(1, call_uuid)
    assert store.agent(1)["no_answer"] == "0"


@pytest.mark.parametrize("kind", ["reject", "busy", "no_answer"])
def test_delays_hold_an_agent_back_until_they_run_out(store, clock, kind):
    store.login(1, "8001", [GROUP], registered=True)
    store.offer_failed(1, offer(store, 1), kind, delay_seconds=10, max_no_answer=5)
    assert store.status(1) is S.READY
    blocked = store.reserve(new_call(), [1], group_id=GROUP, enter=True)
    assert blocked.agent_ids == ()
    assert store.due_delays() == []
    clock.advance(10)
    assert store.due_delays() == [1]
    assert store.reserve(new_call(), [1], group_id=GROUP, enter=True).agent_ids == (1,)


def test_wrap_up_timing_and_daily_counters(store, clock):
    store.login(1, "8001", [GROUP], registered=True)
    call_uuid = offer(store, 1)
    store.offer_answered(1, call_uuid)
    clock.advance(100)
    change = store.call_ended(1, call_uuid, talk_seconds=95.5, wrap_up_seconds=20)
    assert change.new is S.WRAP_UP
    assert float(store.agent(1)["available_at"]) == clock.now + 20
    assert store.reserve(new_call(), [1], group_id=GROUP, enter=True).agent_ids == ()
    clock.advance(19)
    assert store.due_wrap_ups() == []
    clock.advance(1)
    assert store.due_wrap_ups() == [1]
    store.wrap_up_done(1)
    assert store.due_wrap_ups() == []
    (live,) = store.group_state(GROUP).agents
    assert (live.calls_today, live.talk_seconds_today) == (1, 95.5)
    assert live.idle_since == clock.now - 20
    clock.advance(86_400)  # the next day: counters read as zero, then restart
    (live,) = store.group_state(GROUP).agents
    assert (live.calls_today, live.talk_seconds_today) == (0, 0.0)
    call_uuid = offer(store, 1)
    store.offer_answered(1, call_uuid)
    store.call_ended(1, call_uuid, talk_seconds=5, wrap_up_seconds=0)
    assert store.status(1) is S.READY
    (live,) = store.group_state(GROUP).agents
    assert (live.calls_today, live.talk_seconds_today) == (1, 5.0)


def test_queue_orders_by_priority_then_arrival(store, clock):
    calls = [
        new_call(priority=0, arrived_at=clock.now + 1),
        new_call(priority=5, arrived_at=clock.now + 3),
        new_call(priority=0, arrived_at=clock.now + 2),
        new_call(priority=5, arrived_at=clock.now + 4),
        new_call(priority=-1, arrived_at=clock.now + 0),
    ]
    for call in calls:
        store.reserve(call, [], group_id=GROUP, enter=True)
    expected = [calls[1].uuid, calls[3].uuid, calls[0].uuid, calls[2].uuid, calls[4].uuid]
    assert store.waiting_calls("sales") == expected
    assert store.position(calls[2].uuid) == 4
    assert store.queue_length("sales") == 5
    clock.advance(10)
    assert store.longest_wait("sales") == 10
    removed = store.remove_call(calls[1].uuid)
    assert removed is not None and removed.queue == "sales" and removed.offered_agents == ()
    assert store.position(calls[1].uuid) is None
    assert store.position(calls[3].uuid) == 1
    assert store.remove_call(calls[1].uuid) is None


def test_removing_an_offered_call_names_the_ringing_agents(store):
    store.login(1, "8001", [GROUP], registered=True)
    store.login(2, "8002", [GROUP], registered=True)
    call = new_call()
    reservation = store.reserve(call, [1, 2], group_id=GROUP, ring_together=True, enter=True)
    assert reservation.agent_ids == (1, 2)
    removed = store.remove_call(call.uuid)
    assert removed is not None and removed.offered_agents == (1, 2)
    end = store.release_offer(1, call.uuid)
    assert end.change.new is S.READY and end.call_state == ""
    assert store.agent(1)["no_answer"] == "0"


def test_a_call_is_offered_once(store):
    store.login(1, "8001", [GROUP], registered=True)
    store.login(2, "8002", [GROUP], registered=True)
    call = new_call()
    assert store.reserve(call, [1], group_id=GROUP, enter=True).agent_ids == (1,)
    again = store.reserve(call, [2], group_id=GROUP, enter=True)
    assert again.agent_ids == () and not again.call_waiting
    assert store.status(2) is S.READY


def test_scripts_return_the_figures_a_read_would_give(store, clock):
    """Reservation and removal report the queue's waiting count and oldest arrival as
    they left them, and removal the position the call had: no reads after them."""
    first = new_call(arrived_at=clock.now - 30)
    waiting = store.reserve(first, [], group_id=GROUP, enter=True)
    second = new_call(arrived_at=clock.now - 10)
    waiting_too = store.reserve(second, [], group_id=GROUP, enter=True)
    assert waiting.stats is not None and waiting_too.stats is not None
    assert (waiting.stats.queue, waiting.stats.waiting) == ("sales", 1)
    assert waiting_too.stats.waiting == store.queue_length("sales") == 2
    assert waiting_too.stats.longest_wait(clock.now) == store.longest_wait("sales") == 30
    assert waiting_too.position == store.position(second.uuid) == 2

    store.login(1, "8001", [GROUP], registered=True)
    third = new_call(arrived_at=clock.now)
    reserved = store.reserve(third, [1], group_id=GROUP, enter=True)
    assert reserved.agent_ids == (1,) and reserved.extensions == ("8001",)
    assert reserved.stats is not None and reserved.stats.waiting == 2

    position = store.position(second.uuid)
    removed = store.remove_call(second.uuid)
    assert removed is not None and removed.position == position == 2
    assert removed.stats is not None
    assert removed.stats.waiting == store.queue_length("sales") == 1
    removed = store.remove_call(first.uuid)
    assert removed is not None and removed.position == 1
    assert removed.stats is not None and removed.stats.waiting == 0
    assert removed.stats.oldest_arrival is None and removed.stats.longest_wait(clock.now) == 0
    # An offered call has no position.
    removed = store.remove_call(third.uuid)
    assert removed is not None and removed.position is None and removed.offered_agents == (1,)


def test_due_work_is_the_three_tick_reads_in_one(store, clock):
    store.login(1, "8001", [GROUP], registered=True)
    store.call_ended(1, offer_and_answer(store, 1), 30, 5)
    store.login(2, "8002", [GROUP], registered=True)
    store.offer_failed(2, offer(store, 2), "reject", delay_seconds=3)
    store.reserve(new_call(arrived_at=clock.now), [], group_id=GROUP, enter=True)
    assert store.due_work(["sales", "other"]) == ([], [], {"sales": 1, "other": 0})
    clock.advance(4)
    assert store.due_work(["sales"]) == ([], [2], {"sales": 1})
    assert store.due_delays() == []  # taken off the schedule
    clock.advance(2)
    assert store.due_work([]) == ([1], [], {})
    assert store.due_wrap_ups() == [1]  # wrap-ups stay until wrap_up_done


def offer_and_answer(store: AcdStore, agent_id: int) -> str:
    call_uuid = offer(store, agent_id)
    store.offer_answered(agent_id, call_uuid)
    return call_uuid


@pytest.mark.parametrize("scripts_lost", [False, True])
def test_wrap_up_done_with_heads_is_both_steps_in_one(store, clock, scripts_lost):
    store.login(1, "8001", [GROUP], registered=True)
    store.call_ended(1, offer_and_answer(store, 1), 30, 5)
    waiting = new_call(arrived_at=clock.now)
    store.reserve(waiting, [], group_id=GROUP, enter=True)
    clock.advance(6)
    if scripts_lost:
        # As after a Redis restart: Redis does not know the script (without flushing the
        # shared server's scripts).
        store._set_status.sha = "0" * 40
    change, heads = store.wrap_up_done_with_heads(1, ["sales", "other"], 8)
    assert (change.old, change.new) == (S.WRAP_UP, S.READY)
    assert heads == store.waiting_heads(["sales", "other"], 8)
    assert [ref.uuid for ref in heads] == [waiting.uuid]
    assert store.status(1) is S.READY
    with pytest.raises(IllegalTransition):
        store.wrap_up_done_with_heads(1, ["sales"], 8)
