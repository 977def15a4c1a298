"""The flow snapshot: published flows and emergency notices as the daemon reads them.

Django (ivr/snapshot.py) writes the whole set of current flow versions and the emergency
notices not yet ended to ``FLOWS_KEY`` as JSON under an increasing version, and announces
the version on ``FLOWS_CHANGED_CHANNEL``. The daemon holds the newest snapshot in memory
(:class:`FlowSnapshotReader`) and never reads PostgreSQL.

Snapshot JSON::

    {"version": 7, "built_at": "...",
     "flows": {"survey": {"version": 3, "definition": {...flow...}}},
     "notices": [{"id": 1, "text": "...", "language": "zh", "starts_at": "...",
                  "ends_at": "...", "flows": ["hotline-12329"], "audio_path": "..."}]}
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ivr_scripts.flow import Flow, FlowError

logger = logging.getLogger(__name__)

FLOWS_KEY = "cc:ivr:flows"
FLOWS_VERSION_KEY = "cc:ivr:flows:version"
FLOWS_CHANGED_CHANNEL = "cc:ivr:flows:changed"


@dataclass(frozen=True)
class Notice:
    """An emergency notice played at the start of some flows (all flows when ``flows`` is
    empty) between ``starts_at`` and ``ends_at``."""

    id: int
    text: str
    language: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    flows: tuple[str, ...] = ()
    audio_path: str = ""

    def applies(self, flow_code: str, language: str, moment: dt.datetime) -> bool:
        return (
            self.starts_at <= moment < self.ends_at
            and self.language == language
            and (not self.flows or flow_code in self.flows)
        )


@dataclass(frozen=True)
class FlowSnapshot:
    """One published version of all flows and notices."""

    version: int = 0
    flows: Mapping[str, Flow] = field(default_factory=dict)
    notices: tuple[Notice, ...] = ()

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> FlowSnapshot:
        flows: dict[str, Flow] = {}
        for code, entry in data.get("flows", {}).items():
            try:
                flows[code] = Flow.from_dict(entry["definition"], version=entry.get("version", 0))
            except FlowError as error:
                # Django validates on save; a bad entry here means a hand-edited key.
                logger.error("flow %s in the snapshot is invalid: %s", code, error)
        notices = tuple(
            Notice(
                id=item["id"],
                text=item["text"],
                language=item["language"],
                starts_at=dt.datetime.fromisoformat(item["starts_at"]),
                ends_at=dt.datetime.fromisoformat(item["ends_at"]),
                flows=tuple(item.get("flows", ())),
                audio_path=item.get("audio_path", ""),
            )
            for item in data.get("notices", ())
        )
        return cls(version=int(data.get("version", 0)), flows=flows, notices=notices)

    def flow(self, code: str) -> Flow | None:
        return self.flows.get(code)

    def active_notices(self, flow_code: str, language: str, moment: dt.datetime) -> list[Notice]:
        return [n for n in self.notices if n.applies(flow_code, language, moment)]


class FlowSnapshotReader:
    """Holds the newest flow snapshot seen in Redis (the daemon's side)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.current = FlowSnapshot()

    def refresh(self) -> bool:
        """Load the stored snapshot when it is newer than the one held; True when it changed.

        The version counter is read first, so an unchanged snapshot is not fetched and parsed
        on every poll.
        """
        published = self._client.get(FLOWS_VERSION_KEY)
        if published is not None and int(published) <= self.current.version:
            return False
        raw = self._client.get(FLOWS_KEY)
        if not raw:
            return False
        data = json.loads(raw)
        if int(data.get("version", 0)) <= self.current.version:
            return False
        self.current = FlowSnapshot.from_data(data)
        logger.info("IVR flow snapshot version %s loaded", self.current.version)
        return True

    def watch(
        self,
        on_change: Callable[[FlowSnapshot], None] | None = None,
        stop_event: Any = None,
    ) -> None:
        """Block, reloading whenever Django announces a new version (run in a greenlet)."""
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(FLOWS_CHANGED_CHANNEL)
        self.refresh()
        try:
            while stop_event is None or not stop_event.is_set():
                pubsub.get_message(timeout=1.0)
                # Polling on timeout also catches a version published while unsubscribed.
                if self.refresh() and on_change is not None:
                    on_change(self.current)
        finally:
            pubsub.close()
