"""Current live state read back from the Redis hashes the daemon writes (for page resyncs).

The daemon is the only writer (ARCHITECTURE rule 1); these readers never change anything.
Keys: `cc:agent:<id>` (docs/acd.md) and `cc:live:call:<uuid>` with index `cc:live:calls`
(cti/notify.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import redis
from django.conf import settings

from cti.notify import CALL_KEY, CALLS_INDEX

AGENT_KEY = "cc:agent:"
LOGGED_OUT = "logged_out"


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def today_stamp(now: dt.datetime | None = None) -> str:
    """YYYYMMDD in the center's timezone: the ACD's day counters belong to one such day."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(ZoneInfo(settings.TIME_ZONE)).strftime("%Y%m%d")


def agent_state(fields: dict[str, str], agent_id: int) -> dict[str, Any]:
    """An agent hash as the pages show it; counters of another day read as zero."""
    same_day = fields.get("day") == today_stamp()
    return {
        "agent_id": agent_id,
        "state": fields.get("status") or LOGGED_OUT,
        "reason": fields.get("reason", ""),
        "extension": fields.get("extension", ""),
        "registered": fields.get("registered") == "1",
        "call_uuid": fields.get("call", ""),
        "since": _float(fields.get("changed_at")),
        "calls_today": int(fields.get("calls_today") or 0) if same_day else 0,
        "talk_today": _float(fields.get("talk_today")) or 0.0 if same_day else 0.0,
    }


def agent_states(client: redis.Redis, agent_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Live state of several agents in one round trip."""
    ids = list(agent_ids)
    pipe = client.pipeline(transaction=False)
    for agent_id in ids:
        pipe.hgetall(f"{AGENT_KEY}{agent_id}")
    return {
        agent_id: agent_state(fields, agent_id)
        for agent_id, fields in zip(ids, pipe.execute(), strict=True)
    }


def live_calls(client: redis.Redis) -> list[dict[str, str]]:
    """Every call the daemon holds now (index set + one hash per call)."""
    uuids: list[str] = sorted(client.smembers(CALLS_INDEX))  # type: ignore[arg-type]
    pipe = client.pipeline(transaction=False)
    for call_uuid in uuids:
        pipe.hgetall(CALL_KEY + call_uuid)
    return [fields for fields in pipe.execute() if fields]


def call_of_agent(client: redis.Redis, agent_id: int) -> dict[str, str] | None:
    """The live call the agent is on (or being offered), if any."""
    call_uuid: str | None = client.hget(f"{AGENT_KEY}{agent_id}", "call")  # type: ignore[assignment]
    if call_uuid:
        fields: dict[str, str] = client.hgetall(CALL_KEY + call_uuid)  # type: ignore[assignment]
        if fields:
            return fields
    for call in live_calls(client):
        if call.get("agent_id") == str(agent_id):
            return call
    return None
