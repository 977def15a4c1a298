"""What a supervisor sees and may do: only the agents and queues of the groups it supervises.

The daemon authorizes every intervention again and audits it (a `supervisor_action` fact);
the page only lists what the supervisor may touch, and the view refuses other agents before
anything reaches the daemon.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import redis
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.rules import is_admin
from cti.control.client import CommandClient
from cti.control.protocol import SUPERVISOR_ACTIONS
from cti.models import QueueEntry, QueueOutcome
from desk import live
from desk.services import DeskReply, send_command
from telephony.models import Agent, AgentGroup, Queue

EAVESDROP_ACTIONS = ("listen", "whisper", "barge")


def supervised_groups(user) -> QuerySet[AgentGroup]:
    """Admins see every group; supervisors the groups they supervise."""
    if is_admin(user):
        return AgentGroup.objects.all()
    return AgentGroup.objects.filter(supervisors=user)


def visible_agents(user) -> QuerySet[Agent]:
    groups = supervised_groups(user)
    return (
        Agent.objects.filter(groupmembership__group__in=groups, enabled=True)
        .distinct()
        .order_by("employee_number")
    )


def visible_queues(user) -> QuerySet[Queue]:
    return Queue.objects.filter(group__in=supervised_groups(user)).order_by("code")


def queue_counters_today(codes: list[str], now: dt.datetime | None = None) -> dict[str, dict]:
    """Today's service level and abandon rate per queue, from stored queue entries."""
    now = timezone.localtime(now or timezone.now())
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    thresholds = dict(
        Queue.objects.filter(code__in=codes).values_list("code", "service_level_seconds")
    )
    result: dict[str, dict] = {}
    rows = (
        QueueEntry.objects.filter(queue__in=codes, entered_at__gte=start)
        .exclude(outcome=QueueOutcome.WAITING)
        .values("queue", "outcome", "wait_seconds")
    )
    totals: dict[str, dict[str, int]] = {
        code: {"offered": 0, "answered": 0, "in_level": 0, "abandoned": 0} for code in codes
    }
    for row in rows:
        counter = totals[row["queue"]]
        counter["offered"] += 1
        if row["outcome"] == QueueOutcome.ANSWERED:
            counter["answered"] += 1
            if (row["wait_seconds"] or 0) <= thresholds.get(row["queue"], 20):
                counter["in_level"] += 1
        elif row["outcome"] == QueueOutcome.ABANDONED:
            counter["abandoned"] += 1
    for code, counter in totals.items():
        offered = counter["offered"]
        result[code] = {
            **counter,
            "service_level": round(100 * counter["in_level"] / offered, 1) if offered else None,
            "abandoned_rate": round(100 * counter["abandoned"] / offered, 1) if offered else None,
        }
    return result


def queue_live(client: redis.Redis, codes: list[str], now: float | None = None) -> dict[str, dict]:
    """Waiting calls and longest wait per queue, from the ACD's keys (docs/acd.md)."""
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    for code in codes:
        pipe.zcard(f"cc:queue:{code}:waiting")
        pipe.zrange(f"cc:queue:{code}:arrivals", 0, 0, withscores=True)
    answers = pipe.execute()
    result = {}
    for index, code in enumerate(codes):
        waiting, oldest = answers[2 * index], answers[2 * index + 1]
        result[code] = {
            "waiting": int(waiting),
            "longest_wait": max(0.0, now - oldest[0][1]) if oldest else 0.0,
        }
    return result


def wallboard_snapshot(user, client: redis.Redis) -> dict[str, Any]:
    """Everything the wallboard shows, read now: the page replaces its state with this."""
    agents = list(visible_agents(user).values("id", "name", "employee_number", "extension"))
    states = live.agent_states(client, [a["id"] for a in agents])
    agent_ids = {str(a["id"]) for a in agents}
    queues = list(visible_queues(user).values("code", "name"))
    codes = [q["code"] for q in queues]
    counters = queue_counters_today(codes)
    waiting = queue_live(client, codes)
    calls = [
        call
        for call in live.live_calls(client)
        if call.get("agent_id") in agent_ids or call.get("queue") in codes
    ]
    return {
        "now": time.time(),
        "agents": [{**a, **states[a["id"]]} for a in agents],
        "queues": [{**q, **counters[q["code"]], **waiting[q["code"]]} for q in queues],
        "calls": calls,
    }


def may_supervise(user, agent_id: int) -> bool:
    return visible_agents(user).filter(pk=agent_id).exists()


def supervise(
    client: CommandClient, user, agent_id: int, action: str, extension: str = ""
) -> DeskReply:
    """Send a supervisor intervention to the daemon (which authorizes and audits it)."""
    if action not in SUPERVISOR_ACTIONS:
        raise ValueError(action)
    args: dict[str, Any] = {"agent_id": agent_id}
    if action in EAVESDROP_ACTIONS and extension:
        args["extension"] = extension
    return send_command(client, user, action, args)


def group_counts(user) -> QuerySet[AgentGroup]:
    return supervised_groups(user).annotate(
        agents=Count("members", filter=Q(members__enabled=True))
    )
