"""Atomic reservation under real concurrency: processes and threads, own Redis connections."""

from __future__ import annotations

import multiprocessing
import random
import threading
from collections import Counter

import redis

from cti.acd.notifier import RecordingNotifier
from cti.acd.router import Router
from cti.acd.store import AcdError, AcdStore
from tests.cti.acd.conftest import agent_config, queue_config, snapshot

CALLS = 1000
AGENTS = 60
WORKERS = 4


def _route_share(url: str, config, worker: int, start, results) -> None:
    """One OS process: its own connection and router, routing every WORKERS-th call."""
    client = redis.Redis.from_url(url, decode_responses=True)
    router = Router(
        AcdStore(client), lambda: config, RecordingNotifier(), rng=random.Random(worker)
    )
    start.wait()
    reserved = []
    for number in range(worker, CALLS, WORKERS):
        decision = router.route(router.new_call(f"call-{number}", "sales"))
        reserved.append((decision.call_uuid, decision.agent_ids))
    results.put(reserved)
    client.close()


def test_processes_racing_never_give_one_agent_two_calls(settings, redis_client):
    config = snapshot([agent_config(i) for i in range(1, AGENTS + 1)], [queue_config("sales")])
    store = AcdStore(redis_client)
    router = Router(store, lambda: config, RecordingNotifier())
    for agent_id in range(1, AGENTS + 1):
        router.login(agent_id, registered=True)
    context = multiprocessing.get_context("fork")
    start = context.Barrier(WORKERS)
    results = context.Queue()
    workers = [
        context.Process(target=_route_share, args=(settings.REDIS_URL, config, w, start, results))
        for w in range(WORKERS)
    ]
    for process in workers:
        process.start()
    outcomes = [pair for _ in workers for pair in results.get(timeout=120)]
    for process in workers:
        process.join(timeout=30)
        assert process.exitcode == 0
    offered = {uuid: agents for uuid, agents in outcomes if agents}
    holders = Counter(agent for agents in offered.values() for agent in agents)
    assert all(count == 1 for count in holders.values()), "an agent was offered two calls"
    # Every agent is offered exactly one call, the one Redis says it holds.
    tick = router.tick()
    for decision in tick.offers:
        offered[decision.call_uuid] = decision.agent_ids
    assert (
        sorted(Counter(a for agents in offered.values() for a in agents).values()) == [1] * AGENTS
    )
    for uuid, (agent_id,) in offered.items():
        assert store.agent(agent_id)["call"] == uuid and store.status(agent_id) == "offered"
    # No call lost: each one is either offered or still waiting, never both.
    waiting = set(store.waiting_calls("sales"))
    assert waiting.isdisjoint(offered)
    assert waiting | set(offered) == {f"call-{number}" for number in range(CALLS)}


def test_threads_routing_and_releasing_serve_every_call_once(settings, redis_client):
    agent_count, calls, threads = 12, 400, 4
    config = snapshot(
        [agent_config(i, wrap_up_seconds=0) for i in range(1, agent_count + 1)],
        [queue_config("sales", strategy="fewest_calls")],
    )
    setup = Router(AcdStore(redis_client), lambda: config, RecordingNotifier())
    for agent_id in range(1, agent_count + 1):
        setup.login(agent_id, registered=True)
    served: Counter[str] = Counter()
    errors: list[Exception] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def serve(router: Router, decisions) -> None:
        # Answering proves the offer: an agent given two calls would fail one of them.
        pending = list(decisions)
        while pending:
            decision = pending.pop()
            (agent_id,) = decision.agent_ids
            router.offer_answered(agent_id, decision.call_uuid)
            with lock:
                served[decision.call_uuid] += 1
            pending.extend(router.call_ended(agent_id, decision.call_uuid, 1.0).offers)

    def worker(index: int) -> None:
        client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
        router = Router(AcdStore(client), lambda: config, RecordingNotifier())
        barrier.wait()
        try:
            for number in range(index, calls, threads):
                decision = router.route(router.new_call(f"t-{number}", "sales"))
                if decision.reserved:
                    serve(router, [decision])
        except AcdError as error:
            errors.append(error)
        finally:
            client.close()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert errors == []
    # Calls left waiting by a race are picked up by the periodic sweep.
    for _ in range(50):
        if len(served) == calls:
            break
        serve(setup, setup.tick().offers)
    assert len(served) == calls and set(served.values()) == {1}
    calls_today = sum(int(setup.store.agent(a)["calls_today"]) for a in range(1, agent_count + 1))
    assert calls_today == calls
