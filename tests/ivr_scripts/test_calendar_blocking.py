"""Business-hours calendars (holidays, exceptions, time zone) and blacklist matching."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr_scripts.blocking import find_block, normalize_number
from ivr_scripts.calendar import Opening, evaluate_calendar

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
CALENDAR = {
    "hours": [[0, "09:00", "12:00"], [0, "13:00", "17:30"], [5, "10:00", "12:00"]],
    "holidays": [["National Day", "2024-10-01", "2024-10-07"]],
    "exceptions": [
        {"date": "2024-10-12", "kind": "open", "start": "09:00", "end": "17:00"},
        {"date": "2024-10-14", "kind": "closed", "start": None, "end": None},
        {"date": "2024-10-21", "kind": "closed", "start": "15:00", "end": "17:30"},
        {"date": "2024-10-05", "kind": "open", "start": "10:00", "end": "11:00"},
    ],
}


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2024-10-28 09:00", Opening.OPEN),  # Monday, opening minute
        ("2024-10-28 12:30", Opening.CLOSED),  # lunch break
        ("2024-10-28 17:30", Opening.CLOSED),  # end is exclusive
        ("2024-10-26 11:00", Opening.OPEN),  # Saturday morning hours
        ("2024-10-27 11:00", Opening.CLOSED),  # Sunday
        ("2024-10-02 10:00", Opening.HOLIDAY),
        ("2024-10-05 10:30", Opening.OPEN),  # exception beats the holiday
        ("2024-10-05 11:30", Opening.CLOSED),
        ("2024-10-12 16:00", Opening.OPEN),  # a working Saturday (调休)
        ("2024-10-14 10:00", Opening.CLOSED),  # a closed Monday
        ("2024-10-21 10:00", Opening.OPEN),  # partly closed Monday: morning open
        ("2024-10-21 15:30", Opening.CLOSED),
    ],
)
def test_calendar(local, expected) -> None:
    moment = dt.datetime.fromisoformat(local).replace(tzinfo=SHANGHAI)
    assert evaluate_calendar(CALENDAR, moment) is expected


def test_calendar_converts_to_shanghai_time_and_needs_a_time_zone() -> None:
    # Monday 01:30 UTC is 09:30 in Shanghai.
    assert (
        evaluate_calendar(CALENDAR, dt.datetime(2024, 10, 28, 1, 30, tzinfo=dt.UTC)) is Opening.OPEN
    )
    with pytest.raises(ValueError):
        evaluate_calendar(CALENDAR, dt.datetime(2024, 10, 28, 9, 30))


NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=SHANGHAI)


def entry(pattern, match="exact", direction="in", category="blacklist", action="notice",
          expires=None):  # fmt: skip
    return {"pattern": pattern, "match": match, "direction": direction, "category": category,
            "action": action, "expires_at": expires.isoformat() if expires else None}  # fmt: skip


def test_exact_and_country_code_spellings() -> None:
    entries = [entry("13800138000")]
    assert find_block(entries, "+8613800138000", "in", NOW) is not None
    assert find_block(entries, "008613800138000", "in", NOW) is not None
    assert find_block(entries, "138-0013-8000", "in", NOW) is not None
    assert find_block(entries, "13800138001", "in", NOW) is None
    assert find_block(entries, "", "in", NOW) is None
    assert normalize_number(" +86 138 ") == "+86138"


def test_prefix_direction_and_priority() -> None:
    entries = [
        entry("0755", match="prefix", direction="in", action="notice"),
        entry("075512345678", direction="both", category="harassment", action="drop"),
        entry("400", match="prefix", direction="out"),
    ]
    assert find_block(entries, "075599999999", "in", NOW).action == "notice"
    specific = find_block(entries, "075512345678", "in", NOW)
    assert (specific.category, specific.action) == ("harassment", "drop")
    assert find_block(entries, "075599999999", "out", NOW) is None
    assert find_block(entries, "4001234567", "out", NOW) is not None
    assert find_block(entries, "4001234567", "in", NOW) is None


def test_harassment_block_lapses_by_itself() -> None:
    until = NOW + dt.timedelta(hours=1)
    entries = [entry("13900000000", category="harassment", action="drop", expires=until)]
    assert find_block(entries, "13900000000", "in", NOW) is not None
    assert find_block(entries, "13900000000", "in", until - dt.timedelta(seconds=1)) is not None
    assert find_block(entries, "13900000000", "in", until) is None
    assert find_block(entries, "13900000000", "in", until + dt.timedelta(days=1)) is None
