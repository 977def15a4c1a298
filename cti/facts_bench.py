"""How fast the persister moves facts from the stream into the database.

``measure_persist_rate`` emits a realistic mix of facts into a private stream, times one
persister draining it into the configured database, then deletes every row and key it made.
Django must be set up by the caller.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import redis

from cti import models as m
from cti.facts import FactWriter
from cti.persister import Persister

FACTS_PER_CALL = 10


def _emit_call(writer: FactWriter, call_uuid: str, index: int, now: float) -> None:
    """The ten facts one answered call produces, from arrival to the survey."""
    agent = index % 50 + 1
    queue = ("sales", "support", "vip")[index % 3]
    started = now - 120
    writer.call_started(
        call_uuid=call_uuid, direction="inbound", caller=f"138{index:08d}", callee="95555",
        at=started,
    )  # fmt: skip
    writer.queue_entered(
        call_uuid=call_uuid, queue=queue, position=index % 7 + 1, entered_at=now - 100
    )
    writer.queue_exited(
        call_uuid=call_uuid, queue=queue, entered_at=now - 100, outcome="answered",
        agent_id=agent, at=now - 90,
    )  # fmt: skip
    writer.agent_state_changed(
        agent_id=agent, old="ready", new="talking", duration=30.0, call_uuid=call_uuid, at=now - 90
    )
    writer.leg_ended(
        leg_uuid=f"{call_uuid}-agent", call_uuid=call_uuid, party="agent", number="1001",
        started_at=now - 92, answered_at=now - 90, hangup_cause="NORMAL_CLEARING",
        agent_id=agent, at=now,
    )  # fmt: skip
    writer.leg_ended(
        leg_uuid=f"{call_uuid}-caller", call_uuid=call_uuid, party="caller", number="95555",
        started_at=started, answered_at=started + 1, hangup_cause="NORMAL_CLEARING", at=now,
    )  # fmt: skip
    writer.agent_state_changed(
        agent_id=agent, old="talking", new="wrap_up", duration=90.0, call_uuid=call_uuid, at=now
    )
    writer.recording_saved(
        call_uuid=call_uuid, path=f"/recordings/{call_uuid}.wav", duration=90.0, size=1_440_044,
        channels=2, agent_id=agent, at=now,
    )  # fmt: skip
    writer.call_ended(
        call_uuid=call_uuid, direction="inbound", caller=f"138{index:08d}", callee="95555",
        started_at=started, answered_at=now - 90, hangup_cause="NORMAL_CLEARING", queue=queue,
        agent_id=agent, recording_path=f"/recordings/{call_uuid}.wav", at=now,
    )  # fmt: skip
    writer.survey_scored(
        call_uuid=call_uuid, score=index % 4 + 1, agent_id=agent, queue=queue, at=now + 20
    )


def _delete_rows(prefix: str) -> int:
    deleted = 0
    for model in (m.CallRecord, m.CallLeg, m.QueueEntry, m.Recording, m.SurveyScore):
        deleted += model.objects.filter(call_uuid__startswith=prefix).delete()[0]
    deleted += m.AgentStateChange.objects.filter(call_uuid__startswith=prefix).delete()[0]
    return deleted


def measure_persist_rate(
    redis_url: str, facts: int = 50_000, quick: bool = False
) -> dict[str, Any]:
    """Emit ``facts`` facts (5,000 when quick), time one persister storing them all.

    Returns {"persist_facts_per_s", "emit_facts_per_s", "facts", "batches", "batch",
    "dead_lettered"}; the rows written are deleted before it returns.
    """
    if quick:
        facts = min(facts, 5_000)
    calls = max(1, facts // FACTS_PER_CALL)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    token = uuid.uuid4().hex[:12]
    prefix = f"bench-{token}-"
    stream = f"cc:facts:bench:{token}"
    writer = FactWriter(client, stream=stream)
    persister = Persister(
        client,
        group="bench",
        consumer="bench-1",
        batch=500,
        stream=stream,
        dead_letter_stream=f"{stream}:dead",
        block_ms=None,
    )
    try:
        now = time.time()
        emit_started = time.perf_counter()
        for index in range(calls):
            _emit_call(writer, f"{prefix}{index}", index, now)
        emit_seconds = time.perf_counter() - emit_started
        emitted = client.xlen(stream)

        persister.ensure_group()
        persist_started = time.perf_counter()
        while persister.step():
            pass
        persist_seconds = time.perf_counter() - persist_started
        handled = persister.stats.stored + persister.stats.dead_lettered
        if handled != emitted:
            raise RuntimeError(f"persister handled {handled} of {emitted} facts")
        return {
            "persist_facts_per_s": round(emitted / persist_seconds),
            "emit_facts_per_s": round(emitted / emit_seconds),
            "facts": emitted,
            "batches": persister.stats.batches,
            "batch": persister.batch,
            "dead_lettered": persister.stats.dead_lettered,
        }
    finally:
        _delete_rows(prefix)
        counters = list(client.scan_iter(match=f"{stream}:seq:*", count=1000))
        for start in range(0, len(counters), 500):
            client.delete(*counters[start : start + 500])
        client.delete(stream, f"{stream}:dead")
        client.close()
