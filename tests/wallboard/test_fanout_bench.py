"""The fan-out benchmark end to end: uvicorn workers, the relay, the registry, websocket clients."""

import pytest

from wallboard.bench import measure_ws_fanout


@pytest.mark.django_db(transaction=True)
def test_every_client_gets_every_change_through_the_real_web_server(redis_client, settings):
    result = measure_ws_fanout(
        settings.REDIS_URL, clients=6, changes=5, quick=True, interval=0.05, concurrency=3,
        server_processes=1,
    )  # fmt: skip
    # Two warm-up changes are not timed; every client got the three others.
    assert result["lost"] == 0 and result["deliveries"] == 6 * 3
    assert 0 < result["ws_fanout_p50_ms"] <= result["ws_fanout_p99_ms"] < 3000
    assert result["clients"] == 6 and result["clients_per_process"] == [6]


@pytest.mark.django_db(transaction=True)
def test_two_asgi_processes_sharing_a_port_both_deliver(redis_client, settings):
    # Each process has its own relay and registry; every client is reached whichever
    # process accepted it.
    result = measure_ws_fanout(
        settings.REDIS_URL, clients=16, changes=3, quick=True, interval=0.05, server_processes=2
    )
    assert result["lost"] == 0 and result["deliveries"] == 16 * 1
    # The kernel spread the clients over both processes (all on one: 2 chances in 65,536).
    assert sum(result["clients_per_process"]) >= 16 and min(result["clients_per_process"]) > 0
