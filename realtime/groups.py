"""Which Channels groups a live event from the daemon goes to.

Group names are the contract between the relay and the consumers:

* `agent.<agent id>`: one agent's desk (its state, its calls, its screen pops);
* `team.<agent group id>`: the wallboards of the supervisors of that agent group (state of
  the group's agents, calls of its agents and queues, its queues' counters).

Routing is pure (no I/O) so it is tested on its own; the relay gives it the agent → groups
and queue → group maps from the configuration snapshot. :class:`CallAudience` adds the one
thing routing by the event alone cannot know: which wallboards showed a call before it moved
to another group's queue or agent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


def agent_group(agent_id: int | str) -> str:
    return f"agent.{agent_id}"


def team_group(group_id: int | str) -> str:
    return f"team.{group_id}"


@dataclass(frozen=True)
class Directory:
    """The parts of the configuration snapshot that routing needs."""

    groups_of_agent: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    group_of_queue: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Directory:
        return cls(
            groups_of_agent={
                int(agent["id"]): tuple(int(m["group"]) for m in agent.get("groups", []))
                for agent in data.get("agents", [])
            },
            group_of_queue={
                str(queue["code"]): int(queue["group"])
                for queue in data.get("queues", [])
                if queue.get("group") is not None
            },
        )

    def teams_of_agent(self, agent_id: Any) -> list[str]:
        agent = _as_int(agent_id)
        if agent is None:
            return []
        return [team_group(g) for g in self.groups_of_agent.get(agent, ())]

    def team_of_queue(self, queue: Any) -> list[str]:
        group = self.group_of_queue.get(str(queue or ""))
        return [team_group(group)] if group is not None else []


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def groups_for(event: Mapping[str, Any], directory: Directory) -> list[str]:
    """The groups an event from `cc:live` goes to (empty: nobody in a browser needs it)."""
    kind = event.get("type")
    if kind == "agent":
        agent_id = event.get("agent_id")
        if agent_id is None:
            return []
        return _unique([agent_group(agent_id), *directory.teams_of_agent(agent_id)])
    if kind == "screen_pop":
        agent_id = event.get("agent_id")
        return [] if agent_id is None else [agent_group(agent_id)]
    if kind in ("call", "call_ended"):
        call = event.get("call") or {}
        agent_id = _as_int(call.get("agent_id"))
        names = directory.team_of_queue(call.get("queue"))
        if agent_id is not None:
            names = [agent_group(agent_id), *directory.teams_of_agent(agent_id), *names]
        return _unique(names)
    if kind == "call_offered":
        names = directory.team_of_queue(event.get("queue"))
        for agent_id in event.get("agents") or ():
            names += [agent_group(agent_id), *directory.teams_of_agent(agent_id)]
        return _unique(names)
    if kind in ("queue", "call_queued", "call_left_queue"):
        return directory.team_of_queue(event.get("queue"))
    return []


class CallAudience:
    """The supervisors' groups each live call was last sent to.

    A call transferred to another group's queue or agent stops concerning the wallboards of
    its first group, but routing by its new queue and agent would never tell them: they would
    show it until their next resync. Its next update also goes to the groups that showed it
    (the page drops a call that no longer concerns it), then only to its current ones;
    ``call_ended`` goes to both and forgets the call. Agent desks are routed by the event
    alone (an agent's own state tells its desk the call left).
    """

    def __init__(self, limit: int = 50_000) -> None:
        self._teams: dict[str, tuple[str, ...]] = {}
        # Calls whose end was never published (a daemon killed mid-call) must not pile up.
        self._limit = limit

    def __len__(self) -> int:
        return len(self._teams)

    def widen(self, event: Mapping[str, Any], names: list[str]) -> list[str]:
        """``names`` (from :func:`groups_for`) plus the groups that showed this call."""
        kind = event.get("type")
        if kind not in ("call", "call_ended"):
            return names
        call_uuid = (event.get("call") or {}).get("uuid")
        if not call_uuid:
            return names
        previous = self._teams.pop(call_uuid, ())
        if kind == "call":
            teams = tuple(name for name in names if name.startswith("team."))
            if teams:
                if len(self._teams) >= self._limit:
                    del self._teams[next(iter(self._teams))]  # the oldest
                self._teams[call_uuid] = teams
        return _unique([*names, *previous]) if previous else names
