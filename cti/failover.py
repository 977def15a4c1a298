"""CDRs of the calls that reached the failover ring group, from the switch's own records.

No daemon handles a call in the failover group, so the switch keeps its record when it
ends (freeswitch_conf/failover.py: a mod_db row per call). The leading daemon writes each
one as a ``failover_ended`` fact and deletes the row:

- at each resync (start, takeover by the standby, reconnection to the switch): every row,
  the calls that ended while no daemon ran;
- while it runs: a call's row as soon as its CHANNEL_HANGUP_COMPLETE (with ``cc_failover``)
  arrives, a call that reached the group while this daemon ran (its socket broke, or the
  socket application could not reach it).

If a daemon still holds the call's live record (it knew the call before the group took it),
the call is closed from that record first (queue exit, agent released, recording), so the
fact that follows only corrects the CDR's times and cause. The row is deleted only after the
fact is in the stream: a daemon that dies in between leaves it for the next, and the second
write of the same fact is an idempotent upsert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import gevent.lock

from cti.facts import FAILOVER
from cti.notify import CALL_KEY
from freeswitch_conf.failover import REALM, FailoverRecord

if TYPE_CHECKING:
    from cti.recovery import Recovery
    from cti.services import CallServices

logger = logging.getLogger(__name__)

# The dialplan's mark of a call in the failover group (a channel variable).
FAILOVER_VARIABLE = "cc_failover"

SwitchApi = Callable[[str], str]


class FailoverRecords:
    def __init__(self, services: CallServices, recovery: Recovery) -> None:
        self.services = services
        self.recovery = recovery
        # One reader at a time: the election's and the connection's resyncs, and the
        # hangups, may ask at once, and would each write the record read before the other
        # deleted it.
        self._reading = gevent.lock.Semaphore()

    def collect_all(self, api: SwitchApi) -> int:
        """Write and delete every record on one switch; returns how many were written.
        ``db list`` answers at most 4 KB of keys (about a hundred), so it is asked again
        until it has nothing new."""
        with self._reading:
            return self._collect_all(api)

    def _collect_all(self, api: SwitchApi) -> int:
        written = 0
        seen: set[str] = set()
        while True:
            keys = [key for key in _output(api(f"db list/{REALM}")).split(",") if key]
            fresh = [key for key in keys if key not in seen]
            if not fresh:
                break
            for key in fresh:
                seen.add(key)
                written += self._collect(api, key)
        if written:
            logger.warning("failover: wrote the CDRs of %d calls from the switch", written)
        return written

    def collect(self, api: SwitchApi, call_uuid: str) -> bool:
        """Write and delete the record of one call, if the switch has it."""
        with self._reading:
            return self._collect(api, call_uuid)

    def _collect(self, api: SwitchApi, call_uuid: str) -> bool:
        value = _output(api(f"db select/{REALM}/{call_uuid}"))
        if not value:
            return False
        try:
            record = FailoverRecord.parse(call_uuid, value)
        except ValueError:
            # Not ours to read (another version's): kept in the log, not retried forever.
            logger.error("failover: unreadable record of %s dropped: %r", call_uuid, value)
            api(f"db delete/{REALM}/{call_uuid}")
            return False
        self.write(record)
        api(f"db delete/{REALM}/{call_uuid}")
        return True

    def write(self, record: FailoverRecord) -> None:
        services = self.services
        if services.calls.get(record.call_uuid) is None:
            fields = services.redis.hgetall(CALL_KEY + record.call_uuid)
            if fields:
                # Known to a daemon that let go of it: its queue exit, agent and recording.
                self.recovery.close(record.call_uuid, fields, FAILOVER, record.hangup_cause)
        services.facts.failover_ended(
            call_uuid=record.call_uuid,
            caller=record.caller,
            callee=record.destination,
            started_at=record.started_at,
            hangup_cause=record.hangup_cause,
            answered_at=record.answered_at,
            node=services.settings.node_name,
            talk_seconds=record.talk_seconds,
            at=record.ended_at,
        )


def _output(reply: str) -> str:
    """An api command's output; mod_event_socket answers ``-ERR no reply`` for an empty one
    (an empty realm's list, a missing key's select)."""
    reply = reply.strip()
    return "" if reply.startswith("-ERR") else reply
