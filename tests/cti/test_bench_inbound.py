"""The inbound benchmark: its judgement of a load step, its fact audit, and one quick run."""

import time

import pytest
from django.db import connection

from cti import bench_inbound as bench
from cti.facts import FactWriter
from cti.persister import Persister
from ivr.models import Flow
from ivr_scripts.flow import validate_flow
from telephony import models as telephony

pytestmark = pytest.mark.timeout(90)


def outcome(placed: float, ended: float | None, reached: bool = True) -> bench.CallOutcome:
    return bench.CallOutcome(
        uuid=f"call-{placed}", placed_at=placed, bridged_at=placed if reached else None,
        ended_at=ended,
    )  # fmt: skip


def test_a_window_keeps_up_when_its_arrivals_complete_without_backlog():
    window = bench.Window(target_cps=10, start=100.0, end=110.0, live_samples=[5] * 40)
    calls = [outcome(100.0 + i / 10, 101.0 + i / 10) for i in range(100)]
    calls.append(outcome(99.0, 100.5))  # arrived before the window: not counted
    step = bench.judge_window(calls, window, judged_at=113.0)
    assert (step.offered, step.completed, step.failed, step.unfinished) == (100, 100, 0, 0)
    assert step.sustained and step.completed_cps == 10.0


def test_a_window_fails_on_unfinished_or_failed_calls_or_a_growing_backlog():
    window = bench.Window(target_cps=10, start=100.0, end=110.0, live_samples=[5] * 40)
    late = [outcome(100.0 + i / 10, 101.0 + i / 10) for i in range(90)]
    late += [outcome(109.0, None) for _ in range(10)]
    assert not bench.judge_window(late, window, judged_at=113.0).sustained

    failing = [outcome(100.0 + i / 10, 101.0 + i / 10) for i in range(97)]
    failing += [outcome(105.0, 106.0, reached=False) for _ in range(3)]
    step = bench.judge_window(failing, window, judged_at=113.0)
    assert step.failed == 3 and not step.sustained

    growing = bench.Window(10, 100.0, 110.0, live_samples=list(range(5, 45)))
    calls = [outcome(100.0 + i / 10, 101.0 + i / 10) for i in range(100)]
    assert not bench.judge_window(calls, growing, judged_at=113.0).sustained


def test_the_ramp_climbs_geometrically_and_ends_at_the_target():
    assert bench.ramp_rates(300, 6, 1.5) == [6, 9, 13.5, 20.25, 30.38, 45.56, 68.34, 102.52,
                                             153.77, 230.66, 300]  # fmt: skip
    quick = bench.make_plan(300, 4.0, quick=True)
    assert quick.rates == [5.0] and not quick.refine


def test_the_full_plan_climbs_to_the_target_and_leaves_time_to_bisect():
    # `make bench` gives the inbound load 100 s: every step up to the target fits, with time
    # left for a bisecting step after a failure near the top.
    plan = bench.make_plan(300, 100.0, quick=False)
    step = plan.warm_up + plan.window
    assert plan.rates[-1] == 300 and plan.refine
    assert len(plan.rates) * step + step + plan.grace <= plan.load_seconds


@pytest.mark.django_db
def test_the_audit_counts_facts_missing_from_the_database(redis_client):
    writer = FactWriter(redis_client)
    now = time.time()
    writer.call_started(call_uuid="audit-1", direction="inbound", caller="1", callee="2", at=now)
    writer.queue_entered(call_uuid="audit-1", queue="q", position=1, entered_at=now)
    writer.agent_state_changed(agent_id=7, old="ready", new="offered", call_uuid="audit-1")
    writer.call_ended(
        call_uuid="audit-1", direction="inbound", caller="1", callee="2", started_at=now,
        hangup_cause="NORMAL_CLEARING",
    )  # fmt: skip
    before = bench.audit_facts(redis_client)
    assert before.lost == 4 and before.call_ended_uuids == {"audit-1"}

    persister = Persister(redis_client, group=bench.PERSISTER_GROUP, block_ms=None)
    persister.ensure_group()
    while persister.step():
        pass
    assert bench.persister_caught_up(redis_client)
    after = bench.audit_facts(redis_client)
    assert after.lost == 0 and sum(after.emitted.values()) == 4


