"""FactWriter: atomic per-subject sequence numbers, the catalogue, payload decoding."""

from __future__ import annotations

import dataclasses
import json
import threading

import pytest
import redis

from cti import facts as f
from cti import models as m
from tests.cti.facts.scenarios import emit_one_of_each_kind

STREAM = "test:facts"


@pytest.fixture
def writer(redis_client):
    return f.FactWriter(redis_client, stream=STREAM)


def test_emit_appends_kind_subject_seq_at_and_json_payload(writer, redis_client):
    stream_id = writer.emit("call_started", "call-1", {"caller": "张三"}, at=1700000000.25)
    ((entry_id, fields),) = redis_client.xrange(STREAM)
    assert entry_id == stream_id
    assert fields["kind"] == "call_started"
    assert fields["subject"] == "call-1"
    assert float(fields["at"]) == 1700000000.25
    assert json.loads(fields["payload"]) == {"caller": "张三"}
    assert int(fields["seq"]) > 0


def test_sequence_numbers_of_one_subject_are_consecutive_and_match_the_stream(writer, redis_client):
    seqs = [writer.emit_with_seq("k", "agent:7", {})[1] for _ in range(5)]
    assert seqs == list(range(seqs[0], seqs[0] + 5))
    stored = [int(fields["seq"]) for _, fields in redis_client.xrange(STREAM)]
    assert stored == seqs  # 16-digit numbers survive Lua's number formatting exactly


def test_sequence_numbers_are_unique_under_concurrent_writers(settings, redis_client):
    """Eight clients on their own connections hammer two subjects at once."""
    per_thread, threads = 200, 8
    errors: list[BaseException] = []

    def hammer() -> None:
        client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
        try:
            own = f.FactWriter(client, stream=STREAM)
            for index in range(per_thread):
                own.emit("k", "call-a" if index % 2 else "call-b", {"index": index})
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            client.close()

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    entries = redis_client.xrange(STREAM)
    assert len(entries) == per_thread * threads
    for subject in ("call-a", "call-b"):
        seqs = sorted(int(fl["seq"]) for _, fl in entries if fl["subject"] == subject)
        assert len(seqs) == len(set(seqs)) == per_thread * threads // 2
        # No gaps either: every increment became exactly one entry.
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    # The stream order agrees with the counter: the increment and the append are one step.
    for subject in ("call-a", "call-b"):
        in_stream_order = [int(fl["seq"]) for _, fl in entries if fl["subject"] == subject]
        assert in_stream_order == sorted(in_stream_order)


def test_counters_expire_after_a_day_and_a_recreated_counter_never_reuses_numbers(
    writer, redis_client
):
    _, first = writer.emit_with_seq("k", "agent:1", {})
    ttl = redis_client.ttl(writer.counter_key("agent:1"))
    assert 86_000 < ttl <= 86_400
    redis_client.delete(writer.counter_key("agent:1"))  # what expiry does after a quiet day
    _, after_expiry = writer.emit_with_seq("k", "agent:1", {})
    assert after_expiry > first


def test_maxlen_caps_the_stream(redis_client):
    capped = f.FactWriter(redis_client, stream=STREAM, maxlen=10)
    for index in range(500):
        capped.emit("k", f"call-{index}", {})
    # MAXLEN ~ trims whole nodes, so the cap is approximate but real.
    assert redis_client.xlen(STREAM) < 500


def test_payload_must_be_json_without_nan(writer):
    with pytest.raises(ValueError):
        writer.emit("k", "s", {"value": float("nan")})


def test_every_helper_writes_a_fact_the_catalogue_decodes(writer, redis_client):
    emit_one_of_each_kind(writer)
    entries = redis_client.xrange(STREAM)
    kinds = [fields["kind"] for _, fields in entries]
    assert set(kinds) == set(f.FACT_TYPES)
    for _, fields in entries:
        fact = f.decode_fact(fields["kind"], json.loads(fields["payload"]))
        assert fact.KIND == fields["kind"]
        assert fact.subject == fields["subject"]
    queue_exit = next(fl for _, fl in entries if fl["kind"] == "queue_exited")
    assert json.loads(queue_exit["payload"])["wait_seconds"] == 12.5


