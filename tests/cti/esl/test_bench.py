"""The replay benchmark counts what it parses (no timing assertions here)."""

from __future__ import annotations

from cti.esl.bench import measure_events_per_second

from .traces import CONNECTIONS, requires_traces

pytestmark = requires_traces


def test_benchmark_replays_every_frame():
    paths = [recorded.rx_path for recorded in CONNECTIONS]
    result = measure_events_per_second(paths, seconds=0.01)
    rounds = result["rounds"]
    assert rounds >= 1
    assert result["frames"] == rounds * sum(recorded.frames_rx for recorded in CONNECTIONS)
    assert result["events"] == rounds * sum(recorded.events_rx for recorded in CONNECTIONS)
    assert result["value"] > 0 and result["files"] == len(CONNECTIONS)
