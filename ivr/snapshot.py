"""Publishes the live version of every flow and the notices not yet ended to Redis.

Mirrors telephony/snapshot.py: each committed change rebuilds the whole snapshot under a Redis
lock, stores it under the next version and announces the version; the daemon's
``ivr_scripts.store.FlowSnapshotReader`` swaps it in. The format is documented there.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.redis import get_redis
from ivr import models as m
from ivr_scripts.store import FLOWS_CHANGED_CHANNEL, FLOWS_KEY, FLOWS_VERSION_KEY

logger = logging.getLogger(__name__)

LOCK_KEY = "cc:ivr:flows:lock"


def build_flow_snapshot() -> dict[str, Any]:
    """The newest version of each flow and every notice that has not ended."""
    flows: dict[str, Any] = {}
    latest = m.FlowVersion.objects.select_related("flow").order_by("flow_id", "-number")
    for version in latest.distinct("flow_id") if _supports_distinct_on() else latest:
        if version.flow.code in flows:
            continue
        flows[version.flow.code] = {"version": version.number, "definition": version.definition}
    notices = [
        {
            "id": notice.id,
            "text": notice.text,
            "language": notice.language,
            "starts_at": notice.starts_at.isoformat(),
            "ends_at": notice.ends_at.isoformat(),
            "flows": sorted(flow.code for flow in notice.flows.all()),
            "audio_path": notice.audio_path,
        }
        for notice in m.EmergencyNotice.objects.filter(ends_at__gt=timezone.now()).prefetch_related(
            "flows"
        )
    ]
    return {"built_at": timezone.now().isoformat(), "flows": flows, "notices": notices}


def _supports_distinct_on() -> bool:
    return transaction.get_connection().features.can_distinct_on_fields


def publish_flow_snapshot() -> int:
    """Build the snapshot, store it under the next version and announce it; the version."""
    client = get_redis()
    with client.lock(LOCK_KEY, timeout=30, blocking_timeout=30):
        data = build_flow_snapshot()
        version = int(client.incr(FLOWS_VERSION_KEY))
        data["version"] = version
        pipe = client.pipeline(transaction=True)
        pipe.set(FLOWS_KEY, json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        pipe.publish(FLOWS_CHANGED_CHANNEL, str(version))
        pipe.execute()
    logger.info("published IVR flow snapshot version %s", version)
    return version


class _PublishAfterCommit:
    """One pending publication; marked done once run, so a later change schedules anew."""

    publishes_flows = True

    def __init__(self) -> None:
        self.done = False

    def __call__(self) -> None:
        self.done = True
        publish_flow_snapshot()


def schedule_flow_publish() -> None:
    """Publish once after the current transaction commits, however many rows changed."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        # run_on_commit holds (savepoint ids, callback, robust); a rolled-back savepoint
        # drops its callbacks, so a pending entry here is still due to run.
        for entry in connection.run_on_commit:
            callback = entry[1]
            if getattr(callback, "publishes_flows", False) and not callback.done:
                return
    transaction.on_commit(_PublishAfterCommit())
