"""The persist benchmark runs end to end and leaves no rows or keys behind (no timing asserts)."""

from __future__ import annotations

from cti import models as m
from cti.facts_bench import FACTS_PER_CALL, measure_persist_rate


def test_measure_persist_rate_stores_every_fact_and_cleans_up(db, settings, redis_client):
    result = measure_persist_rate(settings.REDIS_URL, facts=200, quick=True)
    assert result["facts"] == 200 // FACTS_PER_CALL * FACTS_PER_CALL
    assert result["dead_lettered"] == 0
    assert result["persist_facts_per_s"] > 0 and result["emit_facts_per_s"] > 0
    assert result["batches"] >= 1
    for model in (m.CallRecord, m.CallLeg, m.QueueEntry, m.AgentStateChange, m.Recording,
                  m.SurveyScore):  # fmt: skip
        assert model.objects.count() == 0, model.__name__
    assert redis_client.keys("cc:facts:bench:*") == []
