"""Every node type, every path of the shipped flows and hang-ups mid-flow, run over the real
ESL outbound session against the switch simulator.

The simulated caller dials, hears prompts, presses keys when a prompt starts, lets tries time
out and hangs up (tests/ivr_scripts/simulated_calls.py); it acts on events (a prompt starts,
a prompt ends, recording starts), never on wall-clock delays. The simulator runs at speed
0.01, so a 0.5 s prompt takes 5 ms and a 5 s menu timeout 50 ms. The assertions are about
what the flow decided (outcome, path, digits, variables, facts) and what the caller heard,
never about timings. test_lookup_stub_parity.py holds the stub lookup API to the live one.
"""

from __future__ import annotations

import datetime as dt
import wave
from pathlib import Path
from typing import Any

import gevent
import pytest

from cti.simulator import SwitchSimulator
from cti.simulator.parties import SimulatedCaller
from ivr_scripts.lookups import HttpLookupClient, LookupRegistry, default_registry
from ivr_scripts.runner import CallContext, Hangup, Queue, Survey, Transfer, Voicemail
from ivr_scripts.store import Notice
from ivr_scripts.synthesis import text_path

from .helpers import (
    SHANGHAI,
    WEDNESDAY_10AM,
    config,
    library,
    shipped_flow,
    weekday_calendar,
)
from .hotline_12329 import (
    AGENT,
    AGENT_QUEUE,
    BAD_CHECKSUM_ID,
    BAD_ID_ROUND,
    BALANCE,
    BYE_AFTER_ERRORS,
    CALLER_HUNG_UP,
    CHANGE_THEN_QUERY,
    CONFIRM_PW,
    CREDENTIALS,
    DEPOSIT,
    DEPOSIT_ID,
    IC,
    ID,
    IID,
    IPW,
    LOAN,
    MENU,
    NEW_PW,
    ONE_LOAN_ID,
    PASSWORD,
    PW,
    SPRING_FESTIVAL,
    TO_PASSWORD,
    TONE,
    TOO_MANY_ERRORS,
    TWO_LOANS_ID,
    UNKNOWN_ID,
    M,
    W,
    hotline_spec,
    loan_words,
)
from .simulated_calls import (
    AFTER_PROMPT,
    HANG_UP,
    LOOKUP_TOKEN,
    WAIT,
    AwaitEvent,
    CallSpec,
    FlowHarness,
    Pause,
    SilentEndpoint,
    SimulatedCall,
    SimulatedTimeHttpClient,
    StubLookupApi,
    write_wav,
)

SPEED = 0.01
SURVEY_FLOW = shipped_flow("survey")
VOICEMAIL_FLOW = shipped_flow("voicemail")