@pytest.mark.django_db
def test_the_audit_finds_queue_entries_whose_time_rounds_differently_once_stored(redis_client):
    # 1763780000.0005002 is stored as ...000500 µs; rounded to milliseconds, the fact's float
    # gives .000 and the stored one .001: an audit keyed by rounded floats called it lost.
    writer = FactWriter(redis_client)
    for index, entered in enumerate((1763780000.0005002, 1763780000.0024998, 1763780000.25)):
        call_uuid = f"audit-boundary-{index}"
        writer.queue_entered(call_uuid=call_uuid, queue="q", position=1, entered_at=entered)
        writer.queue_exited(
            call_uuid=call_uuid, queue="q", entered_at=entered, position=1, outcome="answered",
            agent_id=7,
        )  # fmt: skip
    persister = Persister(redis_client, group=bench.PERSISTER_GROUP, block_ms=None)
    persister.ensure_group()
    while persister.step():
        pass
    audit = bench.audit_facts(redis_client)
    assert audit.lost == 0 and audit.emitted["queue_entered"] == 3


def test_the_ivr_variant_is_the_shipped_flow_sending_its_agent_option_to_our_queue():
    definition = bench.ivr_flow_definition("bench-ivr-test", "bench-inbound-test")
    assert validate_flow(definition) == []
    queues = [n for n in definition["nodes"].values() if n["type"] == "queue"]
    assert queues and all(n["queue"] == "bench-inbound-test" and not n["skills"] for n in queues)
    menu = definition["nodes"]["main_menu"]
    assert menu["options"]["0"] == "to_agent"  # the key the bench caller presses
    assert {"welcome_12329", "main_menu"} <= bench.flow_prompt_ids(definition)


@pytest.mark.django_db(transaction=True)  # the persister subprocess must see the rows
@pytest.mark.parametrize("variant", ["queue", "ivr"])
def test_a_quick_run_is_well_formed_and_leaves_nothing_behind(redis_client, settings, variant):
    database = connection.settings_dict
    database_url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    result = bench.measure_inbound(
        settings.REDIS_URL,
        database_url,
        target_cps=3,
        seconds=2.0,
        quick=True,
        agents=4,
        variant=variant,
    )
    assert result.get("reason") is None or "kept up" in result["reason"], result
    for key in ("sim_inbound_cps_sustained", "sim_lost_facts", "daemon_peak_rss_mb", "steps"):
        assert key in result, key
    assert isinstance(result["sim_lost_facts"], int) and result["sim_lost_facts"] >= 0
    assert isinstance(result["sim_inbound_cps_sustained"], float)
    assert result["daemon_peak_rss_mb"] > 0
    assert result["calls_placed"] > 0 and result["agents_logged_in"] == 4
    assert result["facts_emitted"] >= result["calls_placed"]
    assert len(result["steps"]) == 1 and result["steps"][0]["target_cps"] == 3
    # The configuration it made is gone again.
    assert not telephony.Agent.objects.filter(name__startswith="bench ").exists()
    assert not telephony.Queue.objects.filter(code__startswith="bench-inbound-").exists()
    assert not Flow.objects.filter(code__startswith="bench-ivr-").exists()
    if variant == "ivr":
        assert result["facts_by_kind"].get("ivr_path", 0) >= 1


def test_the_drain_waits_for_every_started_call_to_have_its_cdr(redis_client):
    writer = FactWriter(redis_client)
    closed = bench._calls_closed(redis_client)
    assert closed()  # nothing started
    for name in ("a", "b"):
        writer.call_started(call_uuid=name, direction="inbound", caller="1", callee="2")
    assert not closed()
    writer.call_ended(
        call_uuid="a", direction="inbound", caller="1", callee="2", started_at=time.time(),
        hangup_cause="NORMAL_CLEARING",
    )  # fmt: skip
    assert not closed()  # b is still open
    writer.call_ended(
        call_uuid="b", direction="inbound", caller="1", callee="2", started_at=time.time(),
        hangup_cause="NORMAL_CLEARING",
    )  # fmt: skip
    assert closed()
