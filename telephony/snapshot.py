"""The configuration snapshot: Django's telephony configuration as the daemon sees it.

Django writes; the daemon only reads (ARCHITECTURE rule 1). Each committed change builds the
whole snapshot from the database and stores it in Redis under a new version number, then
announces the version on a pub/sub channel. Building and storing happen under a Redis lock,
so the snapshot with the highest version always reflects the latest committed state.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.redis import get_redis
from cti.config import CHANGED_CHANNEL, SNAPSHOT_KEY, VERSION_KEY
from telephony import models as m

logger = logging.getLogger(__name__)

LOCK_KEY = "cc:config:lock"
SNAPSHOT_FORMAT = 1


def build_snapshot() -> dict[str, Any]:
    """Read the whole telephony configuration into plain JSON-ready data."""
    agent_skills: dict[int, dict[str, int]] = {}
    for skill in m.AgentSkill.objects.values("agent_id", "skill__code", "level"):
        agent_skills.setdefault(skill["agent_id"], {})[skill["skill__code"]] = skill["level"]
    memberships: dict[int, list[dict[str, int]]] = {}
    for member in m.GroupMembership.objects.values("agent_id", "group_id", "level", "position"):
        memberships.setdefault(member["agent_id"], []).append(
            {"group": member["group_id"], "level": member["level"], "position": member["position"]}
        )
    agents = [
        {
            "id": agent.id,
            "employee_number": agent.employee_number,
            "name": agent.name,
            "user_id": agent.user_id,
            "extension": agent.extension,
            "enabled": agent.enabled,
            "max_no_answer": agent.max_no_answer,
            "wrap_up_seconds": agent.wrap_up_seconds,
            "reject_delay_seconds": agent.reject_delay_seconds,
            "busy_delay_seconds": agent.busy_delay_seconds,
            "skills": agent_skills.get(agent.id, {}),
            "groups": memberships.get(agent.id, []),
        }
        for agent in m.Agent.objects.all()
    ]
    supervisors: dict[int, list[int]] = {}
    for boss in m.AgentGroup.supervisors.through.objects.values("agentgroup_id", "user_id"):
        supervisors.setdefault(boss["agentgroup_id"], []).append(boss["user_id"])
    groups = [
        {"id": g.id, "name": g.name, "kind": g.kind, "supervisors": supervisors.get(g.id, [])}
        for g in m.AgentGroup.objects.all()
    ]
    queue_skills: dict[int, dict[str, int]] = {}
    for need in m.QueueSkill.objects.values("queue_id", "skill__code", "min_level"):
        queue_skills.setdefault(need["queue_id"], {})[need["skill__code"]] = need["min_level"]
    queues = []
    for q in m.Queue.objects.select_related("overflow_queue"):
        queues.append(
            {
                "id": q.id,
                "code": q.code,
                "name": q.name,
                "group": q.group_id,
                "strategy": q.strategy,
                "priority": q.priority,
                "music_on_hold": q.music_on_hold,
                "greeting_prompt": q.greeting_prompt,
                "announce_position": q.announce_position,
                "announce_wait_time": q.announce_wait_time,
                "announce_interval_seconds": q.announce_interval_seconds,
                "announce_employee_number": q.announce_employee_number,
                "ring_timeout_seconds": q.ring_timeout_seconds,
                "max_wait_seconds": q.max_wait_seconds,
                "no_agent_rule": q.no_agent_rule,
                "overflow_kind": q.overflow_kind,
                "overflow_queue": q.overflow_queue.code if q.overflow_queue else None,
                "overflow_target": q.overflow_target,
                "service_level_seconds": q.service_level_seconds,
                "vip_priority_boost": q.vip_priority_boost,
                "long_distance_priority_boost": q.long_distance_priority_boost,
                "route_to_owner_agent": q.route_to_owner_agent,
                "last_agent_lookback_days": q.last_agent_lookback_days,
                "leave_message_key": q.leave_message_key,
                "callback_key": q.callback_key,
                "required_skills": queue_skills.get(q.id, {}),
            }
        )
    calendars = []
    for cal in m.BusinessCalendar.objects.prefetch_related("hours", "holidays", "exceptions"):
        calendars.append(
            {
                "id": cal.id,
                "name": cal.name,
                "hours": [
                    [h.weekday, h.start_time.strftime("%H:%M"), h.end_time.strftime("%H:%M")]
                    for h in cal.hours.all()
                ],
                "holidays": [
                    [h.name, h.start_date.isoformat(), h.end_date.isoformat()]
                    for h in cal.holidays.all()
                ],
                "exceptions": [
                    {
                        "date": e.date.isoformat(),
                        "kind": e.kind,
                        "start": e.start_time.strftime("%H:%M") if e.start_time else None,
                        "end": e.end_time.strftime("%H:%M") if e.end_time else None,
                    }
                    for e in cal.exceptions.all()
                ],
            }
        )
    dids = [
        {
            "number": d.number,
            "name": d.name,
            "flow": d.flow,
            "language": d.language,
            "calendar": d.calendar_id,
            "enabled": d.enabled,
        }
        for d in m.DID.objects.all()
    ]
    blacklist = [
        {
            "pattern": b.pattern,
            "match": b.match,
            "direction": b.direction,
            "category": b.category,
            "action": b.action,
            "expires_at": b.expires_at.isoformat() if b.expires_at else None,
        }
        for b in m.BlacklistEntry.objects.all()
    ]
    busy_reasons = [
        {"code": r.code, "name": r.name, "name_en": r.name_en, "system": r.system}
        for r in m.BusyReason.objects.filter(enabled=True)
    ]
    return {
        "format": SNAPSHOT_FORMAT,
        "built_at": timezone.now().isoformat(),
        "agents": agents,
        "groups": groups,
        "queues": queues,
        "calendars": calendars,
        "dids": dids,
        "blacklist": blacklist,
        "busy_reasons": busy_reasons,
    }


def publish_snapshot() -> int:
    """Build the snapshot and store it under the next version; return that version."""
    client = get_redis()
    with client.lock(LOCK_KEY, timeout=30, blocking_timeout=30):
        data = build_snapshot()
        version = int(client.incr(VERSION_KEY))
        data["version"] = version
        pipe = client.pipeline(transaction=True)
        pipe.set(SNAPSHOT_KEY, json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        pipe.publish(CHANGED_CHANNEL, str(version))
        pipe.execute()
    logger.info("published configuration snapshot version %s", version)
    return version


def _publish_after_commit() -> None:
    publish_snapshot()


_publish_after_commit.publishes_snapshot = True  # type: ignore[attr-defined]


def schedule_publish() -> None:
    """Publish once after the current transaction commits, however many rows it changed."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        # run_on_commit holds (savepoint ids, callback, robust); a rolled-back savepoint
        # drops its callbacks, so an entry here is still due to run.
        for entry in connection.run_on_commit:
            if getattr(entry[1], "publishes_snapshot", False):
                return
    transaction.on_commit(_publish_after_commit)