def shanghai(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def flow(code: str, start: str, /, **nodes: dict[str, Any]) -> dict[str, Any]:
    return {"format": 1, "code": code, "name": code, "start": start, "nodes": nodes}


# -- fixtures and call specs --------------------------------------------------------------------


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    harness = FlowHarness(tmp_path_factory.mktemp("flows_over_simulator"), speed=SPEED)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture(scope="module")
def stub_api():
    api = StubLookupApi().start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def api(stub_api: StubLookupApi) -> StubLookupApi:
    stub_api.reset()
    return stub_api


@pytest.fixture(scope="module")
def silent():
    endpoint = SilentEndpoint()
    try:
        yield endpoint
    finally:
        endpoint.close()


def flow_spec(
    *definitions: dict[str, Any],
    variables: dict[str, Any] | None = None,
    language: str = "zh",
    calendar_id: int | None = None,
    snapshot: Any = None,
    at: dt.datetime = WEDNESDAY_10AM,
    lookups: LookupRegistry | None = None,
    http: Any = None,
) -> CallSpec:
    """The first of ``definitions`` runs (the others are there for ``goto``)."""
    code = definitions[0]["code"]

    def context(uuid: str, caller: str, number: str) -> CallContext:
        return CallContext(uuid, caller, code, language, number, calendar_id, dict(variables or {}))

    return CallSpec(
        flows=library(*definitions),
        config=snapshot if snapshot is not None else config(),
        context=context,
        at=at,
        lookups=lookups if lookups is not None else LookupRegistry(),
        http=http,
    )


def survey_spec() -> CallSpec:
    def context(uuid: str, caller: str, number: str) -> CallContext:
        return CallContext.for_flow("survey", uuid, caller, agent_id=5, queue="hotline_12329")

    return CallSpec(flows=library(SURVEY_FLOW), config=config(), context=context)


def voicemail_spec(**variables: Any) -> CallSpec:
    def context(uuid: str, caller: str, number: str) -> CallContext:
        return CallContext.for_flow("voicemail", uuid, caller, **variables)

    return CallSpec(flows=library(VOICEMAIL_FLOW), config=config(), context=context)


def assert_hung_up_by_caller(call: SimulatedCall, path: list[str]) -> None:
    assert call.result.outcome == CALLER_HUNG_UP
    assert call.result.path == path
    assert call.facts.of("ivr_path")["exit"] == "caller_hangup"
    assert call.facts.of("ivr_path")["nodes"] == path


# == every node type ============================================================================


def test_play_node_plays_every_kind_of_item_in_one_playback(harness) -> None:
    text = "今天下午系统维护"
    synthesized = text_path(harness.prompt_root, "zh", text)
    write_wav(synthesized, 0.5)
    definition = flow(
        "play_items",
        "intro",
        intro={
            "type": "play",
            "prompts": [
                "welcome_12329",
                {"prompt": "main_menu"},
                {"file": "tone_stream://%(200,0,800)"},
                {"text": text},
                {"say": "number", "value": "count"},
            ],
            "next": "bye",
        },
        bye={"type": "hangup", "prompts": ["goodbye"], "cause": "USER_BUSY", "reason": "done"},
    )
    call = harness.call([], flow_spec(definition, variables={"count": 42}), "5000")
    assert call.result.outcome == Hangup("done")
    assert call.result.path == ["intro", "bye"]
    assert call.heard == [
        "welcome_12329", "main_menu", "tone_stream://%(200,0,800)", f"tts/{synthesized.stem}",
        "say/4", "say/10", "say/2", "goodbye",
    ]  # fmt: skip
    # The play node is one playback (file_string://), the hangup node's prompt another.
    assert len(call.caller.prompts) == 2
    assert call.caller.prompts[0].startswith("file_string://")
    # The hangup node's cause reaches the caller.
    assert call.caller.hangup_cause == "USER_BUSY"


@pytest.mark.parametrize(
    ("kind", "value", "language", "words"),
    [
        ("digits", "12*#", "zh", ["say/1", "say/2", "say/star", "say/pound"]),
        ("number", "2024", "zh", ["say/liang", "say/1000", "say/0", "say/2", "say/10", "say/4"]),
        ("number", "2024", "en", ["say/2", "say/1000", "say/20", "say/4"]),
        ("amount", "305.20", "zh",
         ["say/3", "say/100", "say/0", "say/5", "say/yuan", "say/2", "say/jiao"]),
        ("date", "2024-04-15", "zh",
         ["say/2", "say/0", "say/2", "say/4", "say/year", "say/4", "say/month", "say/10",
          "say/5", "say/day"]),
        ("date", "2024-04-15", "en",
         ["say/month-4", "say/day-15", "say/20", "say/20", "say/4"]),
    ],
)  # fmt: skip
def test_say_node_reads_values_between_before_and_after(
    harness, kind, value, language, words
) -> None:
    definition = flow(
        "say_value",
        "read",
        read={
            "type": "say", "say": kind, "value": "value", "before": ["your_balance_is"],
            "after": ["query_done"], "next": "bye",
        },
        bye={"type": "hangup", "reason": "read"},
    )  # fmt: skip
    spec = flow_spec(definition, variables={"value": value}, language=language)
    call = harness.call([], spec, "5000")
    assert call.result.outcome == Hangup("read")
    expected = ["your_balance_is", *words, "query_done"]
    assert call.caller.heard_with_language == [(language, prompt) for prompt in expected]
    assert len(call.caller.prompts) == 1  # one playback: no gap between the words


def test_say_node_with_an_unreadable_value_says_system_busy(harness) -> None:
    definition = flow(
        "say_value",
        "read",
        read={"type": "say", "say": "amount", "value": "value", "next": "bye"},
        bye={"type": "hangup", "reason": "read"},
    )
    call = harness.call([], flow_spec(definition, variables={"value": "lots"}), "5000")
    assert call.result.outcome == Hangup("error")
    assert call.result.path == ["read"]
    assert call.heard == ["system_busy"]
    assert call.caller.hangup_cause == "NORMAL_CLEARING"


ASK_CODE = {
    "type": "collect", "variable": "code", "prompts": ["enter_password"],
    "invalid_prompts": ["invalid_password"], "min_length": 4, "max_length": 6,
    "pattern": "[0-9]+", "timeout": 4, "digit_timeout": 2, "tries": 3,
    "next": "read", "failure": "failed",
}  # fmt: skip


def collect_flow(**changes: Any) -> dict[str, Any]:
    return flow(
        "collect_code",
        "ask",
        ask={**ASK_CODE, **changes},
        read={"type": "say", "say": "digits", "value": "code", "next": "done"},
        done={"type": "hangup", "reason": "collected"},
        failed={"type": "hangup", "prompts": ["too_many_errors"], "reason": "collect_failed"},
    )


@pytest.mark.parametrize(
    ("tries", "code", "invalid"),
    [
        pytest.param(["1234#"], "1234", 0, id="terminator"),
        pytest.param(["1234567"], "123456", 0, id="max-length-ends-input"),
        pytest.param(["12345"], "12345", 0, id="digit-timeout-ends-input"),
        pytest.param(["12#", "5678#"], "5678", 1, id="too-short-then-valid"),
        pytest.param(["12*4#", "9999#"], "9999", 1, id="pattern-mismatch-then-valid"),
        pytest.param([WAIT, WAIT, "4321#"], "4321", 2, id="two-timeouts-then-valid"),
    ],
)
def test_collect_node(harness, tries, code, invalid) -> None:
    call = harness.call([(PW, keys) for keys in tries], flow_spec(collect_flow()), "5000")
    assert call.result.outcome == Hangup("collected")
    assert call.result.path == ["ask", "read", "done"]
    assert call.result.variables["code"] == code
    assert call.result.digits["ask"] == [code]
    digits = [f"say/{digit}" for digit in code]
    assert call.heard == [PW, IPW] * invalid + [PW, *digits]


def test_collect_node_failure_after_all_tries(harness) -> None:
    call = harness.call([(PW, WAIT), (PW, "1#"), (PW, WAIT)], flow_spec(collect_flow()), "5000")
    assert call.result.outcome == Hangup("collect_failed")
    assert call.result.path == ["ask", "failed"]
    assert call.result.digits["ask"] == [""]
    assert "code" not in call.result.variables
    # FreeSWITCH plays the invalid prompt after every failed try, the last one included.
    assert call.heard == [PW, IPW, PW, IPW, PW, IPW, "too_many_errors"]


def test_collect_node_sensitive_input_with_another_terminator(harness) -> None:
    spec = flow_spec(collect_flow(terminator="*", sensitive=True))
    call = harness.call([(PW, "4321*")], spec, "5000")
    assert call.result.outcome == Hangup("collected")
    assert call.result.variables["code"] == "4321"
    assert call.result.digits["ask"] == ["***"]
    fact = call.facts.of("ivr_path")
    assert fact["digits"]["ask"] == ["***"] and "code" not in fact["variables"]


MENU_KEYS = flow(
    "menu_keys",
    "menu",
    menu={
        "type": "menu", "prompts": ["main_menu"], "invalid_prompts": ["invalid_choice"],
        "tries": 3, "timeout": 3, "variable": "choice",
        "options": {"1": "one", "*": "star", "#": "pound"}, "failure": "failed",
    },
    one={"type": "hangup", "reason": "one"},
    star={"type": "hangup", "reason": "star"},
    pound={"type": "hangup", "reason": "pound"},
    failed={"type": "hangup", "prompts": ["too_many_errors"], "reason": "menu_failed"},
)  # fmt: skip


@pytest.mark.parametrize(
    ("tries", "reason", "invalid"),
    [
        pytest.param(["1"], "one", 0, id="digit"),
        pytest.param(["*"], "star", 0, id="star"),
        pytest.param(["#"], "pound", 0, id="pound-is-a-key-not-a-terminator"),
        pytest.param(["5", "1"], "one", 1, id="invalid-then-valid"),
        pytest.param([WAIT, "#"], "pound", 1, id="timeout-then-valid"),
        pytest.param(["7", WAIT, "*"], "star", 2, id="invalid-timeout-valid"),
    ],
)
def test_menu_node(harness, tries, reason, invalid) -> None:
    call = harness.call([(M, keys) for keys in tries], flow_spec(MENU_KEYS), "5000")
    key = tries[-1]
    assert call.result.outcome == Hangup(reason)
    assert call.result.path == ["menu", reason]
    assert call.result.digits["menu"] == [key]
    assert call.result.variables["choice"] == key
    assert call.heard == [M, IC] * invalid + [M]


@pytest.mark.parametrize(
    "tries",
    [
        pytest.param([WAIT, WAIT, WAIT], id="three-timeouts"),
        pytest.param(["5", WAIT, "9"], id="invalid-timeout-invalid"),
        pytest.param(["2", "0", "3"], id="three-invalid-keys"),
    ],
)
def test_menu_node_failure(harness, tries) -> None:
    call = harness.call([(M, keys) for keys in tries], flow_spec(MENU_KEYS), "5000")
    assert call.result.outcome == Hangup("menu_failed")
    assert call.result.path == ["menu", "failed"]
    assert call.result.digits["menu"] == [""]
    assert call.heard == [M, IC, M, IC, M, IC, "too_many_errors"]


HOURS = flow(
    "hours_check",
    "hours",
    hours={"type": "time", "open": "is_open", "closed": "is_closed", "holiday": "is_holiday"},
    is_open={"type": "hangup", "prompts": ["main_menu"], "reason": "open"},
    is_closed={"type": "hangup", "prompts": ["closed"], "reason": "closed"},
    is_holiday={"type": "hangup", "prompts": ["holiday_closed"], "reason": "holiday"},
)
HEARD_WHEN = {"open": "main_menu", "closed": "closed", "holiday": "holiday_closed"}
CALENDAR = weekday_calendar(
    holidays=[SPRING_FESTIVAL],
    exceptions=[
        {"date": "2024-02-04", "kind": "open", "start": "09:00", "end": "17:00"},  # 调休 Sunday
        {"date": "2024-03-08", "kind": "closed"},  # a closed Friday
        {"date": "2024-03-07", "kind": "closed", "start": "12:00", "end": "14:00"},
    ],
)


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        pytest.param(shanghai(2024, 3, 6, 10), "open", id="wednesday-10"),
        pytest.param(dt.datetime(2024, 3, 6, 2, tzinfo=dt.UTC), "open", id="utc-clock"),
        pytest.param(shanghai(2024, 3, 6, 8, 59), "closed", id="before-opening"),
        pytest.param(shanghai(2024, 3, 6, 17), "closed", id="closing-time-exclusive"),
        pytest.param(shanghai(2024, 3, 9, 10), "closed", id="saturday"),
        pytest.param(shanghai(2024, 2, 12, 10), "holiday", id="holiday"),
        pytest.param(shanghai(2024, 2, 4, 10), "open", id="exception-working-sunday"),
        pytest.param(shanghai(2024, 2, 4, 18), "closed", id="exception-after-its-hours"),
        pytest.param(shanghai(2024, 3, 8, 10), "closed", id="exception-closed-day"),
        pytest.param(shanghai(2024, 3, 7, 13), "closed", id="exception-closed-window"),
        pytest.param(shanghai(2024, 3, 7, 15), "open", id="exception-outside-the-window"),
    ],
)
def test_time_node(harness, moment, opening) -> None:
    spec = flow_spec(HOURS, calendar_id=1, snapshot=config(calendars=[CALENDAR]), at=moment)
    call = harness.call([], spec, "5000")
    assert call.result.outcome == Hangup(opening)
    assert call.result.variables["opening"] == opening
    assert call.result.path == ["hours", f"is_{opening}"]
    assert call.heard == [HEARD_WHEN[opening]]


