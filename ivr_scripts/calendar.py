"""Business-hours evaluation against a calendar from the configuration snapshot.

A calendar (see telephony/snapshot.py) has weekly ``hours`` ``[weekday, "HH:MM", "HH:MM"]``
(Monday = 0, end exclusive), ``holidays`` ``[name, first day, last day]`` and one-off
``exceptions`` ``{"date", "kind": "open"|"closed", "start", "end"}``. For a given local time
(Asia/Shanghai unless told otherwise) an exception for that date decides first (调休: a
working Saturday, or a closed weekday), then holidays, then the weekly hours.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

CENTER_TIME_ZONE = ZoneInfo("Asia/Shanghai")


class Opening(StrEnum):
    """Why a calendar is open or closed at a moment."""

    OPEN = "open"
    CLOSED = "closed"
    HOLIDAY = "holiday"


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def evaluate_calendar(
    calendar: Mapping[str, Any], moment: dt.datetime, time_zone: dt.tzinfo = CENTER_TIME_ZONE
) -> Opening:
    """Whether ``calendar`` is open at ``moment`` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError("the moment must carry a time zone")
    local = moment.astimezone(time_zone)
    today, now = local.date(), local.time()
    for exception in calendar.get("exceptions", ()):
        if dt.date.fromisoformat(exception["date"]) != today:
            continue
        if exception["kind"] == "closed":
            if exception.get("start") and exception.get("end"):
                # A partly closed day: closed only in that window, weekly hours otherwise.
                if _time(exception["start"]) <= now < _time(exception["end"]):
                    return Opening.CLOSED
                break
            return Opening.CLOSED
        open_now = _time(exception["start"]) <= now < _time(exception["end"])
        return Opening.OPEN if open_now else Opening.CLOSED
    for _name, first, last in calendar.get("holidays", ()):
        if dt.date.fromisoformat(first) <= today <= dt.date.fromisoformat(last):
            return Opening.HOLIDAY
    for weekday, start, end in calendar.get("hours", ()):
        if weekday == today.weekday() and _time(start) <= now < _time(end):
            return Opening.OPEN
    return Opening.CLOSED