def test_helpers_refuse_values_outside_the_catalogue(writer):
    with pytest.raises(f.FactError):
        writer.survey_scored(call_uuid="c1", score=5)
    with pytest.raises(f.FactError):
        writer.queue_exited(call_uuid="c1", queue="q", entered_at=1.0, outcome="lost")
    with pytest.raises(f.FactError):
        writer.supervisor_action(supervisor_id=1, action="spy", result="ok")


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        ("no_such_kind", {}, "unknown fact kind"),
        ("survey_scored", ["not", "an", "object"], "JSON object"),
        ("survey_scored", {"call_uuid": "c"}, "lacks 'score'"),
        ("survey_scored", {"call_uuid": "c", "score": "4"}, "score must be int"),
        ("survey_scored", {"call_uuid": "c", "score": True}, "score must be int"),
        ("ivr_path", {"call_uuid": "c", "flow": "f", "started_at": 1, "nodes": [1]}, "strings"),
        ("call_started", {"call_uuid": "c", "direction": "sideways", "caller": "", "callee": ""},
         "direction"),
    ],
)  # fmt: skip
def test_decode_fact_rejects_bad_payloads(kind, payload, message):
    with pytest.raises(f.FactError, match=message):
        f.decode_fact(kind, payload)


def test_decode_fact_accepts_the_live_notifiers_agent_payload():
    """cti/notify.py sends None for unknown optional values and an extra-free payload."""
    fact = f.decode_fact(
        "agent_state_changed",
        {"agent_id": 4, "old": "ready", "new": "busy", "reason": "lunch", "duration": None,
         "call_uuid": None},
    )  # fmt: skip
    assert fact == f.AgentStateChanged(agent_id=4, old="ready", new="busy", reason="lunch")


def test_decode_fact_ignores_fields_it_does_not_know_and_accepts_ints_for_floats():
    fact = f.decode_fact(
        "voicemail_left", {"call_uuid": "c", "path": "/p", "duration": 3, "future_field": 1}
    )
    assert fact.duration == 3.0 and isinstance(fact.duration, float)


def test_catalogue_choices_match_the_model_choices():
    assert f.DIRECTIONS == set(m.CallDirection.values)
    assert f.QUEUE_OUTCOMES == set(m.QueueOutcome.values) - {m.QueueOutcome.WAITING}
    assert f.SUPERVISOR_ACTIONS == set(m.SupervisorActionKind.values)
    assert f.ACTION_RESULTS == set(m.ActionResult.values)
    assert f.LEG_PARTIES == set(m.LegParty.values)


def test_every_kind_has_a_dataclass_with_a_subject():
    for kind, cls in f.FACT_TYPES.items():
        assert dataclasses.is_dataclass(cls) and cls.KIND == kind
        assert isinstance(cls.__dict__["subject"], property)


def test_recorded_payloads_are_the_json_of_the_whole_dataclass(writer, redis_client):
    samples = [
        f.CallStarted("c-1", "inbound", "13800000000", "95000", did="95000", node="n"),
        f.IvrPathTaken(
            "c-1", "hotline", 5.0, ["a", "b"], {"menu": "1#"}, {"x": [1, "二"]}, "queue:q"
        ),
        f.AgentStateChanged(7, "ready", "busy", 'r"\\', 1.5, ""),
        f.QueueExited("c-1", "q", 1.0, 0.1 + 0.2, "answered", 7, None, ""),
        f.SurveyScored("c-1", 4, None, "q"),
    ]
    for fact in samples:
        writer.record(fact, at=10.0)
    stored = [fields["payload"] for _, fields in redis_client.xrange(STREAM)]
    expected = [
        json.dumps(dataclasses.asdict(fact), separators=(",", ":"), ensure_ascii=False)
        for fact in samples
    ]
    assert stored == expected
