"""Throughput of the ESL edge: recorded FreeSWITCH bytes -> frames -> typed events -> handlers.

``make bench`` reports :func:`measure_events_per_second` as ``esl_events_per_s``. The
replay uses the TCP read boundaries recorded beside each ``.rx`` file (its ``.jsonl``), so
the parser sees split and merged frames exactly as a live socket delivered them.
"""

from __future__ import annotations

import json
import pathlib
import time
from collections import Counter
from collections.abc import Callable, Sequence

from cti.esl.events import Event, EventParseError, parse_event
from cti.esl.frames import FrameParser


def load_chunks(path: pathlib.Path) -> list[bytes]:
    """The bytes of one recorded connection, cut where its recv() calls returned."""
    chunk_log = path.with_suffix(".jsonl")
    if chunk_log.exists():
        chunks = []
        with chunk_log.open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                if record["dir"] == "rx":
                    chunks.append(record["data"].encode("utf-8"))
        return chunks
    data = path.read_bytes()
    return [data[offset : offset + 65536] for offset in range(0, len(data), 65536)]


class CountingDispatcher:
    """The smallest realistic consumer: handlers looked up by name, each reads the uuid."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.channels: set[str] = set()
        self._handlers: dict[str, Callable[[Event], None]] = {}

    def handler_for(self, name: str) -> Callable[[Event], None]:
        handler = self._handlers.get(name)
        if handler is None:
            handler = self._handlers[name] = self._on_event
        return handler

    def _on_event(self, event: Event) -> None:
        self.counts[event.name] += 1
        unique_id = event.unique_id
        if unique_id is not None:
            self.channels.add(unique_id)

    def dispatch(self, event: Event) -> None:
        self.handler_for(event.name)(event)


def replay(recordings: Sequence[list[bytes]], dispatcher: CountingDispatcher) -> tuple[int, int]:
    """Push every recording once through parser, parse_event and the dispatcher."""
    frames = 0
    events = 0
    dispatch = dispatcher.dispatch
    for chunks in recordings:
        parser = FrameParser()
        feed = parser.feed
        for chunk in chunks:
            for frame in feed(chunk):
                frames += 1
                if frame.content_type.startswith("text/event-"):
                    try:
                        event = parse_event(frame)
                    except EventParseError:
                        continue
                    events += 1
                    dispatch(event)
    return frames, events


def measure_events_per_second(paths: list[pathlib.Path], seconds: float) -> dict:
    """Replay ``paths`` (recorded ``.rx`` files) repeatedly for about ``seconds``.

    Returns ``{"value": frames per second, "frames": ..., "events": ..., ...}``; the files
    are read before the clock starts.
    """
    recordings = [load_chunks(pathlib.Path(path)) for path in paths]
    total_bytes = sum(len(chunk) for chunks in recordings for chunk in chunks)
    dispatcher = CountingDispatcher()
    frames = events = rounds = 0
    # CPU time of this thread: the figure is per core, and other processes on a shared
    # machine do not lower it (the wall-clock rate is reported beside it).
    cpu_started = time.thread_time()
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        round_frames, round_events = replay(recordings, dispatcher)
        frames += round_frames
        events += round_events
        rounds += 1
        now = time.perf_counter()
        if now >= deadline or round_frames == 0:
            break
    cpu = time.thread_time() - cpu_started
    wall = now - started
    return {
        "value": frames / cpu if cpu > 0 else 0.0,
        "unit": "frames/s (one core, CPU time)",
        "frames": frames,
        "events": events,
        "events_per_s": events / cpu if cpu > 0 else 0.0,
        "wall_frames_per_s": frames / wall if wall > 0 else 0.0,
        "megabytes_per_s": total_bytes * rounds / cpu / 1e6 if cpu > 0 else 0.0,
        "rounds": rounds,
        "files": len(recordings),
        "cpu_seconds": cpu,
        "seconds": wall,
    }


if __name__ == "__main__":
    import sys

    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/fs-traces")
    print(json.dumps(measure_events_per_second(sorted(root.glob("*/*.rx")), 3.0), indent=2))
