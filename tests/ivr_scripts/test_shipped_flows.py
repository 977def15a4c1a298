"""Every path of the shipped flows (ivr_scripts/flows/) with digit sequences, retries,
timeouts and hang-ups, through the runner and the fake media."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr_scripts.lookups import default_registry
from ivr_scripts.media import HANGUP, FakeMedia
from ivr_scripts.runner import CallContext, FlowRunner, Hangup, Queue, Survey, Voicemail

from .helpers import (
    SHANGHAI,
    WEDNESDAY_10AM,
    FakeHousingFundApi,
    RecordingFacts,
    config,
    library,
    shipped_flow,
    weekday_calendar,
)

HOTLINE = shipped_flow("hotline_12329")
DEPOSIT_ID = "11010519491231002*"  # the X check digit keyed as *
LOAN_ID = "440304198001011239"
BAD_CHECKSUM_ID = "110105194912310021"


def hotline(inputs, *, at=WEDNESDAY_10AM, api=None, blacklist=None, facts=None,
            language="zh", **media_options):  # fmt: skip
    media = FakeMedia(inputs=list(inputs), **media_options)
    calendar = weekday_calendar(holidays=[["Spring Festival", "2024-02-10", "2024-02-17"]])
    runner = FlowRunner(
        flows=library(HOTLINE),
        config=config(blacklist=blacklist, calendars=[calendar]),
        lookups=default_registry(),
        http=api if api is not None else FakeHousingFundApi(),
        facts=facts,
        recordings_dir="/rec",
        clock=lambda: at,
    )
    context = CallContext("call-1", "13912345678", "hotline_12329", language, "12329", 1)
    return runner.run(media, context), media


def test_agent() -> None:
    result, media = hotline(["0"])
    assert result.outcome == Queue("hotline_12329", 0, ("housing_fund",))
    assert media.heard == ["welcome_12329", "main_menu", "transferring_to_agent"]
    assert result.path == ["welcome", "block", "hours", "main_menu", "to_agent"]


def test_deposit_balance_read_back_then_agent() -> None:
    api = FakeHousingFundApi()
    facts = RecordingFacts()
    result, media = hotline(["1", DEPOSIT_ID, "123456#", "0"], api=api, facts=facts)
    assert result.outcome == Queue("hotline_12329", 0, ("housing_fund",))
    assert api.calls == [
        ("deposit-balance/", {"id_number": "11010519491231002X", "password": "123456"})
    ]
    heard = media.heard
    start = heard.index("your_balance_is")
    assert heard[start : start + 14] == [
        "your_balance_is", "say/1", "say/10000", "say/liang", "say/1000", "say/3", "say/100",
        "say/4", "say/10", "say/5", "say/yuan", "say/6", "say/jiao", "say/7",
    ]  # fmt: skip
    path = facts.of("ivr_path")
    assert path["digits"]["ask_password"] == ["***"]
    assert path["digits"]["ask_id"] == ["11010519491231002*"]
    assert "password" not in path["variables"]
    assert path["exit"] == "queue:hotline_12329"


def test_deposit_wrong_password_returns_to_menu() -> None:
    result, media = hotline(["1", DEPOSIT_ID, "999999", HANGUP])
    assert "wrong_id_or_password" in media.heard
    assert result.outcome.caller_hung_up
    assert result.path[-2:] == ["wrong_credentials", "main_menu"]


def test_deposit_lookup_timeout_says_system_busy() -> None:
    result, media = hotline(["1", DEPOSIT_ID, "123456", "0"], api=FakeHousingFundApi(fail=True))
    assert "system_busy" in media.heard
    assert result.outcome == Queue("hotline_12329", 0, ("housing_fund",))
    assert "system_busy_menu" in result.path


def test_loan_query_reads_remaining_monthly_and_due_date() -> None:
    result, media = hotline(["2", LOAN_ID + "#", "123456#", HANGUP])
    heard = media.heard
    assert "loan_remaining_is" in heard and "loan_monthly_payment_is" in heard
    due = heard.index("loan_next_due_is")
    assert heard[due + 1 : due + 11] == [
        "say/2", "say/0", "say/2", "say/4", "say/year", "say/4", "say/month", "say/10",
        "say/5", "say/day",
    ]  # fmt: skip
    assert result.path[-3:] == ["say_loan_due", "after_query", "main_menu"]


def test_loan_query_without_loans() -> None:
    _, media = hotline(["2", DEPOSIT_ID, "123456", HANGUP])
    assert "no_loan" in media.heard


def test_password_change_success_and_new_password_works() -> None:
    api = FakeHousingFundApi()
    result, media = hotline(
        ["3", DEPOSIT_ID, "123456", "654321", "654321", "1", DEPOSIT_ID, "654321", HANGUP],
        api=api,
    )
    assert "password_changed" in media.heard
    assert api.calls[0] == (
        "change-password/",
        {"id_number": "11010519491231002X", "password": "123456", "new_password": "654321"},
    )
    assert api.calls[1][0] == "deposit-balance/"
    assert "say_balance" in result.path


def test_password_change_mismatch() -> None:
    api = FakeHousingFundApi()
    _, media = hotline(["3", DEPOSIT_ID, "123456", "654321", "111111", HANGUP], api=api)
    assert "password_mismatch" in media.heard
    assert api.calls == []


def test_password_change_wrong_old_password() -> None:
    _, media = hotline(["3", DEPOSIT_ID, "000000", "654321", "654321", HANGUP])
    assert "wrong_id_or_password" in media.heard


def test_id_number_retries_and_checksum_failures() -> None:
    # short input, then timeout, then a number whose check digit is wrong (three times).
    result, media = hotline(["1", "1234#", None, BAD_CHECKSUM_ID, BAD_CHECKSUM_ID, BAD_CHECKSUM_ID])
    assert result.outcome == Hangup("too_many_errors")
    assert media.heard.count("invalid_id_number") == 2 + 2  # between tries + two bad checks
    assert result.path.count("count_bad_id") == 3


def test_id_number_never_entered() -> None:
    result, _ = hotline(["1", None, None, None])
    assert result.outcome == Hangup("too_many_errors")


def test_password_never_entered() -> None:
    result, _ = hotline(["1", DEPOSIT_ID, "12#", None, "1"])
    assert result.outcome == Hangup("too_many_errors")


def test_menu_invalid_then_timeout_then_failure() -> None:
    result, media = hotline(["7", None, "8"])
    assert result.outcome == Hangup("too_many_errors")
    assert media.heard.count("invalid_choice") == 3  # after each failed try, as FreeSWITCH
    assert media.heard[-3:] == ["invalid_choice", "too_many_errors", "goodbye"]


def test_language_switch_plays_english_prompts() -> None:
    result, media = hotline(["9", "0"])
    played = [p for kind, item in media.log if kind == "play" for p in item]
    assert played[-1].value == "transferring_to_agent" and played[-1].language == "en"
    assert result.language == "en"
    result, _ = hotline(["9", "9", "0"])
    assert result.language == "zh"


@pytest.mark.parametrize(
    ("moment", "notice"),
    [
        (dt.datetime(2024, 3, 6, 20, 0, tzinfo=SHANGHAI), "closed"),
        (dt.datetime(2024, 2, 12, 10, 0, tzinfo=SHANGHAI), "holiday_closed"),
    ],
)
def test_outside_hours_leaves_a_message(moment, notice) -> None:
    facts = RecordingFacts()
    result, media = hotline([], at=moment, facts=facts, recording_seconds=9.0)
    assert isinstance(result.outcome, Voicemail)
    assert result.outcome.group_id == 7 and result.outcome.queue == "hotline_12329"
    assert media.heard[:3] == ["welcome_12329", notice, "leave_message"]
    assert media.heard[-2:] == ["message_saved", "goodbye"]
    assert facts.of("voicemail_left")["duration"] == 9.0


def test_blacklisted_and_harassing_callers() -> None:
    entry = {"pattern": "13912345678", "match": "exact", "direction": "in",
             "category": "harassment", "action": "notice", "expires_at": None}  # fmt: skip
    result, media = hotline([], blacklist=[entry])
    assert result.outcome == Hangup("harassment")
    assert media.heard == ["welcome_12329", "harassment_notice"]
    result, media = hotline([], blacklist=[{**entry, "category": "blacklist"}])
    assert media.heard == ["welcome_12329", "blocked_notice"]
    result, media = hotline([], blacklist=[{**entry, "action": "drop"}])
    assert media.heard == ["welcome_12329"] and media.hangup_cause == "CALL_REJECTED"
    lapsed = {**entry, "expires_at": (WEDNESDAY_10AM - dt.timedelta(seconds=1)).isoformat()}
    result, _ = hotline(["0"], blacklist=[lapsed])
    assert result.outcome == Queue("hotline_12329", 0, ("housing_fund",))


@pytest.mark.parametrize("operation", range(6))
def test_hang_up_mid_flow_at_every_step(operation) -> None:
    facts = RecordingFacts()
    result, _ = hotline(["1", DEPOSIT_ID, "123456", "0"], hang_up_at=operation, facts=facts)
    assert result.outcome == Hangup("caller_hung_up", caller_hung_up=True)
    assert facts.of("ivr_path")["exit"] == "caller_hangup"


SURVEY = shipped_flow("survey")


def survey(inputs, facts=None):
    runner = FlowRunner(
        flows=library(SURVEY), config=config(), facts=facts, clock=lambda: WEDNESDAY_10AM
    )
    media = FakeMedia(inputs=list(inputs))
    context = CallContext.for_flow("survey", "call-2", "139", agent_id=5, queue="hotline_12329")
    return runner.run(media, context), media


@pytest.mark.parametrize(
    ("key", "label", "score"),
    [
        ("1", "very_satisfied", 4),
        ("2", "satisfied", 3),
        ("3", "dissatisfied", 2),
        ("4", "unresolved", 1),
    ],  # fmt: skip
)
def test_survey_answers(key, label, score) -> None:
    facts = RecordingFacts()
    result, media = survey([key], facts)
    assert result.outcome == Survey(key, label, score)
    assert facts.of("survey_scored")["score"] == score
    assert facts.of("survey_scored")["agent_id"] == 5
    assert media.heard == ["survey_intro", "survey_thanks", "goodbye"]


def test_survey_retry_timeout_and_hangup() -> None:
    result, media = survey(["8", "2"])
    assert result.outcome == Survey("2", "satisfied", 3)
    assert media.heard[:3] == ["survey_intro", "invalid_choice", "survey_intro"]
    result, _ = survey([None, None])
    assert result.outcome == Survey(None, None, None)
    result, _ = survey([HANGUP])
    assert result.outcome.caller_hung_up


VOICEMAIL = shipped_flow("voicemail")


@pytest.mark.parametrize(
    ("variables", "group_id"),
    [({"group": 7}, 7), ({"group": "Hotline"}, 7), ({"queue": "hotline_12329"}, 7), ({}, None)],
)
def test_voicemail_flow_for_group_or_queue(variables, group_id) -> None:
    facts = RecordingFacts()
    runner = FlowRunner(flows=library(VOICEMAIL), config=config(), facts=facts,
                        recordings_dir="/rec", clock=lambda: WEDNESDAY_10AM)  # fmt: skip
    media = FakeMedia(recording_seconds=20.0)
    context = CallContext.for_flow("voicemail", "call-3", "139", **variables)
    result = runner.run(media, context)
    assert isinstance(result.outcome, Voicemail)
    assert result.outcome.group_id == group_id
    assert facts.of("voicemail_left")["path"] == result.outcome.recording_path
    assert media.heard[0] == "leave_message"
    assert media.heard[1].startswith("tone_stream://")


def test_voicemail_flow_hangup_before_the_tone() -> None:
    facts = RecordingFacts()
    runner = FlowRunner(flows=library(VOICEMAIL), config=config(), facts=facts,
                        clock=lambda: WEDNESDAY_10AM)  # fmt: skip
    result = runner.run(FakeMedia(hang_up_at=0), CallContext.for_flow("voicemail", "c", "1"))
    assert result.outcome.caller_hung_up
    assert facts.kinds() == ["ivr_path"]
