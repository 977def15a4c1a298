"""The desk's websocket: the agent's own state, calls and screen pops, live."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.db import database_sync_to_async

from config.redis import get_redis
from desk import live, services
from realtime.consumers import LiveConsumer
from realtime.groups import agent_group


class DeskConsumer(LiveConsumer):
    """Joins `agent.<id>` of the signed-in agent; resyncs from the Redis hashes."""

    agent_id: int

    async def groups_for_user(self) -> list[str] | None:
        agent = await database_sync_to_async(services.agent_of)(self.scope["user"])
        if agent is None:
            return None
        self.agent_id = agent.pk
        return [agent_group(agent.pk)]

    async def snapshot(self) -> dict[str, Any]:
        return await database_sync_to_async(self._snapshot)()

    def _snapshot(self) -> dict[str, Any]:
        client = get_redis()
        state = live.agent_states(client, [self.agent_id])[self.agent_id]
        call = live.call_of_agent(client, self.agent_id)
        pop = services.remembered_pop(client, self.agent_id, call["uuid"]) if call else None
        return {"agent": state, "call": call, "pop": pop}

    async def before_event(self, event: Mapping[str, Any]) -> None:
        # Kept so that a page reloaded during the call shows the pop again (see the sync).
        if event.get("type") == "screen_pop":
            await database_sync_to_async(services.remember_pop)(get_redis(), dict(event))
