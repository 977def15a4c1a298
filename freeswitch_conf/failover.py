"""The switch's own record of a call that reached the failover ring group.

When no daemon handles a call (none runs, or the one holding it died), the public dialplan
rings the failover group (templates/dialplan/public/00_callcenter.xml.j2). No daemon sees
that call, so the switch keeps its record: the failover sets ``api_hangup_hook`` to a
mod_db ``db insert``, which FreeSWITCH runs once the call has hung up (in its hangup state,
after it has set the channel's times and ``hangup_cause``, before CHANNEL_HANGUP_COMPLETE).
mod_db keeps the row in the switch's core database, so it outlives a switch restart too,
until a daemon reads it (cti/failover.py) and deletes it.

The row: realm ``cc_failover``, key the call's uuid, value ``v1|<start_uepoch>|
<answer_uepoch>|<end_uepoch>|<hangup_cause>|<dialled number>|<caller's number>``. The
uuid is expanded when the ``set`` runs. The rest must outlive two expansions there: the
executor expands an application's data, and ``set`` expands its value again (base_set in
mod_dptools). So each is written ``\\\\\\${...}``: the first expansion makes ``\\\\`` one
backslash and ``\\$`` a plain ``$``, the second leaves ``${...}``, and the hook expands it
at hangup. Checked on FreeSWITCH 1.10.12: with a single backslash every field came out
empty; with three they held the call's times. The caller's number comes last: it is
the one field that could hold the separator. mod_db splits its argument on ``/`` into at
most four parts, so a ``/`` in the value is kept; ``db select`` returns at most 255 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

REALM = "cc_failover"
VERSION = "v1"
SEPARATOR = "|"
# What is stored, in order, after the version: channel variables, then two headers of the
# channel's event. The hook expands against an event (switch_event_expand_headers), where
# the profile's fields are headers only: ``${caller_id_number}`` would come out empty
# (seen on 1.10.12).
FIELDS = (
    "start_uepoch",
    "answer_uepoch",
    "end_uepoch",
    "hangup_cause",
    "cc_failover_uepoch",  # set when the call reached the failover (FAILOVER_TIME_VARIABLE)
    "bridge_uepoch",  # the last bridge: the ring group's answer if after the one above
    "Caller-Destination-Number",
    "Caller-Caller-ID-Number",
)
# The failover's first action sets it to the time (``${strmicroepoch()}``, mod_dptools).
FAILOVER_TIME_VARIABLE = "cc_failover_uepoch"
# ``\\\$``: a ``$`` that two expansions leave as ``$`` (see above).
_TWICE_ESCAPED_DOLLAR = "\\\\\\$"


def hangup_hook() -> str:
    """The ``api_hangup_hook`` value the failover dialplan sets."""
    values = SEPARATOR.join(f"{_TWICE_ESCAPED_DOLLAR}{{{name}}}" for name in FIELDS)
    return f"db insert/{REALM}/${{uuid}}/{VERSION}{SEPARATOR}{values}"


@dataclass(frozen=True)
class FailoverRecord:
    """One stored row, read back: times in epoch seconds, ``answered_at`` None when the
    call was never answered (FreeSWITCH's answer_uepoch is 0 then)."""

    call_uuid: str
    started_at: float
    answered_at: float | None
    ended_at: float
    hangup_cause: str
    destination: str
    caller: str
    # When somebody in the ring group answered (None: nobody did).
    group_answered_at: float | None = None

    @property
    def talk_seconds(self) -> float:
        """The talk with the ring group."""
        if self.group_answered_at is None:
            return 0.0
        return max(0.0, self.ended_at - self.group_answered_at)

    @classmethod
    def parse(cls, call_uuid: str, value: str) -> FailoverRecord:
        """Raises ValueError when ``value`` is not a row this module writes."""
        version, _, rest = value.strip().partition(SEPARATOR)
        if version != VERSION:
            raise ValueError(f"not a {VERSION} failover record: {value!r}")
        parts = rest.split(SEPARATOR, len(FIELDS) - 1)
        if len(parts) != len(FIELDS):
            raise ValueError(f"failover record with {len(parts)} fields: {value!r}")
        start, answer, end, cause, failed_over, bridge, destination, caller = parts
        started = _seconds(start)
        if started is None:
            raise ValueError(f"failover record without a start time: {value!r}")
        ended = _seconds(end)
        bridged, since = _seconds(bridge), _seconds(failed_over)
        # A bridge before the failover was a daemon's agent's, not the group's.
        group_answered = bridged if bridged is not None and bridged >= (since or 0) else None
        return cls(
            call_uuid=call_uuid,
            started_at=started,
            answered_at=_seconds(answer),
            ended_at=started if ended is None else max(ended, started),
            hangup_cause=cause or "NORMAL_CLEARING",
            destination=destination,
            caller=caller,
            group_answered_at=group_answered,
        )


def _seconds(microseconds: str) -> float | None:
    """Epoch microseconds as FreeSWITCH prints them; None for 0 or empty (not happened)."""
    text = microseconds.strip()
    if not text:
        return None
    value = int(text)
    if value < 0:
        raise ValueError(f"negative time {text!r}")
    return value / 1e6 if value else None
