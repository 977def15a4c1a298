"""The daemon's read side of the configuration snapshot that Django publishes to Redis.

The daemon never reads configuration from PostgreSQL (ARCHITECTURE rule 2): it holds the
latest snapshot in memory and swaps it when a higher version appears.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import redis

logger = logging.getLogger(__name__)

SNAPSHOT_KEY = "cc:config:snapshot"
VERSION_KEY = "cc:config:version"
CHANGED_CHANNEL = "cc:config:changed"


@dataclass(frozen=True)
class ConfigSnapshot:
    """One published version of the telephony configuration, indexed for the daemon."""

    version: int
    data: dict[str, Any]
    agents_by_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    agents_by_extension: dict[str, dict[str, Any]] = field(default_factory=dict)
    agents_by_user: dict[int, dict[str, Any]] = field(default_factory=dict)
    queues_by_code: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups_by_id: dict[int, dict[str, Any]] = field(default_factory=dict)
    dids_by_number: dict[str, dict[str, Any]] = field(default_factory=dict)
    calendars_by_id: dict[int, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ConfigSnapshot:
        agents = data.get("agents", [])
        return cls(
            version=int(data.get("version", 0)),
            data=data,
            agents_by_id={a["id"]: a for a in agents},
            agents_by_extension={a["extension"]: a for a in agents},
            agents_by_user={a["user_id"]: a for a in agents if a.get("user_id") is not None},
            queues_by_code={q["code"]: q for q in data.get("queues", [])},
            groups_by_id={g["id"]: g for g in data.get("groups", [])},
            dids_by_number={d["number"]: d for d in data.get("dids", [])},
            calendars_by_id={c["id"]: c for c in data.get("calendars", [])},
        )

    @classmethod
    def empty(cls) -> ConfigSnapshot:
        return cls.from_data({"version": 0})


class ConfigSnapshotReader:
    """Holds the newest configuration snapshot seen in Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self.current = ConfigSnapshot.empty()

    @property
    def version(self) -> int:
        return self.current.version

    def published_version(self) -> int:
        raw = self._client.get(VERSION_KEY)
        return int(raw) if raw else 0

    def refresh(self) -> bool:
        """Load the stored snapshot if it is newer than the one held; True when it changed.

        The version counter is read first: the snapshot itself (every agent, queue and DID)
        is fetched and parsed only when a newer version was published, not on every poll.
        """
        published = self._client.get(VERSION_KEY)
        if published is not None and int(published) <= self.current.version:
            return False
        raw = self._client.get(SNAPSHOT_KEY)
        if not raw:
            return False
        data = json.loads(raw)
        if int(data.get("version", 0)) <= self.current.version:
            return False
        self.current = ConfigSnapshot.from_data(data)
        logger.info("configuration snapshot version %s loaded", self.current.version)
        return True

    def watch(self, on_change=None, stop_event=None) -> None:
        """Block, reloading whenever Django announces a new version (run in a greenlet)."""
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(CHANGED_CHANNEL)
        self.refresh()
        try:
            while stop_event is None or not stop_event.is_set():
                message = pubsub.get_message(timeout=1.0)
                # A poll on timeout also catches a version published while we were away.
                if self.refresh() and on_change is not None:
                    on_change(self.current)
                del message
        finally:
            pubsub.close()
