"""Persister: every kind lands in its table, replays change nothing, unfit facts dead-letter."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import OperationalError

from cti import facts as f
from cti import models as m
from cti.persister import Persister, parse_entry, store_facts
from tests.cti.facts.scenarios import emit_one_of_each_kind

STREAM = "test:facts"
DEAD = "test:facts:dead"
HISTORY_MODELS = (
    m.CallRecord,
    m.CallLeg,
    m.AgentStateChange,
    m.QueueEntry,
    m.Recording,
    m.SurveyScore,
    m.IvrPath,
    m.SupervisorAction,
    m.Voicemail,
)


def utc(epoch_seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_seconds, tz=dt.UTC)


@pytest.fixture
def writer(redis_client):
    return f.FactWriter(redis_client, stream=STREAM)


def make_persister(redis_client, consumer: str = "p1", **options) -> Persister:
    options.setdefault("block_ms", None)
    persister = Persister(
        redis_client,
        consumer=consumer,
        batch=options.pop("batch", 500),
        stream=STREAM,
        dead_letter_stream=DEAD,
        trim_approximate=False,
        **options,
    )
    persister.ensure_group()
    return persister


def drain(persister: Persister) -> int:
    handled = 0
    while count := persister.step():
        handled += count
    return handled


def snapshot() -> dict[str, list[tuple]]:
    """Every stored row without its surrogate id, for before/after comparisons."""
    rows = {}
    for model in HISTORY_MODELS:
        names = [field.name for field in model._meta.concrete_fields if field.name != "id"]
        rows[model.__name__] = sorted(model.objects.values_list(*names), key=repr)
    return rows


def test_each_kind_lands_in_its_table(db, redis_client, writer):
    emit_one_of_each_kind(writer)
    persister = make_persister(redis_client)
    assert drain(persister) == len(f.FACT_TYPES)
    assert persister.stats.stored == len(f.FACT_TYPES) and persister.stats.dead_lettered == 0

    call = m.CallRecord.objects.get(call_uuid="c1")
    assert (call.direction, call.caller, call.callee) == ("inbound", "13800000000", "95555")
    assert call.started_at == utc(95.0) and call.answered_at == utc(112.5)
    assert call.ended_at == utc(200.0)
    assert (call.duration_seconds, call.talk_seconds) == (105.0, 87.5)
    assert (call.queue, call.agent_id, call.hangup_cause) == ("sales", 3, "NORMAL_CLEARING")

    failover = m.CallRecord.objects.get(call_uuid="c4")
    assert (failover.direction, failover.caller, failover.did) == (
        "inbound", "13900000000", "95555",
    )  # fmt: skip
    assert (failover.hangup_by, failover.hangup_cause) == ("failover", "ORIGINATOR_CANCEL")
    assert (failover.duration_seconds, failover.talk_seconds) == (30.0, 20.0)  # with the group

    leg = m.CallLeg.objects.get(leg_uuid="l1")
    assert (leg.call_uuid, leg.party, leg.agent_id, leg.talk_seconds) == ("c1", "agent", 3, 87.5)

    answered = m.QueueEntry.objects.get(call_uuid="c1")
    assert answered.entered_at == utc(100.0) and answered.exited_at == utc(112.5)
    assert (answered.entry_position, answered.outcome, answered.agent_id) == (2, "answered", 3)
    assert answered.wait_seconds == 12.5

    abandoned = m.QueueEntry.objects.get(call_uuid="c2")
    assert (abandoned.outcome, abandoned.exit_position, abandoned.wait_seconds) == (
        "abandoned", 4, 30.0,
    )  # fmt: skip
    assert abandoned.entry_position is None  # its queue_entered fact was never emitted

    state = m.AgentStateChange.objects.get()
    assert (state.subject, state.agent_id, state.old_state, state.new_state) == (
        "agent:3", 3, "ready", "talking",
    )  # fmt: skip
    assert state.old_state_seconds == 42.0

    recording = m.Recording.objects.get()
    assert (recording.path, recording.channels, recording.size_bytes) == ("/r/c1.wav", 2, 1400)
    assert m.SurveyScore.objects.get().score == 4
    ivr = m.IvrPath.objects.get()
    assert (ivr.nodes, ivr.digits, ivr.variables) == (
        ["welcome", "menu"], {"menu": "1"}, {"lang": "zh"},
    )  # fmt: skip
    action = m.SupervisorAction.objects.get()
    assert (action.subject, action.action, action.target_agent_id) == ("user:9", "whisper", 3)
    voicemail = m.Voicemail.objects.get()
    assert (voicemail.group_id, voicemail.duration_seconds) == (2, 12.0)
    assert persister.pending_count() == 0


def test_replaying_the_whole_stream_gives_the_same_rows(db, redis_client, writer):
    emit_one_of_each_kind(writer)
    persister = make_persister(redis_client)
    drain(persister)
    before = snapshot()
    assert all(before.values())

    # Rewind the group: every fact is delivered and stored a second time.
    redis_client.xgroup_setid(STREAM, "persister", "0")
    assert drain(persister) == len(f.FACT_TYPES)
    assert snapshot() == before


def test_a_call_started_replayed_after_its_call_ended_does_not_undo_the_cdr(
    db, redis_client, writer
):
    writer.call_started(
        call_uuid="c9", direction="inbound", caller="1", callee="2", at=10.0, node="fs-a"
    )
    writer.call_ended(
        call_uuid="c9", direction="inbound", caller="1", callee="2", started_at=9.5,
        hangup_cause="NORMAL_CLEARING", node="fs-a", at=70.0,
    )  # fmt: skip
    (started_id, started_fields), (ended_id, ended_fields) = redis_client.xrange(STREAM)
    from cti.persister import parse_entry

    started, ended = parse_entry(started_id, started_fields), parse_entry(ended_id, ended_fields)
    store_facts([ended])
    store_facts([started])  # out of order, as after a crash and a claim by another consumer
    call = m.CallRecord.objects.get(call_uuid="c9")
    assert call.started_at == utc(9.5) and call.ended_at == utc(70.0)
    store_facts([started, ended])  # both in one batch: the end still wins
    assert m.CallRecord.objects.get(call_uuid="c9").started_at == utc(9.5)


def test_the_switchs_failover_record_corrects_times_and_keeps_what_the_daemon_knew(
    db, redis_client, writer
):
    """A daemon closed the call when it let go of it (to the failover group); the switch's
    record, read later, brings the real end and cause and the talk with the ring group, but
    not blanks over the queue."""
    writer.call_ended(
        call_uuid="c8", direction="inbound", caller="13800000008", callee="95555",
        started_at=10.0, answered_at=10.5, hangup_cause="NORMAL_CLEARING", queue="sales",
        agent_id=3, ivr_flow="hotline", hangup_by="failover", talk_seconds=0.0, at=40.0,
    )  # fmt: skip
    writer.failover_ended(
        call_uuid="c8", caller="", callee="95555", started_at=9.8, answered_at=10.5,
        hangup_cause="NO_ANSWER", talk_seconds=30.0, at=95.0,
    )  # fmt: skip
    from cti.persister import parse_entry

    ended, failover = (parse_entry(i, fields) for i, fields in redis_client.xrange(STREAM))
    for batches in ([[ended], [failover]], [[failover, ended]]):  # in turn, or in one batch
        m.CallRecord.objects.all().delete()
        for batch in batches:
            store_facts(batch)
        call = m.CallRecord.objects.get(call_uuid="c8")
        assert (call.caller, call.queue, call.agent_id, call.ivr_flow) == (
            "13800000008", "sales", 3, "hotline",
        )  # fmt: skip
        assert (call.started_at, call.ended_at) == (utc(9.8), utc(95.0))
        assert (call.hangup_cause, call.hangup_by) == ("NO_ANSWER", "failover")
        assert (call.duration_seconds, call.talk_seconds) == (85.2, 30.0)  # with the group


def test_queue_exit_stored_before_its_entry_merges_into_one_row(db, redis_client, writer):
    writer.queue_exited(
        call_uuid="c5", queue="vip", entered_at=1000.0, outcome="overflowed",
        overflow_target="sales", at=1030.0,
    )  # fmt: skip
    persister = make_persister(redis_client)
    drain(persister)
    writer.queue_entered(call_uuid="c5", queue="vip", position=1, entered_at=1000.0)
    drain(persister)
    entry = m.QueueEntry.objects.get()
    assert (entry.entry_position, entry.outcome, entry.overflow_target) == (
        1,
        "overflowed",
        "sales",
    )
    assert entry.wait_seconds == 30.0


def test_crash_between_commit_and_ack_redelivers_harmlessly_to_another_consumer(
    db, redis_client, writer
):
    emit_one_of_each_kind(writer)
    crashing = make_persister(redis_client, consumer="dies")

    def crash(stream_ids, dead):
        raise SystemExit("killed after the commit, before XACK")

    crashing._acknowledge = crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        crashing.step()
    stored = snapshot()
    assert sum(len(rows) for rows in stored.values()) > 0
    assert crashing.pending_count() == len(f.FACT_TYPES)  # committed but not acknowledged

    survivor = make_persister(redis_client, consumer="lives", claim_idle_ms=0)
    assert survivor.claim_stale() == len(f.FACT_TYPES)
    assert drain(survivor) == len(f.FACT_TYPES)
    assert snapshot() == stored
    assert survivor.pending_count() == 0


def test_a_restarted_consumer_first_reprocesses_its_own_pending_entries(db, redis_client, writer):
    writer.survey_scored(call_uuid="c1", score=3)
    first = make_persister(redis_client, consumer="p1")
    first._read(">", block_ms=None)  # delivered, then the process died before storing
    assert first.pending_count() == 1
    writer.survey_scored(call_uuid="c2", score=2)

    restarted = make_persister(redis_client, consumer="p1")
    assert restarted.step() == 1  # its own pending entry, before anything new
    assert list(m.SurveyScore.objects.values_list("call_uuid", flat=True)) == ["c1"]
    drain(restarted)
    assert m.SurveyScore.objects.count() == 2 and restarted.pending_count() == 0


def test_a_database_error_leaves_the_batch_pending_and_it_is_retried(db, redis_client, writer):
    emit_one_of_each_kind(writer)
    calls = []

    def flaky_store(envelopes):
        calls.append(len(envelopes))
        if len(calls) == 1:
            raise OperationalError("connection refused")
        return store_facts(envelopes)

    persister = make_persister(redis_client, store=flaky_store)
    with pytest.raises(OperationalError):
        persister.step()
    assert persister.pending_count() == len(f.FACT_TYPES)
    assert m.CallRecord.objects.count() == 0 and persister.stats.database_failures == 1
    assert drain(persister) == len(f.FACT_TYPES)
    assert calls == [len(f.FACT_TYPES), len(f.FACT_TYPES)]
    assert m.CallRecord.objects.count() == 2 and persister.pending_count() == 0  # c1, c4


def test_unfit_facts_go_to_the_dead_letter_stream_and_the_rest_is_stored(db, redis_client, writer):
    writer.survey_scored(call_uuid="good-1", score=4)
    writer.emit("no_such_kind", "c1", {"x": 1})
    writer.emit("survey_scored", "c1", {"call_uuid": "c1", "score": "four"})
    redis_client.xadd(STREAM, {"kind": "survey_scored", "subject": "c1", "seq": "1"})
    redis_client.xadd(
        STREAM, {"kind": "survey_scored", "subject": "c1", "seq": "x", "at": "1", "payload": "{}"}
    )
    # Passes the catalogue but its column refuses it: only the database can tell.
    writer.emit("recording_saved", "c1", {
        "call_uuid": "c1", "path": "/" + "p" * 600, "duration": 1, "size": 1, "channels": 1,
    })  # fmt: skip
    writer.survey_scored(call_uuid="good-2", score=1)

    persister = make_persister(redis_client)
    assert drain(persister) == 7
    assert sorted(m.SurveyScore.objects.values_list("call_uuid", flat=True)) == [
        "good-1", "good-2",
    ]  # fmt: skip
    assert m.Recording.objects.count() == 0
    assert persister.pending_count() == 0
    letters = redis_client.xrange(DEAD)
    errors = [fields["error"] for _, fields in letters]
    assert len(letters) == 5 and persister.stats.dead_lettered == 5
    assert "unknown fact kind 'no_such_kind'" in errors[0]
    assert "score must be int" in errors[1]
    assert "lacks field 'at'" in errors[2]
    assert "malformed entry" in errors[3]
    assert "too long" in errors[4]
    # A dead letter keeps the original entry so it can be fixed and re-emitted.
    assert json.loads(letters[1][1]["payload"]) == {"call_uuid": "c1", "score": "four"}
    assert all(fields["source_stream"] == STREAM for _, fields in letters)


def test_a_score_outside_the_check_constraint_is_dead_lettered_not_retried(
    db, redis_client, writer
):
    """Even if a payload slips past the catalogue, the table's constraint catches it."""
    from cti.persister import Envelope

    bad = Envelope("1-0", "survey_scored", "c1", 1, 5.0, object.__new__(f.SurveyScored))
    object.__setattr__(bad.fact, "call_uuid", "c1")
    object.__setattr__(bad.fact, "score", 9)
    object.__setattr__(bad.fact, "agent_id", None)
    object.__setattr__(bad.fact, "queue", "")
    dead: list = []
    persister = make_persister(redis_client)
    assert persister._store_isolating_unfit([bad], {"1-0": {"kind": "survey_scored"}}, dead) == 0
    assert len(dead) == 1 and "cti_surveyscore_score_range" in dead[0].error