def test_time_node_holiday_without_a_holiday_branch_is_closed(harness) -> None:
    nodes = dict(HOURS["nodes"])
    nodes["hours"] = {"type": "time", "open": "is_open", "closed": "is_closed"}
    spec = flow_spec(
        {**HOURS, "nodes": nodes},
        calendar_id=1,
        snapshot=config(calendars=[CALENDAR]),
        at=shanghai(2024, 2, 12, 10),
    )
    call = harness.call([], spec, "5000")
    assert call.result.outcome == Hangup("closed")
    assert call.result.variables["opening"] == "holiday"


@pytest.mark.parametrize(
    ("node_calendar", "call_calendar", "opening"),
    [
        pytest.param(2, 1, "open", id="node-calendar-wins-over-the-did's"),
        pytest.param(None, 2, "open", id="did-calendar"),
        pytest.param(None, None, "open", id="no-calendar-is-always-open"),
        pytest.param(99, 1, "open", id="calendar-missing-from-the-snapshot"),
        pytest.param(1, 2, "closed", id="node-calendar-closed"),
    ],
)
def test_time_node_calendar_choice(harness, node_calendar, call_calendar, opening) -> None:
    weekend = {"id": 2, "name": "weekend", "hours": [[5, "09:00", "17:00"]], "holidays": [],
               "exceptions": []}  # fmt: skip
    nodes = dict(HOURS["nodes"])
    if node_calendar is not None:
        nodes["hours"] = {**nodes["hours"], "calendar": node_calendar}
    spec = flow_spec(
        {**HOURS, "nodes": nodes},
        calendar_id=call_calendar,
        snapshot=config(calendars=[CALENDAR, weekend]),
        at=shanghai(2024, 3, 9, 10),  # a Saturday
    )
    call = harness.call([], spec, "5000")
    assert call.result.outcome == Hangup(opening)


HARASSER = {
    "pattern": "13912345678", "match": "exact", "direction": "in", "category": "harassment",
    "action": "notice", "expires_at": None,
}  # fmt: skip


@pytest.mark.parametrize(
    ("entries", "caller", "category", "heard"),
    [
        pytest.param([HARASSER], "13912345678", "harassment", [W, "harassment_notice"],
                     id="harassment-notice"),
        pytest.param([{**HARASSER, "category": "blacklist"}], "13912345678", "blacklist",
                     [W, "blocked_notice"], id="blacklisted-notice"),
        pytest.param([{**HARASSER, "action": "drop"}], "13912345678", "harassment", [W],
                     id="harassment-drop"),
        pytest.param([{**HARASSER, "pattern": "139", "match": "prefix", "category": "blacklist"}],
                     "13912345678", "blacklist", [W, "blocked_notice"], id="prefix"),
        pytest.param([HARASSER], "+8613912345678", "harassment", [W, "harassment_notice"],
                     id="caller-id-with-+86"),
        pytest.param([{**HARASSER, "direction": "both"}], "13912345678", "harassment",
                     [W, "harassment_notice"], id="both-directions"),
        pytest.param([{**HARASSER, "pattern": "139", "match": "prefix", "action": "drop",
                       "category": "blacklist"}, HARASSER],
                     "13912345678", "harassment", [W, "harassment_notice"],
                     id="exact-entry-wins-over-prefix"),
        pytest.param([{**HARASSER, "expires_at": (WEDNESDAY_10AM
                                                  + dt.timedelta(minutes=1)).isoformat()}],
                     "13912345678", "harassment", [W, "harassment_notice"],
                     id="block-not-yet-lapsed"),
    ],
)  # fmt: skip
def test_block_check_node_blocks(harness, api, entries, caller, category, heard) -> None:
    call = harness.call([], hotline_spec(api, blacklist=entries), caller_id_number=caller)
    assert call.result.outcome == Hangup(category)
    assert call.result.path == ["welcome", "block"]
    assert call.result.variables["blocked"] is True
    assert call.result.variables["block_category"] == category
    assert call.heard == heard
    assert call.caller.hangup_cause == "CALL_REJECTED"


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param([{**HARASSER, "expires_at": (WEDNESDAY_10AM
                                                  - dt.timedelta(seconds=1)).isoformat()}],
                     id="lapsed-block"),
        pytest.param([{**HARASSER, "direction": "out"}], id="outbound-only-entry"),
        pytest.param([{**HARASSER, "pattern": "13912345679"}], id="another-number"),
        pytest.param([{**HARASSER, "pattern": "138", "match": "prefix"}], id="another-prefix"),
    ],
)  # fmt: skip
def test_block_check_node_lets_others_through(harness, api, entries) -> None:
    call = harness.call([(M, "0")], hotline_spec(api, blacklist=entries))
    assert call.result.outcome == AGENT_QUEUE
    assert call.result.variables["blocked"] is False
    assert call.heard == [W, M, AGENT]


def test_block_check_node_blocked_branch_routes_instead(harness) -> None:
    definition = flow(
        "screening",
        "check",
        check={"type": "block_check", "next": "welcome", "blocked": "screened"},
        welcome={"type": "hangup", "prompts": ["main_menu"], "reason": "welcome"},
        screened={"type": "hangup", "prompts": ["blocked_notice"], "reason": "screened"},
    )
    entry = {**HARASSER, "category": "blacklist", "action": "drop"}
    call = harness.call([], flow_spec(definition, snapshot=config(blacklist=[entry])), "5000")
    assert call.result.outcome == Hangup("screened")
    assert call.result.variables["block_category"] == "blacklist"
    assert call.heard == ["blocked_notice"]
    assert call.caller.hangup_cause == "NORMAL_CLEARING"


def lookup_flow(node: dict[str, Any], say_value: str) -> dict[str, Any]:
    return flow(
        "lookup_node",
        "find",
        find={**node, "next": "found", "error": "failed"},
        found={"type": "say", "say": "number", "value": say_value, "next": "done"},
        done={"type": "hangup", "reason": "found"},
        failed={"type": "hangup", "prompts": ["system_busy"], "reason": "lookup_failed"},
    )


DOUBLE = {"type": "lookup", "function": "double", "params": {"n": "number * 1"}, "into": "calc"}


def test_lookup_node_registered_function(harness) -> None:
    registry = LookupRegistry({"double": lambda params: {"result": params["n"] * 2}})
    spec = flow_spec(lookup_flow(DOUBLE, "calc_result"), variables={"number": 21},
                     lookups=registry)  # fmt: skip
    call = harness.call([], spec, "5000")
    assert call.result.outcome == Hangup("found")
    assert call.result.variables["calc_result"] == 42
    assert call.heard == ["say/4", "say/10", "say/2"]


def _fails(params: Any) -> dict[str, Any]:
    raise ZeroDivisionError("division by zero")


@pytest.mark.parametrize(
    ("functions", "error"),
    [
        pytest.param({"double": _fails}, "division by zero", id="function-raises"),
        pytest.param({}, "no lookup function named 'double'", id="unknown-function"),
        pytest.param({"double": lambda params: [1, 2]}, "not a dict", id="not-a-dict"),
    ],
)
def test_lookup_node_registered_function_error_branch(harness, functions, error) -> None:
    spec = flow_spec(lookup_flow(DOUBLE, "calc_result"), variables={"number": 21},
                     lookups=LookupRegistry(functions))  # fmt: skip
    call = harness.call([], spec, "5000")
    assert call.result.outcome == Hangup("lookup_failed")
    assert call.result.path == ["find", "failed"]
    assert error in call.result.variables["lookup_error"]
    assert call.heard == ["system_busy"]


HTTP_BALANCE = {
    "type": "lookup", "url": "deposit-balance/", "timeout": 3, "into": "account",
    "params": {"id_number": "id_number", "password": "password"},
}  # fmt: skip


