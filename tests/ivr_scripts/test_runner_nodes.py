"""Every node type through the runner with the fake media: branches, retries, timeouts,
invalid input and hang-up mid-flow."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ivr_scripts.lookups import LookupRegistry
from ivr_scripts.media import HANGUP, FakeMedia
from ivr_scripts.runner import (
    CallContext,
    FlowRunner,
    Hangup,
    Queue,
    Survey,
    Transfer,
    Voicemail,
)
from ivr_scripts.store import Notice

from .helpers import WEDNESDAY_10AM, RecordingFacts, config, library, weekday_calendar


def flow(start: str, **nodes: dict[str, Any]) -> dict[str, Any]:
    return {"code": "test", "start": start, "nodes": nodes}


BYE = {"type": "hangup"}


def run(definition, media, *, at=WEDNESDAY_10AM, cfg=None, facts=None, caller="13800000000",
        variables=None, lookups=None, http=None, notices=(), extra=(), **context):  # fmt: skip
    runner = FlowRunner(
        flows=library(definition, *extra, notices=notices),
        config=cfg or config(),
        lookups=lookups,
        http=http,
        facts=facts,
        recordings_dir="/rec",
        clock=lambda: at,
    )
    call = CallContext(
        "uuid-1", caller, definition["code"], variables=dict(variables or {}), **context
    )
    return runner.run(media, call)


def test_play_then_hangup_plays_prompts_in_the_call_language() -> None:
    media = FakeMedia()
    definition = flow(
        "hello",
        hello={
            "type": "play",
            "prompts": ["welcome", {"text": "hi"}, {"file": "/a.wav"}],
            "next": "bye",
        },  # fmt: skip
        bye={"type": "hangup", "prompts": ["goodbye"], "cause": "NORMAL_CLEARING"},
    )
    result = run(definition, media, language="en")
    assert media.heard == ["welcome", "hi", "/a.wav", "goodbye"]
    played = [p for kind, item in media.log if kind == "play" for p in item]
    assert {p.language for p in played} == {"en"}
    assert [p.kind for p in played] == ["prompt", "text", "file", "prompt"]
    assert result.outcome == Hangup("flow")
    assert media.hangup_cause == "NORMAL_CLEARING"
    assert result.path == ["hello", "bye"]


@pytest.mark.parametrize(
    ("kind", "value", "language", "expected"),
    [
        ("digits", "'1203'", "zh", ["say/1", "say/2", "say/0", "say/3"]),
        ("number", "105", "zh", ["say/1", "say/100", "say/0", "say/5"]),
        ("amount", "'12.50'", "en", ["say/12", "say/yuan", "say/50", "say/fen"]),
        ("date", "'2024-03-05'", "en", ["say/month-3", "say/day-5", "say/20", "say/20", "say/4"]),
    ],
)
def test_say_node_reads_values(kind, value, language, expected) -> None:
    media = FakeMedia()
    definition = flow(
        "say",
        say={"type": "say", "say": kind, "value": value, "before": ["is"], "next": "bye"},
        bye=BYE,
    )
    run(definition, media, language=language)
    assert media.heard == ["is", *expected]


def test_say_item_inside_play_uses_variables() -> None:
    media = FakeMedia()
    definition = flow(
        "p",
        p={
            "type": "play",
            "prompts": ["total", {"say": "number", "value": "count + 1"}],
            "next": "bye",
        },  # fmt: skip
        bye=BYE,
    )
    run(definition, media, variables={"count": 19})
    assert media.heard == ["total", "say/2", "say/10"]


def test_unsayable_value_ends_with_system_busy() -> None:
    media = FakeMedia()
    definition = flow("s", s={"type": "say", "say": "amount", "value": "'abc'", "next": "b"}, b=BYE)
    result = run(definition, media)
    assert result.outcome == Hangup("error")
    assert media.heard == ["system_busy"]


COLLECT = {
    "type": "collect",
    "variable": "account",
    "prompts": ["enter"],
    "invalid_prompts": ["invalid"],
    "min_length": 4,
    "max_length": 6,
    "tries": 3,
    "terminator": "#",
    "next": "ok",
    "failure": "failed",
}


def collect_flow(**overrides: Any) -> dict[str, Any]:
    return flow(
        "ask",
        ask={**COLLECT, **overrides},
        ok={"type": "transfer", "kind": "number", "target": "account"},
        failed={"type": "hangup", "reason": "failed"},
    )


def test_collect_accepts_input_ended_by_terminator() -> None:
    media = FakeMedia(inputs=["12345#"])
    result = run(collect_flow(), media)
    assert result.outcome == Transfer("number", "12345")
    assert result.digits == {"ask": ["12345"]}
    assert result.variables["account"] == "12345"


def test_collect_retries_after_short_input_and_timeout() -> None:
    media = FakeMedia(inputs=["12#", None, "9999"])
    result = run(collect_flow(), media)
    assert result.outcome == Transfer("number", "9999")
    assert media.heard == ["enter", "invalid", "enter", "invalid", "enter"]


def test_collect_stops_at_max_length() -> None:
    media = FakeMedia(inputs=["123456789"])
    result = run(collect_flow(), media)
    assert result.outcome == Transfer("number", "123456")


def test_collect_pattern_rejects_nonmatching_input() -> None:
    media = FakeMedia(inputs=["1234#", "8888#"])
    result = run(collect_flow(pattern="8+"), media)
    assert result.outcome == Transfer("number", "8888")


def test_collect_failure_branch_after_all_tries() -> None:
    media = FakeMedia(inputs=[None, "1#", "*#"])
    result = run(collect_flow(), media)
    assert result.outcome == Hangup("failed")
    assert result.path == ["ask", "failed"]
    # As FreeSWITCH: the invalid prompt follows the last failed try too.
    assert media.heard == ["enter", "invalid", "enter", "invalid", "enter", "invalid"]


def test_sensitive_collect_is_masked_in_facts() -> None:
    facts = RecordingFacts()
    media = FakeMedia(inputs=["4321#"])
    result = run(collect_flow(sensitive=True), media, facts=facts)
    fact = facts.of("ivr_path")
    assert fact["digits"] == {"ask": ["***"]}
    assert "account" not in fact["variables"]
    assert result.variables["account"] == "4321"


def test_hangup_while_collecting_ends_cleanly() -> None:
    facts = RecordingFacts()
    media = FakeMedia(inputs=["1#", HANGUP])
    result = run(collect_flow(), media, facts=facts)
    assert result.outcome == Hangup("caller_hung_up", caller_hung_up=True)
    assert facts.of("ivr_path")["exit"] == "caller_hangup"
    assert facts.of("ivr_path")["nodes"] == ["ask"]


MENU = flow(
    "menu",
    menu={
        "type": "menu",
        "prompts": ["menu"],
        "invalid_prompts": ["invalid"],
        "options": {"1": "one", "0": "agent", "*": "back"},
        "tries": 2,
        "variable": "choice",
        "failure": "failed",
    },
    one={"type": "queue", "queue": "sales", "priority": "2 + 3", "skills": ["english"]},
    agent={"type": "transfer", "kind": "agent", "target": "'8001'"},
    back={"type": "goto", "node": "menu"},
    failed={"type": "hangup", "reason": "menu_failed"},
)


@pytest.mark.parametrize(
    ("inputs", "outcome", "path"),
    [
        (["1"], Queue("sales", 5, ("english",)), ["menu", "one"]),
        (["0"], Transfer("agent", "8001"), ["menu", "agent"]),
        (["7", "0"], Transfer("agent", "8001"), ["menu", "agent"]),
        (["*", "1"], Queue("sales", 5, ("english",)), ["menu", "back", "menu", "one"]),
        ([None, "9"], Hangup("menu_failed"), ["menu", "failed"]),
    ],
)
def test_menu_branches(inputs, outcome, path) -> None:
    result = run(MENU, FakeMedia(inputs=list(inputs)))
    assert result.outcome == outcome
    assert result.path == path


TIME = flow(
    "hours",
    hours={"type": "time", "open": "open", "closed": "closed", "holiday": "holiday"},
    open={"type": "hangup", "reason": "open"},
    closed={"type": "hangup", "reason": "closed"},
    holiday={"type": "hangup", "reason": "holiday"},
)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(
    ("moment", "reason"),
    [
        (dt.datetime(2024, 3, 6, 10, 0, tzinfo=SHANGHAI), "open"),
        (dt.datetime(2024, 3, 6, 18, 0, tzinfo=SHANGHAI), "closed"),
        # 02:30 UTC is 10:30 in Shanghai: the calendar's own time zone decides.
        (dt.datetime(2024, 3, 6, 2, 30, tzinfo=dt.UTC), "open"),
        (dt.datetime(2024, 3, 9, 10, 0, tzinfo=SHANGHAI), "closed"),  # Saturday
        (dt.datetime(2024, 2, 12, 10, 0, tzinfo=SHANGHAI), "holiday"),  # 春节
        (dt.datetime(2024, 2, 18, 10, 0, tzinfo=SHANGHAI), "open"),  # working Sunday
        (dt.datetime(2024, 3, 7, 10, 0, tzinfo=SHANGHAI), "closed"),  # closed Thursday
    ],
)
def test_time_condition(moment, reason) -> None:
    calendar = weekday_calendar(
        holidays=[["Spring Festival", "2024-02-10", "2024-02-17"]],
        exceptions=[
            {"date": "2024-02-18", "kind": "open", "start": "09:00", "end": "17:00"},
            {"date": "2024-03-07", "kind": "closed", "start": None, "end": None},
        ],
    )
    result = run(TIME, FakeMedia(), at=moment, cfg=config(calendars=[calendar]), calendar_id=1)
    assert result.outcome == Hangup(reason)


def test_time_condition_without_holiday_branch_goes_closed() -> None:
    definition = flow(
        "hours",
        hours={"type": "time", "open": "o", "closed": "c", "calendar": 1},
        o={"type": "hangup", "reason": "open"},
        c={"type": "hangup", "reason": "closed"},
    )
    calendar = weekday_calendar(holidays=[["x", "2024-03-06", "2024-03-06"]])
    result = run(definition, FakeMedia(), cfg=config(calendars=[calendar]))
    assert result.outcome == Hangup("closed")


BLOCK = flow(
    "check",
    check={
        "type": "block_check",
        "notice_prompts": ["blocked"],
        "harassment_prompts": ["harassment"],
        "next": "ok",
    },  # fmt: skip
    ok={"type": "hangup", "reason": "passed"},
)


@pytest.mark.parametrize(
    ("entry", "reason", "heard", "cause"),
    [
        ({"category": "blacklist", "action": "notice"}, "blacklist", ["blocked"], "CALL_REJECTED"),
        (
            {"category": "harassment", "action": "notice"},
            "harassment",
            ["harassment"],
            "CALL_REJECTED",
        ),  # fmt: skip
        ({"category": "harassment", "action": "drop"}, "harassment", [], "CALL_REJECTED"),
    ],
)
def test_block_check_blocks(entry, reason, heard, cause) -> None:
    blacklist = [{"pattern": "13800000000", "match": "exact", "direction": "in",
                  "expires_at": None, **entry}]  # fmt: skip
    media = FakeMedia()
    result = run(BLOCK, media, cfg=config(blacklist=blacklist))
    assert result.outcome == Hangup(reason)
    assert media.heard == heard
    assert media.hangup_cause == cause


def test_block_check_lapsed_entry_lets_the_caller_through() -> None:
    expired = (WEDNESDAY_10AM - dt.timedelta(minutes=1)).isoformat()
    blacklist = [{"pattern": "13800000000", "match": "exact", "direction": "in",
                  "category": "harassment", "action": "drop", "expires_at": expired}]  # fmt: skip
    result = run(BLOCK, FakeMedia(), cfg=config(blacklist=blacklist))
    assert result.outcome == Hangup("passed")
    assert result.variables["blocked"] is False


def test_block_check_with_blocked_branch_routes_instead_of_hanging_up() -> None:
    definition = flow(
        "check",
        check={"type": "block_check", "next": "ok", "blocked": "special"},
        ok={"type": "hangup", "reason": "passed"},
        special={"type": "queue", "queue": "security"},
    )
    blacklist = [{"pattern": "138", "match": "prefix", "direction": "both",
                  "category": "blacklist", "action": "drop", "expires_at": None}]  # fmt: skip
    result = run(definition, FakeMedia(), cfg=config(blacklist=blacklist))
    assert result.outcome == Queue("security")
    assert result.variables["block_category"] == "blacklist"


LOOKUP = flow(
    "find",
    find={
        "type": "lookup",
        "function": "balance",
        "params": {"who": "caller"},
        "into": "account",
        "next": "found",
        "error": "busy",
    },  # fmt: skip
    found={
        "type": "branch",
        "conditions": [{"if": "account_amount > 100", "next": "rich"}],
        "else": "poor",
    },  # fmt: skip
    rich={"type": "hangup", "reason": "rich"},
    poor={"type": "hangup", "reason": "poor"},
    busy={"type": "hangup", "prompts": ["system_busy"], "reason": "busy"},
)


def test_lookup_results_become_variables() -> None:
    seen = {}

    def balance(params):
        seen.update(params)
        return {"amount": 150}

    result = run(LOOKUP, FakeMedia(), lookups=LookupRegistry({"balance": balance}))
    assert seen == {"who": "13800000000"}
    assert result.outcome == Hangup("rich")
    assert result.variables["account_amount"] == 150


@pytest.mark.parametrize(
    "registry",
    [
        LookupRegistry({"balance": lambda params: 1 / 0}),
        LookupRegistry({"balance": lambda params: ["not", "a", "dict"]}),
        LookupRegistry(),
    ],
)
def test_lookup_failure_takes_error_branch(registry) -> None:
    media = FakeMedia()
    result = run(LOOKUP, media, lookups=registry)
    assert result.outcome == Hangup("busy")
    assert media.heard == ["system_busy"]


def test_http_lookup_without_client_takes_error_branch() -> None:
    definition = flow(
        "find",
        find={"type": "lookup", "url": "x/", "next": "ok", "error": "busy"},
        ok={"type": "hangup", "reason": "ok"},
        busy={"type": "hangup", "reason": "busy"},
    )
    assert run(definition, FakeMedia()).outcome == Hangup("busy")


def test_set_and_branch_with_else() -> None:
    definition = flow(
        "s",
        s={
            "type": "set",
            "variables": {"n": "len(caller)", "vip": "caller in ['1', '2']"},
            "next": "b",
        },  # fmt: skip
        b={"type": "branch", "conditions": [{"if": "vip", "next": "v"}], "else": "n"},
        v={"type": "hangup", "reason": "vip"},
        n={"type": "hangup", "reason": "normal"},
    )
    result = run(definition, FakeMedia())
    assert result.outcome == Hangup("normal")
    assert result.variables["n"] == 11
    assert run(definition, FakeMedia(), caller="2").outcome == Hangup("vip")


def test_language_node_and_set_language_switch_prompt_set() -> None:
    definition = flow(
        "a",
        a={"type": "play", "prompts": ["one"], "next": "b"},
        b={"type": "language", "language": "en", "next": "c"},
        c={"type": "play", "prompts": ["two"], "next": "d"},
        d={"type": "set", "variables": {"language": "'zh'"}, "next": "e"},
        e={"type": "play", "prompts": ["three"], "next": "f"},
        f=BYE,
    )
    media = FakeMedia()
    result = run(definition, media)
    played = [p for kind, item in media.log if kind == "play" for p in item]
    assert [(p.value, p.language) for p in played] == [("one", "zh"), ("two", "en"),
                                                        ("three", "zh")]  # fmt: skip
    assert result.language == "zh"


def test_transfer_kinds_and_bad_expression() -> None:
    definition = flow("t", t={"type": "transfer", "kind": "number", "target": "'+86' + caller"})
    result = run(definition, FakeMedia())
    assert result.outcome == Transfer("number", "+8613800000000")
    broken = flow("t", t={"type": "transfer", "kind": "queue", "target": "missing_var"})
    media = FakeMedia()
    assert run(broken, media).outcome == Hangup("error")
    assert media.heard == ["system_busy"]


def test_voicemail_records_for_the_queue_group_and_emits_a_fact() -> None:
    definition = flow(
        "vm",
        vm={
            "type": "voicemail",
            "queue": "'hotline_12329'",
            "prompts": ["leave"],
            "after_prompts": ["saved"],
            "max_seconds": 60,
        },  # fmt: skip
    )
    facts = RecordingFacts()
    media = FakeMedia(recording_seconds=12.0)
    result = run(definition, media, facts=facts)
    assert isinstance(result.outcome, Voicemail)
    assert result.outcome.group_id == 7
    assert result.outcome.queue == "hotline_12329"
    assert result.outcome.recording_path.startswith("/rec/voicemail/2024/03/06/uuid-1-")
    assert result.outcome.duration_seconds == 12.0
    assert media.heard == ["leave", "saved"]
    left = facts.of("voicemail_left")
    assert left["group_id"] == 7 and left["duration"] == 12.0 and left["caller"] == "13800000000"


def test_voicemail_kept_when_the_caller_hangs_up_to_finish() -> None:
    definition = flow(
        "vm", vm={"type": "voicemail", "group": "'Hotline'", "after_prompts": ["saved"]}
    )
    facts = RecordingFacts()
    media = FakeMedia(hang_up_while_recording=True, recording_seconds=4.0)
    result = run(definition, media, facts=facts)
    assert result.outcome == Voicemail(7, None, result.outcome.recording_path, 4.0)
    assert "voicemail_left" in facts.kinds()


SURVEY = flow(
    "ask",
    ask={
        "type": "survey",
        "prompts": ["rate"],
        "invalid_prompts": ["invalid"],
        "tries": 2,
        "options": {"1": {"label": "good", "score": 4}, "2": {"label": "bad", "score": 1}},
        "thanks_prompts": ["thanks"],
    },  # fmt: skip
)


def test_survey_scores_and_emits_fact() -> None:
    facts = RecordingFacts()
    media = FakeMedia(inputs=["5", "2"])
    result = run(SURVEY, media, facts=facts, variables={"agent_id": "12", "queue": "sales"})
    assert result.outcome == Survey("2", "bad", 1)
    assert facts.of("survey_scored") == {
        "call_uuid": "uuid-1", "score": 1, "agent_id": 12, "queue": "sales"
    }  # fmt: skip
    assert media.heard == ["rate", "invalid", "rate", "thanks"]


def test_survey_without_answer() -> None:
    facts = RecordingFacts()
    result = run(SURVEY, FakeMedia(inputs=[None, None]), facts=facts)
    assert result.outcome == Survey(None, None, None)
    assert "survey_scored" not in facts.kinds()


def test_goto_another_flow_and_path_prefix() -> None:
    other = {"code": "other", "start": "x", "nodes": {"x": {"type": "hangup", "reason": "other"}}}
    definition = flow("g", g={"type": "goto", "flow": "other"})
    result = run(definition, FakeMedia(), extra=(other,))
    assert result.outcome == Hangup("other")
    assert result.path == ["g", "other:x"]
    assert result.flow == "other"


def test_loop_is_cut_off() -> None:
    definition = flow("a", a={"type": "goto", "node": "b"}, b={"type": "goto", "node": "a"})
    media = FakeMedia()
    assert run(definition, media).outcome == Hangup("error")


def test_missing_flow_plays_system_busy() -> None:
    runner = FlowRunner(flows=library(), config=config(), clock=lambda: WEDNESDAY_10AM)
    media = FakeMedia()
    result = runner.run(media, CallContext("u", "1", "nope"))
    assert result.outcome == Hangup("error")
    assert media.heard == ["system_busy"]


def test_hangup_during_a_prompt_at_any_point() -> None:
    definition = flow(
        "a",
        a={"type": "play", "prompts": ["one"], "next": "b"},
        b={"type": "play", "prompts": ["two"], "next": "c"},
        c=BYE,
    )
    for index, expected_path in ((0, ["a"]), (1, ["a", "b"])):
        facts = RecordingFacts()
        result = run(definition, FakeMedia(hang_up_at=index), facts=facts)
        assert result.outcome.caller_hung_up
        assert result.path == expected_path
        assert facts.of("ivr_path")["exit"] == "caller_hangup"


def test_emergency_notice_plays_first_while_active() -> None:
    start = WEDNESDAY_10AM - dt.timedelta(hours=1)
    notices = (
        Notice(1, "停水通知", "zh", start, start + dt.timedelta(hours=2), ("test",), "/n1.wav"),
        Notice(2, "other flow", "zh", start, start + dt.timedelta(hours=2), ("else",)),
        Notice(3, "expired", "zh", start - dt.timedelta(days=1), start),
        Notice(4, "all flows, no audio yet", "zh", start, start + dt.timedelta(hours=2)),
        Notice(5, "english", "en", start, start + dt.timedelta(hours=2)),
    )
    definition = flow("a", a={"type": "play", "prompts": ["welcome"], "next": "b"}, b=BYE)
    media = FakeMedia()
    run(definition, media, notices=notices)
    assert media.heard == ["/n1.wav", "all flows, no audio yet", "welcome"]


def test_context_for_did_picks_flow_language_and_calendar() -> None:
    cfg = config(dids=[{"number": "12329", "flow": "hotline_12329", "language": "en",
                        "calendar": 1, "enabled": True}])  # fmt: skip
    context = CallContext.for_did(cfg, "12329", "139", "u1")
    assert (context.flow, context.language, context.calendar_id) == ("hotline_12329", "en", 1)
    unknown = CallContext.for_did(cfg, "999", "139", "u1", default_flow="fallback")
    assert unknown.flow == "fallback"
    survey = CallContext.for_flow("survey", "u2", "139", agent_id=3)
    assert survey.variables == {"agent_id": 3}