def test_trim_drops_acknowledged_entries_and_keeps_pending_and_unread_ones(
    db, redis_client, writer
):
    for index in range(6):
        writer.survey_scored(call_uuid=f"c{index}", score=2)
    ids = [entry_id for entry_id, _ in redis_client.xrange(STREAM)]
    persister = make_persister(redis_client, batch=2, claim_idle_ms=0)
    persister.step()  # c0, c1 stored and acknowledged
    dying = make_persister(redis_client, consumer="dies", batch=2)
    dying._read(">", block_ms=None)  # c2, c3 delivered to a consumer that then died
    assert persister.trim() == 2
    assert [entry_id for entry_id, _ in redis_client.xrange(STREAM)] == ids[2:]

    # A second group that has read nothing holds everything it has not seen.
    redis_client.xgroup_create(STREAM, "replay", id="0")
    drain(persister)  # c4, c5
    assert persister.trim() == 0
    redis_client.xgroup_destroy(STREAM, "replay")
    assert persister.trim() == 0  # c2 and c3 are still pending
    assert redis_client.xlen(STREAM) == 4

    assert persister.claim_stale() == 2
    drain(persister)
    assert persister.trim() == 3  # the last delivered entry stays as the floor
    assert m.SurveyScore.objects.count() == 6


def test_run_stops_when_asked_and_waits_out_database_errors(db, redis_client, writer):
    import threading

    writer.survey_scored(call_uuid="c1", score=3)
    stop = threading.Event()
    failures = []

    def store_then_stop(envelopes):
        if not failures:
            failures.append(1)
            raise OperationalError("the database is restarting")
        stored = store_facts(envelopes)
        stop.set()
        return stored

    persister = make_persister(redis_client, store=store_then_stop, block_ms=50, min_backoff=0.01)
    persister.run(stop)
    assert m.SurveyScore.objects.count() == 1 and persister.pending_count() == 0
    assert persister.stats.database_failures == 1


