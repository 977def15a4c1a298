"""The wallboard's websocket: the supervisor's groups, live."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from accounts.rules import is_admin, is_supervisor
from config.redis import get_redis
from realtime.consumers import LiveConsumer
from realtime.groups import team_group
from wallboard import services


class WallboardConsumer(LiveConsumer):
    """Joins `team.<group id>` of every group the supervisor watches."""

    async def groups_for_user(self) -> list[str] | None:
        return await database_sync_to_async(self._groups)()

    def _groups(self) -> list[str] | None:
        user = self.scope["user"]
        if not (is_supervisor(user) or is_admin(user)):
            return None
        return [
            team_group(pk) for pk in services.supervised_groups(user).values_list("pk", flat=True)
        ]

    async def snapshot(self) -> dict[str, Any]:
        return await database_sync_to_async(services.wallboard_snapshot)(
            self.scope["user"], get_redis()
        )