def test_lookup_node_over_http(harness, api) -> None:
    spec = flow_spec(
        lookup_flow(HTTP_BALANCE, "account_balance"),
        variables=CREDENTIALS,
        http=HttpLookupClient(api.base_url, LOOKUP_TOKEN),
    )
    call = harness.call([], spec, "5000")
    assert call.result.outcome == Hangup("found")
    assert call.result.variables["account_found"] is True
    assert call.result.variables["account_balance"] == "12345.67"
    assert api.requests == [("/api/ivr/lookup/deposit-balance/", CREDENTIALS)]
    assert call.heard == [
        "say/1", "say/10000", "say/liang", "say/1000", "say/3", "say/100", "say/4", "say/10",
        "say/5", "say/point", "say/6", "say/7",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        pytest.param("server-error", "HTTP 500", id="http-500"),
        pytest.param("wrong-token", "HTTP 403", id="wrong-token"),
        pytest.param("silent", "timed out", id="silent-server-times-out"),
        pytest.param("no-client", "no HTTP lookup client", id="no-http-client"),
    ],
)
def test_lookup_node_over_http_error_branch(harness, api, silent, failure, error) -> None:
    http: HttpLookupClient | None = HttpLookupClient(api.base_url, LOOKUP_TOKEN)
    node = HTTP_BALANCE
    if failure == "server-error":
        api.mode = "error"
    elif failure == "wrong-token":
        http = HttpLookupClient(api.base_url, "not-the-token")
    elif failure == "silent":
        http = HttpLookupClient(silent.base_url, LOOKUP_TOKEN)
        node = {**HTTP_BALANCE, "timeout": 0.2}  # real seconds: the plain client's
    else:
        http = None
    spec = flow_spec(lookup_flow(node, "account_balance"), variables=CREDENTIALS,
                     http=http)  # fmt: skip
    call = harness.call([], spec, "5000")
    assert call.result.outcome == Hangup("lookup_failed")
    assert call.result.path == ["find", "failed"]
    assert error in call.result.variables["lookup_error"]
    assert "account_balance" not in call.result.variables
    assert call.heard == ["system_busy"]


SET_AND_BRANCH = flow(
    "set_and_branch",
    "init",
    init={
        "type": "set",
        "variables": {"total": "price * quantity", "vip": "caller in ['13912345678']"},
        "next": "route",
    },
    route={
        "type": "branch",
        "conditions": [{"if": "total >= 100", "next": "big"}, {"if": "vip", "next": "vip"}],
        "else": "plain",
    },
    big={"type": "hangup", "prompts": [{"say": "number", "value": "total"}], "reason": "big"},
    vip={"type": "hangup", "prompts": ["transferring_to_agent"], "reason": "vip"},
    plain={"type": "hangup", "prompts": ["goodbye"], "reason": "plain"},
)


@pytest.mark.parametrize(
    ("price", "caller", "branch", "heard"),
    [
        pytest.param(60, "13700000000", "big", ["say/1", "say/100", "say/2", "say/10"],
                     id="first-condition"),
        pytest.param(60, "13912345678", "big", ["say/1", "say/100", "say/2", "say/10"],
                     id="first-true-condition-wins"),
        pytest.param(30, "13912345678", "vip", ["transferring_to_agent"], id="second"),
        pytest.param(30, "13700000000", "plain", ["goodbye"], id="else"),
    ],
)  # fmt: skip
def test_set_and_branch_nodes(harness, price, caller, branch, heard) -> None:
    spec = flow_spec(SET_AND_BRANCH, variables={"price": price, "quantity": 2})
    call = harness.call([], spec, "5000", caller_id_number=caller)
    assert call.result.outcome == Hangup(branch)
    assert call.result.variables["total"] == price * 2
    assert call.result.variables["vip"] is (caller == "13912345678")
    assert call.result.path == ["init", "route", branch]
    assert call.heard == heard


def test_language_node_and_set_language_switch_the_prompt_set(harness) -> None:
    definition = flow(
        "languages",
        "to_english",
        to_english={"type": "language", "language": "en", "next": "hello"},
        hello={"type": "play", "prompts": ["goodbye"], "next": "back"},
        back={"type": "set", "variables": {"language": "'zh'"}, "next": "bye"},
        bye={"type": "hangup", "prompts": ["goodbye"], "reason": "done"},
    )
    call = harness.call([], flow_spec(definition), "5000")
    assert call.caller.heard_with_language == [("en", "goodbye"), ("zh", "goodbye")]
    assert call.result.language == "zh"
    assert call.result.path == ["to_english", "hello", "back", "bye"]


QUEUE_NODE = flow(
    "queue_node",
    "enqueue",
    enqueue={
        "type": "queue", "queue": "hotline_12329", "priority": "5 if vip else 0",
        "skills": ["housing_fund", "english"], "prompts": ["transferring_to_agent"],
    },
)  # fmt: skip


@pytest.mark.parametrize(("vip", "priority"), [(True, 5), (False, 0)])
def test_queue_node(harness, vip, priority) -> None:
    call = harness.call([], flow_spec(QUEUE_NODE, variables={"vip": vip}), "5000")
    assert call.result.outcome == Queue("hotline_12329", priority, ("housing_fund", "english"))
    assert call.heard == ["transferring_to_agent"]
    assert call.facts.of("ivr_path")["exit"] == "queue:hotline_12329"


def test_queue_node_with_a_priority_that_is_no_number(harness) -> None:
    node = {**QUEUE_NODE["nodes"]["enqueue"], "priority": "level"}
    definition = {**QUEUE_NODE, "nodes": {"enqueue": node}}
    call = harness.call([], flow_spec(definition, variables={"level": "urgent"}), "5000")
    assert call.result.outcome == Hangup("error")
    assert call.heard == ["transferring_to_agent", "system_busy"]


@pytest.mark.parametrize(
    ("kind", "target", "variables", "outcome"),
    [
        ("agent", "agent_number", {"agent_number": "1001"}, Transfer("agent", "1001")),
        ("queue", "'sales'", {}, Transfer("queue", "sales")),
        ("number", "'0' + mobile", {"mobile": "13800000000"}, Transfer("number", "013800000000")),
    ],
)
def test_transfer_node(harness, kind, target, variables, outcome) -> None:
    definition = flow(
        "transfer_node",
        "send",
        send={"type": "transfer", "kind": kind, "target": target, "prompts": [AGENT]},
    )
    call = harness.call([], flow_spec(definition, variables=variables), "5000")
    assert call.result.outcome == outcome
    assert call.heard == [AGENT]
    assert call.facts.of("ivr_path")["exit"] == f"transfer:{kind}:{outcome.target}"


def test_transfer_node_with_an_empty_target(harness) -> None:
    definition = flow(
        "transfer_node",
        "send",
        send={"type": "transfer", "kind": "agent", "target": "agent_number", "prompts": [AGENT]},
    )
    call = harness.call([], flow_spec(definition), "5000")
    assert call.result.outcome == Hangup("error")
    assert call.heard == ["system_busy"]


def test_hangup_node_default_cause(harness) -> None:
    definition = flow("bye", "bye", bye={"type": "hangup", "prompts": ["goodbye"]})
    call = harness.call([], flow_spec(definition), "5000")
    assert call.result.outcome == Hangup("flow")
    assert call.heard == ["goodbye"]
    assert call.caller.hangup_cause == "NORMAL_CLEARING"


GOTO_A = flow(
    "goto_a",
    "start",
    start={"type": "goto", "node": "menu_like"},
    menu_like={"type": "play", "prompts": ["main_menu"], "next": "leave"},
    leave={"type": "goto", "flow": "goto_b"},
)
GOTO_B = flow("goto_b", "bye", bye={"type": "hangup", "prompts": ["goodbye"], "reason": "b"})


def test_goto_node_within_and_across_flows(harness) -> None:
    call = harness.call([], flow_spec(GOTO_A, GOTO_B), "5000")
    assert call.result.outcome == Hangup("b")
    assert call.result.path == ["start", "menu_like", "leave", "goto_b:bye"]
    assert call.result.flow == "goto_b"
    assert call.heard == ["main_menu", "goodbye"]


def test_goto_node_to_a_missing_flow_says_system_busy(harness) -> None:
    call = harness.call([], flow_spec(GOTO_A), "5000")
    assert call.result.outcome == Hangup("error")
    assert call.heard == ["main_menu", "system_busy"]


