"""The routing benchmark runs end to end on a small center (no timing assertions)."""

from __future__ import annotations

from cti.acd.bench import BENCH_PREFIX, measure_routing, synthetic_config


def test_synthetic_config_shape():
    config = synthetic_config(agents=200, queues=12)
    assert len(config["agents"]) == 200 and len(config["queues"]) == 12
    groups = {g["id"] for g in config["groups"]}
    assert all(q["group"] in groups for q in config["queues"])
    assert all(q["strategy"] != "ring_all" for q in config["queues"])


def test_measure_routing_small_run(settings, redis_client):
    result = measure_routing(settings.REDIS_URL, agents=120, queues=8, calls=300)
    assert result["calls"] == 300
    assert result["reserved"] + result["queued"] == 300
    # Agents are released after a short talk, so nearly every call finds one at once.
    assert result["reserved"] >= 290
    assert 0 < result["route_p50_ms"] <= result["route_p99_ms"] <= result["route_p999_ms"]
    assert not list(redis_client.scan_iter(match=BENCH_PREFIX + "*"))