def test_a_voicemail_reaches_the_groups_inbox_once(db, redis_client, writer):
    from accounts.services import create_user
    from ivr.models import VoicemailMessage, VoicemailNotification
    from telephony import models as telephony
    from tests.telephony.factories import AgentFactory, AgentGroupFactory

    group = AgentGroupFactory()
    for index in range(2):
        user = create_user(f"vm{index}", "pw-123456", ["agent"])
        agent = AgentFactory(user=user)
        telephony.GroupMembership.objects.create(agent=agent, group=group)
    writer.voicemail_left(
        call_uuid="vm-call",
        path="/r/vm.wav",
        duration=12.5,
        caller="13800138000",
        group_id=group.id,
    )
    persister = make_persister(redis_client)
    drain(persister)
    # A replay of the same fact (as after a crash) changes nothing.
    store_facts([parse_entry(entry_id, fields) for entry_id, fields in redis_client.xrange(STREAM)])
    message = VoicemailMessage.objects.get(call_uuid="vm-call")
    assert message.caller == "13800138000" and message.group_id == group.id
    assert VoicemailNotification.objects.filter(message=message).count() == 2


def test_facts_arriving_during_the_gather_pause_are_stored_in_one_batch(db, redis_client, writer):
    import threading

    stop = threading.Event()
    first_stored = threading.Event()
    batch_sizes = []

    def spy(envelopes):
        batch_sizes.append(len(envelopes))
        stored = store_facts(envelopes)
        first_stored.set()
        if sum(batch_sizes) >= 5:
            stop.set()
        return stored

    persister = make_persister(redis_client, store=spy, block_ms=100, gather_seconds=0.5)

    def run() -> None:
        from django.db import connection

        try:
            persister.run(stop)
        finally:
            connection.close()  # this thread's own database session

    runner = threading.Thread(target=run)
    runner.start()
    try:
        writer.survey_scored(call_uuid="g1", score=1)
        assert first_stored.wait(10)
        # The persister now pauses before its next read: these four arrive meanwhile.
        for index in range(2, 6):
            writer.survey_scored(call_uuid=f"g{index}", score=4)
        runner.join(10)
    finally:
        stop.set()
        runner.join(10)
    assert batch_sizes == [1, 4] and m.SurveyScore.objects.count() == 5