def test_goto_loop_is_stopped(harness) -> None:
    definition = flow(
        "loop",
        "one",
        one={"type": "goto", "node": "two"},
        two={"type": "goto", "node": "one"},
    )
    call = harness.call([], flow_spec(definition), "5000")
    assert call.result.outcome == Hangup("error")
    assert len(call.result.path) == 500
    assert call.heard == ["system_busy"]


def test_emergency_notice_plays_before_the_flow(harness, api) -> None:
    text = "今天系统升级，查询暂停"
    synthesized = text_path(harness.prompt_root, "zh", text)
    write_wav(synthesized, 0.5)
    hour = dt.timedelta(hours=1)
    notices = (
        Notice(1, text, "zh", WEDNESDAY_10AM - hour, WEDNESDAY_10AM + hour, ("hotline_12329",)),
        Notice(2, "ended", "zh", WEDNESDAY_10AM - 2 * hour, WEDNESDAY_10AM - hour),
        Notice(3, "other flow", "zh", WEDNESDAY_10AM - hour, WEDNESDAY_10AM + hour, ("survey",)),
        Notice(4, "english", "en", WEDNESDAY_10AM - hour, WEDNESDAY_10AM + hour),
    )
    call = harness.call([(M, "0")], hotline_spec(api, notices=notices))
    assert call.result.outcome == AGENT_QUEUE
    assert call.heard == [f"tts/{synthesized.stem}", W, M, AGENT]


# == every path of the shipped flows ============================================================


HOTLINE_PATHS = [
    pytest.param(
        [(M, "0")], AGENT_QUEUE, [*MENU, "to_agent"], [W, M, AGENT], id="0-agent"),
    pytest.param(
        [(M, "1"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"), (M, "0")], AGENT_QUEUE,
        [*MENU, *DEPOSIT, "say_balance", "after_query", "main_menu", "to_agent"],
        [W, M, ID, PW, *BALANCE, "query_done", M, AGENT], id="1-deposit"),
    pytest.param(
        [(M, "1"), (ID, DEPOSIT_ID + "#"), (PW, "654321#"), (M, "0")], AGENT_QUEUE,
        [*MENU, *DEPOSIT, "wrong_credentials", "main_menu", "to_agent"],
        [W, M, ID, PW, "wrong_id_or_password", M, AGENT], id="1-deposit-wrong-password"),
    pytest.param(
        [(M, "1"), (ID, UNKNOWN_ID + "#"), (PW, "123456#"), (M, "0")], AGENT_QUEUE,
        [*MENU, *DEPOSIT, "wrong_credentials", "main_menu", "to_agent"],
        [W, M, ID, PW, "wrong_id_or_password", M, AGENT], id="1-deposit-unknown-id"),
    pytest.param(
        [(M, "1"), (ID, "1234#"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"), (M, "0")],
        AGENT_QUEUE, [*MENU, *DEPOSIT, "say_balance", "after_query", "main_menu", "to_agent"],
        [W, M, ID, IID, ID, PW, *BALANCE, "query_done", M, AGENT], id="1-id-too-short-retry"),
    pytest.param(
        [(M, "1"), (ID, WAIT), (ID, DEPOSIT_ID + "#"), (PW, "123456#"), (M, "0")],
        AGENT_QUEUE, [*MENU, *DEPOSIT, "say_balance", "after_query", "main_menu", "to_agent"],
        [W, M, ID, IID, ID, PW, *BALANCE, "query_done", M, AGENT], id="1-id-timeout-retry"),
    pytest.param(
        [(M, "1"), (ID, BAD_CHECKSUM_ID + "#"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"),
         (M, "0")], AGENT_QUEUE,
        [*MENU, "deposit_start", *BAD_ID_ROUND, "bad_id", *DEPOSIT[1:], "say_balance",
         "after_query", "main_menu", "to_agent"],
        [W, M, ID, IID, ID, PW, *BALANCE, "query_done", M, AGENT], id="1-id-check-digit-retry"),
    pytest.param(
        [(M, "1"), (ID, BAD_CHECKSUM_ID + "#"), (ID, BAD_CHECKSUM_ID), (ID, BAD_CHECKSUM_ID)],
        TOO_MANY_ERRORS,
        [*MENU, "deposit_start", *BAD_ID_ROUND, "bad_id", *BAD_ID_ROUND, "bad_id",
         *BAD_ID_ROUND, "too_many_errors"],
        [W, M, ID, IID, ID, IID, ID, *BYE_AFTER_ERRORS], id="1-id-check-digit-three-times"),
    pytest.param(
        [(M, "1"), (ID, WAIT), (ID, "12#"), (ID, WAIT)], TOO_MANY_ERRORS,
        [*MENU, "deposit_start", "ask_id", "too_many_errors"],
        [W, M, ID, IID, ID, IID, ID, IID, *BYE_AFTER_ERRORS], id="1-id-never-entered"),
    pytest.param(
        [(M, "1"), (ID, DEPOSIT_ID + "#"), (PW, "12#"), (PW, "123456#"), (M, "0")],
        AGENT_QUEUE, [*MENU, *DEPOSIT, "say_balance", "after_query", "main_menu", "to_agent"],
        [W, M, ID, PW, IPW, PW, *BALANCE, "query_done", M, AGENT], id="1-password-retry"),
    pytest.param(
        [(M, "1"), (ID, DEPOSIT_ID + "#"), (PW, WAIT), (PW, "1234567"), (PW, WAIT)],
        TOO_MANY_ERRORS,
        [*MENU, "deposit_start", "ask_id", "check_id", "id_valid", "ask_password",
         "too_many_errors"],
        [W, M, ID, PW, IPW, PW, IPW, PW, IPW, *BYE_AFTER_ERRORS], id="1-password-never-right"),
    pytest.param(
        [(M, "2"), (ID, ONE_LOAN_ID), (PW, "123456#"), (M, "0")], AGENT_QUEUE,
        [*MENU, *LOAN, "say_loan_remaining", "say_loan_monthly", "say_loan_due", "after_query",
         "main_menu", "to_agent"],
        [W, M, ID, PW, *loan_words(ONE_LOAN_ID), "query_done", M, AGENT], id="2-one-loan"),
    pytest.param(
        [(M, "2"), (ID, TWO_LOANS_ID + "#"), (PW, "123456"), (M, "0")], AGENT_QUEUE,
        [*MENU, *LOAN, "say_loan_remaining", "say_loan_monthly", "say_loan_due", "after_query",
         "main_menu", "to_agent"],
        [W, M, ID, PW, *loan_words(TWO_LOANS_ID), "query_done", M, AGENT], id="2-two-loans"),
    pytest.param(
        [(M, "2"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"), (M, "0")], AGENT_QUEUE,
        [*MENU, *LOAN, "no_loan", "after_query", "main_menu", "to_agent"],
        [W, M, ID, PW, "no_loan", "query_done", M, AGENT], id="2-no-loan"),
    pytest.param(
        [(M, "2"), (ID, ONE_LOAN_ID + "#"), (PW, "000000#"), (M, "0")], AGENT_QUEUE,
        [*MENU, *LOAN, "wrong_credentials", "main_menu", "to_agent"],
        [W, M, ID, PW, "wrong_id_or_password", M, AGENT], id="2-wrong-password"),
    pytest.param(
        CHANGE_THEN_QUERY, AGENT_QUEUE,
        [*MENU, *PASSWORD, "passwords_match", "change_password", "password_changed",
         "password_changed_notice", "after_query", "main_menu", *DEPOSIT, "say_balance",
         "after_query", "main_menu", "to_agent"],
        [W, M, ID, PW, NEW_PW, CONFIRM_PW, "password_changed", "query_done", M, ID, PW,
         *BALANCE, "query_done", M, AGENT], id="3-password-change-then-query"),
    pytest.param(
        [(M, "3"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"), (NEW_PW, "654321#"),
         (CONFIRM_PW, "111111#"), (M, "0")], AGENT_QUEUE,
        [*MENU, *PASSWORD, "passwords_match", "password_mismatch", "main_menu", "to_agent"],
        [W, M, ID, PW, NEW_PW, CONFIRM_PW, "password_mismatch", M, AGENT],
        id="3-confirmation-mismatch"),
    pytest.param(
        [(M, "3"), (ID, DEPOSIT_ID + "#"), (PW, "000000#"), (NEW_PW, "654321#"),
         (CONFIRM_PW, "654321#"), (M, "0")], AGENT_QUEUE,
        [*MENU, *PASSWORD, "passwords_match", "change_password", "password_changed",
         "wrong_credentials", "main_menu", "to_agent"],
        [W, M, ID, PW, NEW_PW, CONFIRM_PW, "wrong_id_or_password", M, AGENT],
        id="3-wrong-old-password"),
    pytest.param(
        [(M, "3"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"), (NEW_PW, WAIT), (NEW_PW, "1#"),
         (NEW_PW, WAIT)], TOO_MANY_ERRORS,
        [*MENU, "password_start", *TO_PASSWORD, "ask_new_password", "too_many_errors"],
        [W, M, ID, PW, NEW_PW, IPW, NEW_PW, IPW, NEW_PW, IPW, *BYE_AFTER_ERRORS],
        id="3-new-password-never-entered"),
    pytest.param(
        [(M, "3"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"), (NEW_PW, "654321#"),
         (CONFIRM_PW, WAIT), (CONFIRM_PW, WAIT), (CONFIRM_PW, WAIT)], TOO_MANY_ERRORS,
        [*MENU, *PASSWORD, "too_many_errors"],
        [W, M, ID, PW, NEW_PW, CONFIRM_PW, IPW, CONFIRM_PW, IPW, CONFIRM_PW, IPW,
         *BYE_AFTER_ERRORS], id="3-confirmation-never-entered"),
    pytest.param(
        [(M, "9"), (M, "0")], AGENT_QUEUE, [*MENU, "switch_language", "main_menu", "to_agent"],
        [W, M, M, AGENT], id="9-english"),
    pytest.param(
        [(M, "9"), (M, "9"), (M, "0")], AGENT_QUEUE,
        [*MENU, "switch_language", "main_menu", "switch_language", "main_menu", "to_agent"],
        [W, M, M, M, AGENT], id="9-english-then-chinese"),
    pytest.param(
        [(M, "7"), (M, "0")], AGENT_QUEUE, [*MENU, "to_agent"], [W, M, IC, M, AGENT],
        id="invalid-choice-then-agent"),
    pytest.param(
        [(M, WAIT), (M, "0")], AGENT_QUEUE, [*MENU, "to_agent"], [W, M, IC, M, AGENT],
        id="timed-out-choice-then-agent"),
    pytest.param(
        [(M, "7"), (IC, "0")], AGENT_QUEUE, [*MENU, "to_agent"], [W, M, IC, M, AGENT],
        id="key-pressed-during-the-invalid-prompt-counts"),
    pytest.param(
        [(M, "*"), (M, "#"), (M, "0")], AGENT_QUEUE, [*MENU, "to_agent"],
        [W, M, IC, M, IC, M, AGENT], id="star-and-pound-are-invalid-choices"),
    pytest.param(
        [(M, "7"), (M, "8"), (M, "5")], TOO_MANY_ERRORS, [*MENU, "too_many_errors"],
        [W, M, IC, M, IC, M, IC, *BYE_AFTER_ERRORS], id="three-invalid-choices"),
    pytest.param(
        [(M, WAIT), (M, WAIT), (M, WAIT)], TOO_MANY_ERRORS, [*MENU, "too_many_errors"],
        [W, M, IC, M, IC, M, IC, *BYE_AFTER_ERRORS], id="three-timed-out-choices"),
    pytest.param(
        [(M, "4"), (M, WAIT), (M, "6")], TOO_MANY_ERRORS, [*MENU, "too_many_errors"],
        [W, M, IC, M, IC, M, IC, *BYE_AFTER_ERRORS], id="invalid-timeout-invalid"),
]  # fmt: skip


@pytest.mark.parametrize(("script", "outcome", "path", "heard"), HOTLINE_PATHS)
def test_hotline_path(harness, api, script, outcome, path, heard) -> None:
    call = harness.call(script, hotline_spec(api))
    assert call.result.outcome == outcome
    assert call.result.path == path
    assert call.heard == heard
    assert call.facts.of("ivr_path")["nodes"] == path
    assert call.facts.of("ivr_path")["exit"] == outcome.exit
    if outcome == TOO_MANY_ERRORS:
        assert call.caller.hangup_cause == "NORMAL_CLEARING"


def test_hotline_deposit_digits_variables_and_request(harness, api) -> None:
    script = [(M, "1"), (ID, DEPOSIT_ID + "#"), (PW, "12#"), (PW, "123456#"), (M, "0")]
    call = harness.call(script, hotline_spec(api))
    # One entry per collect: the accepted input (the short try is not kept).
    assert call.result.digits == {
        "main_menu": ["1", "0"], "ask_id": [DEPOSIT_ID], "ask_password": ["***"],
    }  # fmt: skip
    variables = call.result.variables
    assert variables["service"] == "deposit"
    assert variables["id_number"] == "11010519491231002X"  # normalized by check_id_number
    assert variables["found"] is True and variables["balance"] == "12345.67"
    assert api.requests == [
        ("/api/ivr/lookup/deposit-balance/",
         {"id_number": "11010519491231002X", "password": "123456"}),
    ]  # fmt: skip
    fact = call.facts.of("ivr_path")
    assert "password" not in fact["variables"] and fact["digits"]["ask_password"] == ["***"]


def test_hotline_password_change_reaches_the_api(harness, api) -> None:
    call = harness.call(CHANGE_THEN_QUERY, hotline_spec(api))
    assert [path for path, _ in api.requests] == [
        "/api/ivr/lookup/change-password/", "/api/ivr/lookup/deposit-balance/",
    ]  # fmt: skip
    assert api.requests[0][1] == {
        "id_number": "11010519491231002X", "password": "123456", "new_password": "654321",
    }  # fmt: skip
    assert api.requests[1][1]["password"] == "654321"
    assert call.result.variables["changed"] is True


def test_hotline_password_mismatch_changes_nothing(harness, api) -> None:
    script = [(M, "3"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"), (NEW_PW, "654321#"),
              (CONFIRM_PW, "111111#"), (M, "0")]  # fmt: skip
    harness.call(script, hotline_spec(api))
    assert api.requests == []


def test_hotline_language_switch_plays_the_other_prompt_set(harness, api) -> None:
    call = harness.call([(M, "9"), (M, "1"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"), (M, "0")],
                        hotline_spec(api))  # fmt: skip
    assert call.result.language == "en"
    heard = call.caller.heard_with_language
    assert heard[:3] == [("zh", W), ("zh", M), ("en", M)]
    assert all(language == "en" for language, _ in heard[2:])
    balance = [prompt for _, prompt in heard[heard.index(("en", "your_balance_is")) :]]
    assert balance[:11] == [
        "your_balance_is", "say/12", "say/1000", "say/3", "say/100", "say/40", "say/5",
        "say/yuan", "say/60", "say/7", "say/fen",
    ]  # fmt: skip


SERVICE_BEFORE_LOOKUP = {
    "deposit": (
        [(M, "1"), (ID, DEPOSIT_ID + "#"), (PW, "123456#")],
        [*DEPOSIT[:-1]], [ID, PW],
    ),
    "loan": (
        [(M, "2"), (ID, ONE_LOAN_ID + "#"), (PW, "123456#")],
        [*LOAN[:-1]], [ID, PW],
    ),
    "password": (
        [(M, "3"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"), (NEW_PW, "654321#"),
         (CONFIRM_PW, "654321#")],
        [*PASSWORD, "passwords_match", "change_password"], [ID, PW, NEW_PW, CONFIRM_PW],
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("service", "failure"),
    [
        ("deposit", "server-error"),
        ("deposit", "silent"),
        ("loan", "server-error"),
        ("loan", "silent"),
        ("password", "server-error"),
        ("password", "silent"),
    ],
)
def test_hotline_lookup_failure_says_system_busy_and_returns_to_the_menu(
    harness, api, silent, service, failure
) -> None:
    if failure == "server-error":
        api.mode = "error"
        spec = hotline_spec(api)
    else:  # the node's 3 s timeout, in simulated seconds
        spec = hotline_spec(http=SimulatedTimeHttpClient(silent.base_url, LOOKUP_TOKEN, SPEED))
    script, nodes, prompts = SERVICE_BEFORE_LOOKUP[service]
    call = harness.call([*script, (M, "0")], spec)
    assert call.result.outcome == AGENT_QUEUE
    assert call.result.path == [*MENU, *nodes, "system_busy_menu", "main_menu", "to_agent"]
    assert call.heard == [W, M, *prompts, "system_busy", M, AGENT]
    error = call.result.variables["lookup_error"]
    assert ("HTTP 500" if failure == "server-error" else "timed out") in error


def test_hotline_id_check_failure_ends_the_call(harness, api) -> None:
    # The ID check is a registered function: without it the lookup takes its error branch.
    call = harness.call(
        [(M, "1"), (ID, DEPOSIT_ID + "#")], hotline_spec(api, lookups=LookupRegistry())
    )
    assert call.result.outcome == Hangup("system_busy")
    assert call.result.path == [*MENU, "deposit_start", "ask_id", "check_id", "system_busy"]
    assert call.heard == [W, M, ID, "system_busy", "goodbye"]


RECORD_FOR_3_S_THEN = [AwaitEvent("RECORD_START"), Pause(3)]


@pytest.mark.parametrize(
    ("moment", "notice", "node"),
    [
        pytest.param(shanghai(2024, 3, 6, 20), "closed", "closed_notice", id="outside-hours"),
        pytest.param(shanghai(2024, 3, 9, 10), "closed", "closed_notice", id="weekend"),
        pytest.param(shanghai(2024, 2, 12, 10), "holiday_closed", "holiday_notice",
                     id="holiday"),
    ],
)  # fmt: skip
def test_hotline_closed_leaves_a_message(harness, api, moment, notice, node) -> None:
    script = [("leave_message", [*RECORD_FOR_3_S_THEN, "#"])]
    call = harness.call(script, hotline_spec(api, at=moment))
    outcome = call.result.outcome
    assert isinstance(outcome, Voicemail)
    assert (outcome.group_id, outcome.queue) == (7, "hotline_12329")
    assert outcome.duration_seconds >= 3
    assert call.result.path == ["welcome", "block", "hours", node, "leave_message"]
    assert call.heard == [W, notice, "leave_message", TONE, "message_saved", "goodbye"]
    assert call.facts.of("voicemail_left")["path"] == outcome.recording_path
    assert Path(outcome.recording_path).exists()


@pytest.mark.parametrize(
    ("key", "label", "score"),
    [("1", "very_satisfied", 4), ("2", "satisfied", 3), ("3", "dissatisfied", 2),
     ("4", "unresolved", 1)],
)  # fmt: skip
def test_survey_answers(harness, key, label, score) -> None:
    call = harness.call([("survey_intro", key)], survey_spec(), "6000")
    assert call.result.outcome == Survey(key, label, score)
    assert call.result.digits == {"ask": [key]}
    assert call.heard == ["survey_intro", "survey_thanks", "goodbye"]
    scored = call.facts.of("survey_scored")
    assert (scored["score"], scored["agent_id"], scored["queue"]) == (score, 5, "hotline_12329")


def test_survey_invalid_key_then_answer(harness) -> None:
    call = harness.call([("survey_intro", "8"), ("survey_intro", "2")], survey_spec(), "6000")
    assert call.result.outcome == Survey("2", "satisfied", 3)
    assert call.heard == ["survey_intro", IC, "survey_intro", "survey_thanks", "goodbye"]


@pytest.mark.parametrize(
    "tries",
    [
        pytest.param(["8", "0"], id="invalid-keys"),
        pytest.param([WAIT, WAIT], id="no-answer"),
        pytest.param(["#", WAIT], id="pound-then-nothing"),
    ],
)
def test_survey_without_an_answer(harness, tries) -> None:
    call = harness.call([("survey_intro", keys) for keys in tries], survey_spec(), "6000")
    assert call.result.outcome == Survey(None, None, None)
    assert call.result.digits == {"ask": [""]}
    assert call.heard == ["survey_intro", IC, "survey_intro", IC]
    assert "survey_scored" not in call.facts.kinds()


def _recording_seconds(path: str) -> float:
    with wave.open(path, "rb") as handle:
        return handle.getnframes() / handle.getframerate()


@pytest.mark.parametrize(
    ("variables", "group_id", "queue"),
    [
        ({"group": 7}, 7, None),
        ({"group": "Hotline"}, 7, None),
        ({"queue": "hotline_12329"}, 7, "hotline_12329"),
        ({}, None, None),
    ],
)
def test_voicemail_flow_ended_by_pound(harness, variables, group_id, queue) -> None:
    script = [("leave_message", [*RECORD_FOR_3_S_THEN, "#"])]
    call = harness.call(script, voicemail_spec(**variables), "4000")
    outcome = call.result.outcome
    assert isinstance(outcome, Voicemail)
    assert (outcome.group_id, outcome.queue) == (group_id, queue)
    directory = harness.recordings_dir / "voicemail" / "2024" / "03" / "06"
    assert outcome.recording_path == str(directory / f"{call.caller.uuid}-100000.wav")
    # The switch wrote the message; record_ms gave its length.
    assert outcome.duration_seconds >= 3
    assert _recording_seconds(outcome.recording_path) >= 3
    assert call.heard == ["leave_message", TONE, "message_saved", "goodbye"]
    left = call.facts.of("voicemail_left")
    assert (left["group_id"], left["caller"]) == (group_id, "13912345678")
    assert left["duration"] == outcome.duration_seconds
    assert call.result.path == ["leave"]


def test_voicemail_flow_ended_by_hanging_up(harness) -> None:
    script = [("leave_message", [*RECORD_FOR_3_S_THEN, HANG_UP])]
    call = harness.call(script, voicemail_spec(queue="hotline_12329"), "4000")
    outcome = call.result.outcome
    assert isinstance(outcome, Voicemail)
    assert outcome.group_id == 7 and outcome.duration_seconds > 0
    assert Path(outcome.recording_path).exists()
    assert call.heard == ["leave_message", TONE]  # gone before "message saved"
    assert call.facts.of("voicemail_left")["path"] == outcome.recording_path
    assert call.facts.of("ivr_path")["exit"] == "voicemail"


def test_voicemail_flow_hang_up_before_the_tone_leaves_nothing(harness) -> None:
    call = harness.call([("leave_message", HANG_UP)], voicemail_spec(group=7), "4000")
    assert_hung_up_by_caller(call, ["leave"])
    assert call.facts.kinds() == ["ivr_path"]


# == hanging up mid-flow =========================================================================


EVENING = shanghai(2024, 3, 6, 20)


@pytest.mark.parametrize(
    ("script", "at", "path"),
    [
        pytest.param([(W, HANG_UP)], WEDNESDAY_10AM, ["welcome"], id="during-the-welcome"),
        pytest.param([(M, HANG_UP)], WEDNESDAY_10AM, MENU, id="during-the-menu-prompt"),
        pytest.param([(M, [AFTER_PROMPT, HANG_UP])], WEDNESDAY_10AM, MENU,
                     id="while-the-menu-waits-for-a-key"),
        pytest.param([(M, "7"), (IC, HANG_UP)], WEDNESDAY_10AM, MENU,
                     id="during-the-invalid-choice-prompt"),
        pytest.param([(M, "1"), (ID, [AFTER_PROMPT, "110105", HANG_UP])], WEDNESDAY_10AM,
                     [*MENU, "deposit_start", "ask_id"], id="while-keying-the-id-number"),
        pytest.param([(M, "1"), (ID, DEPOSIT_ID + "#"), (PW, [AFTER_PROMPT, HANG_UP])],
                     WEDNESDAY_10AM, [*MENU, "deposit_start", *TO_PASSWORD[:4]],
                     id="while-the-password-is-awaited"),
        pytest.param([(M, "1"), (ID, DEPOSIT_ID + "#"), (PW, "123456#"),
                      ("your_balance_is", HANG_UP)], WEDNESDAY_10AM,
                     [*MENU, *DEPOSIT, "say_balance"], id="during-the-balance-read-back"),
        pytest.param([(M, "0"), (AGENT, HANG_UP)], WEDNESDAY_10AM, [*MENU, "to_agent"],
                     id="during-the-transfer-prompt"),
        pytest.param([("closed", HANG_UP)], EVENING, ["welcome", "block", "hours",
                                                       "closed_notice"],
                     id="during-the-closed-notice"),
        pytest.param([("leave_message", HANG_UP)], EVENING,
                     ["welcome", "block", "hours", "closed_notice", "leave_message"],
                     id="during-the-message-prompt"),
    ],
)  # fmt: skip
def test_hotline_caller_hangs_up(harness, api, script, at, path) -> None:
    call = harness.call(script, hotline_spec(api, at=at))
    assert_hung_up_by_caller(call, path)
    # The node the caller left in recorded no input.
    assert path[-1] not in call.result.digits


def test_hotline_caller_hangs_up_during_the_id_check_lookup(harness, api) -> None:
    def check_and_hang_up(params: Any) -> dict[str, Any]:
        harness.caller.hangup()  # the caller is gone while the lookup runs
        return default_registry().call("check_id_number", params)

    lookups = LookupRegistry({"check_id_number": check_and_hang_up})
    call = harness.call([(M, "1"), (ID, DEPOSIT_ID + "#")], hotline_spec(api, lookups=lookups))
    # The lookup's answer is kept; the next node that uses the call notices the hang-up.
    assert call.result.variables["id_valid"] is True
    assert_hung_up_by_caller(call, [*MENU, "deposit_start", *TO_PASSWORD[:4]])


def test_hotline_caller_hangs_up_during_the_http_lookup(harness, api) -> None:
    hub = gevent.get_hub()

    def hang_up_from_the_server_thread() -> None:
        # The request has arrived: the caller hangs up before the answer is sent.
        hub.loop.run_callback_threadsafe(gevent.spawn, harness.caller.hangup)

    api.before_reply = hang_up_from_the_server_thread
    script = [(M, "1"), (ID, DEPOSIT_ID + "#"), (PW, "123456#")]
    call = harness.call(script, hotline_spec(api))
    assert call.result.variables["balance"] == "12345.67"
    assert_hung_up_by_caller(call, [*MENU, *DEPOSIT, "say_balance"])


def test_hotline_caller_hangs_up_during_the_recording_keeps_the_message(harness, api) -> None:
    script = [("leave_message", [*RECORD_FOR_3_S_THEN, HANG_UP])]
    call = harness.call(script, hotline_spec(api, at=EVENING))
    # Hanging up is how callers end a message: the outcome is the message, not a hang-up.
    outcome = call.result.outcome
    assert isinstance(outcome, Voicemail) and outcome.duration_seconds > 0
    assert call.result.path == ["welcome", "block", "hours", "closed_notice", "leave_message"]
    assert call.heard == [W, "closed", "leave_message", TONE]
    assert call.facts.of("voicemail_left")["group_id"] == 7


def test_survey_caller_hangs_up(harness) -> None:
    call = harness.call([("survey_intro", [AFTER_PROMPT, HANG_UP])], survey_spec(), "6000")
    assert_hung_up_by_caller(call, ["ask"])
    assert "survey_scored" not in call.facts.kinds()


# == the simulator's play_and_get_digits, held to FreeSWITCH ======================================

PAGD_DIALPLAN = """
<include>
  <context name="public">
    <extension name="pagd">
      <condition field="destination_number" expression="^(\\d+)$">
        <action application="answer"/>
        <action application="play_and_get_digits" data="${pagd_arguments}"/>
        <action application="hangup"/>
      </condition>
    </extension>
  </context>
</include>
"""
PAGD_PROMPT, PAGD_INVALID = "tone_stream://%(1000,0,440)", "tone_stream://%(300,0,300)"


@pytest.mark.parametrize(
    ("regexp", "keys", "collected"),
    [
        pytest.param("\\d", "12", "12", id="unanchored-search"),
        pytest.param("^\\d$", "12", None, id="anchored-by-the-caller"),
        pytest.param("^(?:[0-9]{2})$", "12", "12", id="esl-media-style"),
        pytest.param("/^1\\d$/", "12", "12", id="slash-form"),
        pytest.param("/^2/", "12", None, id="slash-form-no-match"),
    ],
)
def test_simulator_play_and_get_digits_regexp_is_a_pcre_search(regexp, keys, collected) -> None:
    """switch_regex_match runs pcre_exec unanchored: ``\\d`` accepts ``12``. EslMedia
    anchors flow patterns itself, which only matters because the switch searches."""
    simulator = SwitchSimulator(dialplan_xml=PAGD_DIALPLAN, speed=SPEED).start()
    try:
        caller = SimulatedCaller(simulator, caller_id_number="13912345678")
        caller.when(lambda: caller.press(keys), prompt=PAGD_PROMPT)
        arguments = f"1 2 1 2000 # {PAGD_PROMPT} {PAGD_INVALID} choice {regexp} 1000"
        caller.dial("1", context="public", variables={"pagd_arguments": arguments})
        assert caller.wait_hangup(timeout=10)
        assert caller.channel is not None
        assert caller.channel.variables.get("choice") == collected
        # One failed try: the invalid prompt still plays after it.
        assert caller.prompts == [PAGD_PROMPT] + ([PAGD_INVALID] if collected is None else [])
    finally:
        simulator.stop()


def test_voicemail_flow_hang_up_as_the_tone_ends_leaves_nothing(harness) -> None:
    """Gone after the tone but before the switch started recording: no message was left, so
    none may be reported (the runner would announce an empty recording to the group)."""
    call = harness.call([("leave_message", [AFTER_PROMPT, HANG_UP])], voicemail_spec(group=7),
                        "4000")  # fmt: skip
    assert_hung_up_by_caller(call, ["leave"])
    assert call.facts.kinds() == ["ivr_path"]
    assert "RECORD_START" not in call.caller.events


# The playback and record applications read DTMF through mod_dptools' on_dtmf: each key is
# consumed; a key among ``playback_terminators`` (default ``*``; EslMedia sets ``#`` before
# recording) ends the application, any other key is dropped.
PLAY_THEN_MENU = flow(
    "play_then_menu",
    "intro",
    intro={"type": "play", "prompts": ["welcome_12329"], "next": "menu"},
    menu={
        "type": "menu", "prompts": ["main_menu"], "invalid_prompts": ["invalid_choice"],
        "tries": 1, "timeout": 2, "options": {"1": "one", "*": "star"}, "failure": "no_key",
    },
    one={"type": "hangup", "reason": "one"},
    star={"type": "hangup", "reason": "star"},
    no_key={"type": "hangup", "reason": "no_key"},
)  # fmt: skip


@pytest.mark.parametrize(
    ("key", "terminator_used"),
    [
        pytest.param("1", None, id="other-key-dropped"),
        pytest.param("*", "*", id="terminator-ends-the-playback"),
    ],
)
def test_simulator_playback_consumes_keys(harness, key, terminator_used) -> None:
    call = harness.call([(W, key)], flow_spec(PLAY_THEN_MENU), "5000")
    # The key never reaches the menu after the playback.
    assert call.result.outcome == Hangup("no_key")
    assert call.result.digits["menu"] == [""]
    assert call.heard == [W, M, IC]
    assert call.caller.channel is not None
    assert call.caller.channel.variables.get("playback_terminator_used") == terminator_used


def test_simulator_recording_ends_at_the_terminator_only(harness) -> None:
    actions = [AwaitEvent("RECORD_START"), Pause(2), "5", Pause(3), "#"]
    call = harness.call([("leave_message", actions)], voicemail_spec(group=7), "4000")
    outcome = call.result.outcome
    assert isinstance(outcome, Voicemail)
    assert outcome.duration_seconds >= 5  # the 5 did not end the message
    assert call.heard == ["leave_message", TONE, "message_saved", "goodbye"]
