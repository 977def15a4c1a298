"""The persister: moves durable facts from the Redis Stream into PostgreSQL, idempotently.

It is a consumer in the group ``persister`` of the stream ``cc:facts``. For each batch it
reads, it stores every fact in one database transaction with upserts keyed by (subject, seq)
or the fact's natural key, and only then acknowledges the entries (XACK). So:

- a database outage loses nothing: the batch stays pending, the persister backs off and
  retries, new facts wait in the stream;
- a crash between the commit and the acknowledgement re-delivers facts already stored, and
  storing them again changes nothing;
- a fact that cannot be stored (unknown kind, bad payload, a value its column refuses) goes
  to the dead-letter stream ``cc:facts:dead`` with the error, and the pipeline moves on.

On start it first re-processes its own pending entries, then claims (XAUTOCLAIM) entries that
a dead consumer left pending for longer than ``claim_idle_ms``. It trims the stream below the
oldest entry any consumer group still needs (XTRIM MINID), so the stream does not grow forever.

Runs on the Django side (``manage.py run_persister``), in a plain process, not under gevent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    connection,
    models,
    transaction,
)

from cti import facts as f
from cti import models as m
from cti.facts import FAILOVER

logger = logging.getLogger(__name__)

DEFAULT_GROUP = "persister"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One stream entry decoded: the fact and where it came from."""

    stream_id: str
    kind: str
    subject: str
    seq: int
    at: float
    fact: f.Fact


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A stream entry that cannot be stored, with the reason."""

    stream_id: str
    fields: dict[str, str]
    error: str


@dataclass
class PersisterStats:
    """Counters since the persister started, for logs and the benchmark."""

    stored: int = 0
    dead_lettered: int = 0
    batches: int = 0
    database_failures: int = 0
    claimed: int = 0
    trimmed: int = 0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_key(stream_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = stream_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def parse_entry(stream_id: str, fields: dict[str, str]) -> Envelope:
    """Decode a stream entry's fields into an Envelope; raises FactError when it is unfit."""
    try:
        kind = fields["kind"]
        subject = fields["subject"]
        seq = int(fields["seq"])
        at = float(fields["at"])
        payload = json.loads(fields["payload"])
    except KeyError as error:
        raise f.FactError(f"entry lacks field {error.args[0]!r}") from error
    except ValueError as error:
        raise f.FactError(f"malformed entry: {error}") from error
    f._require(bool(subject), "subject must not be empty")
    f._require(at == at and abs(at) != float("inf"), "at must be a finite time")
    return Envelope(stream_id, kind, subject, seq, at, f.decode_fact(kind, payload))


def stored_moment(epoch_seconds: float) -> dt.datetime:
    """The datetime a fact's epoch seconds are stored as (microseconds, UTC)."""
    return dt.datetime.fromtimestamp(epoch_seconds, tz=dt.UTC)


def _seconds_between(start: float | None, end: float) -> float | None:
    return None if start is None else max(0.0, end - start)


@dataclass(frozen=True)
class _Upsert:
    """How one fact kind lands in its table: the row it makes and the conflict rule."""

    model: type[models.Model]
    key: tuple[str, ...]
    build: Callable[[Envelope], models.Model]
    # Columns a conflicting row takes from the new one; empty means keep the stored row.
    update: tuple[str, ...] = ()


def _call_started(e: Envelope) -> m.CallRecord:
    fact: f.CallStarted = e.fact  # type: ignore[assignment]
    return m.CallRecord(
        call_uuid=fact.call_uuid,
        direction=fact.direction,
        caller=fact.caller,
        callee=fact.callee,
        did=fact.did,
        node=fact.node,
        started_at=stored_moment(e.at),
    )


def _ended_call(
    e: Envelope,
    fact: f.CallEnded | f.FailoverEnded,
    talk_seconds: float | None = None,
    **columns: Any,
) -> m.CallRecord:
    """The CDR of a call that ended at ``e.at``: its numbers, times and cause, and
    ``columns``. Without ``talk_seconds``, the time from the answer to the end."""
    return m.CallRecord(
        call_uuid=fact.call_uuid,
        caller=fact.caller,
        callee=fact.callee,
        node=fact.node,
        started_at=stored_moment(fact.started_at),
        answered_at=None if fact.answered_at is None else stored_moment(fact.answered_at),
        ended_at=stored_moment(e.at),
        duration_seconds=_seconds_between(fact.started_at, e.at),
        talk_seconds=(
            _seconds_between(fact.answered_at, e.at) if talk_seconds is None else talk_seconds
        ),
        hangup_cause=fact.hangup_cause,
        **columns,
    )


def _call_ended(e: Envelope) -> m.CallRecord:
    fact: f.CallEnded = e.fact  # type: ignore[assignment]
    return _ended_call(
        e,
        fact,
        fact.talk_seconds,
        direction=fact.direction,
        did=fact.did,
        hangup_by=fact.hangup_by,
        queue=fact.queue,
        agent_id=fact.agent_id,
        ivr_flow=fact.ivr_flow,
        recording_path=fact.recording_path,
    )


def _failover_ended(e: Envelope) -> m.CallRecord:
    fact: f.FailoverEnded = e.fact  # type: ignore[assignment]
    return _ended_call(
        e,
        fact,
        fact.talk_seconds,
        direction=m.CallDirection.INBOUND,
        did=fact.callee,
        hangup_by=FAILOVER,
    )


def _leg_ended(e: Envelope) -> m.CallLeg:
    fact: f.LegEnded = e.fact  # type: ignore[assignment]
    return m.CallLeg(
        leg_uuid=fact.leg_uuid,
        call_uuid=fact.call_uuid,
        party=fact.party,
        number=fact.number,
        started_at=stored_moment(fact.started_at),
        answered_at=None if fact.answered_at is None else stored_moment(fact.answered_at),
        ended_at=stored_moment(e.at),
        duration_seconds=max(0.0, e.at - fact.started_at),
        talk_seconds=_seconds_between(fact.answered_at, e.at),
        hangup_cause=fact.hangup_cause,
        agent_id=fact.agent_id,
    )


def _agent_state_changed(e: Envelope) -> m.AgentStateChange:
    fact: f.AgentStateChanged = e.fact  # type: ignore[assignment]
    return m.AgentStateChange(
        subject=e.subject,
        seq=e.seq,
        agent_id=fact.agent_id,
        old_state=fact.old,
        new_state=fact.new,
        reason=fact.reason,
        changed_at=stored_moment(e.at),
        old_state_seconds=fact.duration,
        call_uuid=fact.call_uuid,
    )


def _queue_entered(e: Envelope) -> m.QueueEntry:
    fact: f.QueueEntered = e.fact  # type: ignore[assignment]
    entered = e.at if fact.entered_at is None else fact.entered_at
    return m.QueueEntry(
        call_uuid=fact.call_uuid,
        queue=fact.queue,
        entered_at=stored_moment(entered),
        entry_position=fact.position,
    )


def _queue_exited(e: Envelope) -> m.QueueEntry:
    fact: f.QueueExited = e.fact  # type: ignore[assignment]
    return m.QueueEntry(
        call_uuid=fact.call_uuid,
        queue=fact.queue,
        entered_at=stored_moment(fact.entered_at),
        exited_at=stored_moment(e.at),
        wait_seconds=fact.wait_seconds,
        outcome=fact.outcome,
        exit_position=fact.position,
        agent_id=fact.agent_id,
        overflow_target=fact.overflow_target,
    )


def _call_abandoned(e: Envelope) -> m.QueueEntry:
    fact: f.CallAbandoned = e.fact  # type: ignore[assignment]
    return m.QueueEntry(
        call_uuid=fact.call_uuid,
        queue=fact.queue,
        entered_at=stored_moment(fact.entered_at),
        exited_at=stored_moment(e.at),
        wait_seconds=fact.wait_seconds,
        outcome=m.QueueOutcome.ABANDONED,
        exit_position=fact.position,
    )


def _recording_saved(e: Envelope) -> m.Recording:
    fact: f.RecordingSaved = e.fact  # type: ignore[assignment]
    return m.Recording(
        subject=e.subject,
        seq=e.seq,
        call_uuid=fact.call_uuid,
        path=fact.path,
        duration_seconds=fact.duration,
        size_bytes=fact.size,
        channels=fact.channels,
        agent_id=fact.agent_id,
        saved_at=stored_moment(e.at),
    )


def _survey_scored(e: Envelope) -> m.SurveyScore:
    fact: f.SurveyScored = e.fact  # type: ignore[assignment]
    return m.SurveyScore(
        subject=e.subject,
        seq=e.seq,
        call_uuid=fact.call_uuid,
        score=fact.score,
        agent_id=fact.agent_id,
        queue=fact.queue,
        scored_at=stored_moment(e.at),
    )


def _ivr_path(e: Envelope) -> m.IvrPath:
    fact: f.IvrPathTaken = e.fact  # type: ignore[assignment]
    return m.IvrPath(
        subject=e.subject,
        seq=e.seq,
        call_uuid=fact.call_uuid,
        flow=fact.flow,
        started_at=stored_moment(fact.started_at),
        finished_at=stored_moment(e.at),
        nodes=fact.nodes,
        digits=fact.digits,
        variables=fact.variables,
        exit=fact.exit,
    )


def _supervisor_action(e: Envelope) -> m.SupervisorAction:
    fact: f.SupervisorActionTaken = e.fact  # type: ignore[assignment]
    return m.SupervisorAction(
        subject=e.subject,
        seq=e.seq,
        supervisor_id=fact.supervisor_id,
        action=fact.action,
        result=fact.result,
        target_agent_id=fact.target_agent_id,
        target_call_uuid=fact.target_call_uuid,
        detail=fact.detail,
        acted_at=stored_moment(e.at),
    )


def _voicemail_left(e: Envelope) -> m.Voicemail:
    fact: f.VoicemailLeft = e.fact  # type: ignore[assignment]
    return m.Voicemail(
        subject=e.subject,
        seq=e.seq,
        call_uuid=fact.call_uuid,
        caller=fact.caller,
        group_id=fact.group_id,
        path=fact.path,
        duration_seconds=fact.duration,
        left_at=stored_moment(e.at),
    )


_SEQUENCED = ("subject", "seq")
_QUEUE_ENTRY_KEY = ("call_uuid", "queue", "entered_at")
_QUEUE_EXIT_FIELDS = ("exited_at", "wait_seconds", "outcome", "exit_position")
# A CDR's end: what call_ended and failover_ended both set.
_CALL_END_COLUMNS = (
    "started_at",
    "answered_at",
    "ended_at",
    "duration_seconds",
    "talk_seconds",
    "hangup_cause",
    "hangup_by",
)

# Applied in this order within a batch, so a call_ended stored with its call_started in one
# batch wins. call_started never overwrites (a replayed one must not undo the finished CDR);
# call_ended overwrites everything. Queue entry and exit facts set disjoint columns, so they
# merge the same whichever lands first. Standalone facts are immutable: a (subject, seq)
# already stored is the same fact, so a conflict keeps the stored row.
UPSERTS: dict[str, _Upsert] = {
    f.CallStarted.KIND: _Upsert(m.CallRecord, ("call_uuid",), _call_started),
    f.CallEnded.KIND: _Upsert(
        m.CallRecord,
        ("call_uuid",),
        _call_ended,
        update=(
            "direction",
            "caller",
            "callee",
            "did",
            "node",
            *_CALL_END_COLUMNS,
            "queue",
            "agent_id",
            "ivr_flow",
            "recording_path",
        ),
    ),  # fmt: skip
    # After call_ended: the switch's times and cause of a call that reached the failover
    # ring group, and its talk there; what a daemon knew of it (numbers, queue, agent, flow)
    # stays. (The talk replaces the daemon's, which is none for a caller let go from the
    # IVR or a queue: a conversation outlives its daemon and never reaches the group.)
    f.FailoverEnded.KIND: _Upsert(
        m.CallRecord,
        ("call_uuid",),
        _failover_ended,
        update=_CALL_END_COLUMNS,
    ),
    f.LegEnded.KIND: _Upsert(
        m.CallLeg,
        ("leg_uuid",),
        _leg_ended,
        update=(
            "call_uuid",
            "party",
            "number",
            "started_at",
            "answered_at",
            "ended_at",
            "duration_seconds",
            "talk_seconds",
            "hangup_cause",
            "agent_id",
        ),
    ),  # fmt: skip
    f.AgentStateChanged.KIND: _Upsert(m.AgentStateChange, _SEQUENCED, _agent_state_changed),
    f.QueueEntered.KIND: _Upsert(
        m.QueueEntry, _QUEUE_ENTRY_KEY, _queue_entered, update=("entry_position",)
    ),
    f.QueueExited.KIND: _Upsert(
        m.QueueEntry,
        _QUEUE_ENTRY_KEY,
        _queue_exited,
        update=(*_QUEUE_EXIT_FIELDS, "agent_id", "overflow_target"),
    ),
    f.CallAbandoned.KIND: _Upsert(
        m.QueueEntry, _QUEUE_ENTRY_KEY, _call_abandoned, update=_QUEUE_EXIT_FIELDS
    ),
    f.RecordingSaved.KIND: _Upsert(m.Recording, _SEQUENCED, _recording_saved),
    f.SurveyScored.KIND: _Upsert(m.SurveyScore, _SEQUENCED, _survey_scored),
    f.IvrPathTaken.KIND: _Upsert(m.IvrPath, _SEQUENCED, _ivr_path),
    f.SupervisorActionTaken.KIND: _Upsert(m.SupervisorAction, _SEQUENCED, _supervisor_action),
    f.VoicemailLeft.KIND: _Upsert(m.Voicemail, _SEQUENCED, _voicemail_left),
}


def store_facts(envelopes: Sequence[Envelope]) -> int:
    """Store decoded facts in one transaction with idempotent upserts; return how many.

    Raises DataError or IntegrityError when a row does not fit its table, and another
    DatabaseError when the database cannot be used; nothing is stored in either case.
    """
    by_kind: dict[str, dict[tuple[Any, ...], models.Model]] = {kind: {} for kind in UPSERTS}
    for envelope in envelopes:
        upsert = UPSERTS[envelope.kind]
        row = upsert.build(envelope)
        # One INSERT ... ON CONFLICT cannot touch a row twice; the later fact of a pair wins.
        by_kind[envelope.kind][tuple(getattr(row, name) for name in upsert.key)] = row
    with transaction.atomic():
        for kind, rows in by_kind.items():
            if not rows:
                continue
            upsert = UPSERTS[kind]
            if upsert.update:
                upsert.model._default_manager.bulk_create(
                    rows.values(),
                    update_conflicts=True,
                    unique_fields=upsert.key,
                    update_fields=upsert.update,
                )
            else:
                upsert.model._default_manager.bulk_create(rows.values(), ignore_conflicts=True)
        _deliver_voicemails(envelopes)
    return len(envelopes)


def _deliver_voicemails(envelopes: Sequence[Envelope]) -> None:
    """A message left in the IVR lands in the group's voicemail inbox on the desk too."""
    from ivr.services import record_voicemail

    for envelope in envelopes:
        if envelope.kind != f.VoicemailLeft.KIND:
            continue
        fact: f.VoicemailLeft = envelope.fact  # type: ignore[assignment]
        record_voicemail(
            call_uuid=fact.call_uuid,
            recording_path=fact.path,
            duration_seconds=fact.duration,
            caller=fact.caller,
            group_id=fact.group_id,
            left_at=stored_moment(envelope.at),
        )


class Persister:
    """A consumer of the facts stream that stores each batch and acknowledges after commit.

    ``consumer`` should stay the same across restarts of one process slot (the default is the
    host name) so a restarted persister finds its own pending entries; run several persisters
    with different consumer names to share the load.
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        group: str = DEFAULT_GROUP,
        consumer: str | None = None,
        batch: int = 500,
        *,
        stream: str = f.DEFAULT_STREAM,
        dead_letter_stream: str = f.DEFAULT_DEAD_LETTER_STREAM,
        dead_letter_maxlen: int = 100_000,
        block_ms: int | None = 2_000,
        claim_idle_ms: int = 60_000,
        claim_interval: float = 30.0,
        trim_interval: float = 30.0,
        trim_approximate: bool = True,
        min_backoff: float = 0.2,
        max_backoff: float = 10.0,
        gather_seconds: float = 0.05,
        store: Callable[[Sequence[Envelope]], int] = store_facts,
    ) -> None:
        self.redis = redis_client
        self.group = group
        self.consumer = consumer or socket.gethostname()
        self.batch = batch
        self.stream = stream
        self.dead_letter_stream = dead_letter_stream
        self.dead_letter_maxlen = dead_letter_maxlen
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.claim_interval = claim_interval
        self.trim_interval = trim_interval
        self.trim_approximate = trim_approximate
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        # After a batch smaller than `batch`, wait this long before reading again, so facts
        # arriving at a moderate rate are stored tens at a time rather than one or two per
        # transaction (each costs a transaction, a statement per kind and an XACK). Facts
        # reach PostgreSQL at most this much later; a full batch is read again at once.
        self.gather_seconds = gather_seconds
        self.store = store
        self.stats = PersisterStats()
        # Own pending entries are read (from id 0) before new ones, at start and after a failure.
        self._drain_own_pending = True

    # --- setup -------------------------------------------------------------------------
    def ensure_group(self) -> None:
        """Create the stream and the group if needed; a new group starts at the first entry."""
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    # --- the loop ------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Persist until ``stop`` is set; database and Redis outages are waited out."""
        backoff = self.min_backoff
        next_claim = next_trim = 0.0
        group_ready = False
        while not stop.is_set():
            try:
                if not group_ready:
                    self.ensure_group()
                    group_ready = True
                now = time.monotonic()
                if now >= next_claim:
                    self.claim_stale()
                    next_claim = now + self.claim_interval
                handled = self.step()
                if 0 < handled < self.batch and self.gather_seconds > 0:
                    stop.wait(self.gather_seconds)
                if time.monotonic() >= next_trim:
                    self.trim()
                    next_trim = time.monotonic() + self.trim_interval
                backoff = self.min_backoff
            except (DatabaseError, redis.ConnectionError, redis.TimeoutError) as error:
                logger.warning("persister waits %.1fs: %s", backoff, error)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    def step(self) -> int:
        """Read one batch (own pending entries first), store it, acknowledge it.

        Returns how many entries were handled. On a database error the batch stays pending,
        the error propagates, and the next step reads the same entries again.
        """
        entries: list[tuple[str, dict[str, str] | None]] = []
        if self._drain_own_pending:
            entries = self._read("0", block_ms=None)
            if not entries:
                self._drain_own_pending = False
        if not entries:
            entries = self._read(">", block_ms=self.block_ms)
        if entries:
            try:
                self.process(entries)
            except DatabaseError:
                self._drain_own_pending = True
                self.stats.database_failures += 1
                self._reset_connection()
                raise
        return len(entries)

    def process(self, entries: Sequence[tuple[str, dict[str, str] | None]]) -> None:
        """Store the entries, dead-letter the unfit ones, then acknowledge them all."""
        envelopes: list[Envelope] = []
        dead: list[DeadLetter] = []
        for stream_id, raw_fields in entries:
            if not raw_fields:
                # Pending but no longer in the stream (a writer's MAXLEN cut it): nothing left.
                logger.warning(
                    "fact %s vanished from %s before it was stored", stream_id, self.stream
                )
                continue
            try:
                envelopes.append(parse_entry(stream_id, raw_fields))
            except f.FactError as error:
                dead.append(DeadLetter(stream_id, raw_fields, str(error)))
        raw_by_id = {stream_id: raw_fields or {} for stream_id, raw_fields in entries}
        stored = self._store_isolating_unfit(envelopes, raw_by_id, dead)
        self._acknowledge([stream_id for stream_id, _ in entries], dead)
        self.stats.batches += 1
        self.stats.stored += stored
        self.stats.dead_lettered += len(dead)

    def _store_isolating_unfit(
        self,
        envelopes: list[Envelope],
        raw_by_id: dict[str, dict[str, str]],
        dead: list[DeadLetter],
    ) -> int:
        if not envelopes:
            return 0
        try:
            return self.store(envelopes)
        except (DataError, IntegrityError):
            logger.warning(
                "a batch of %d facts has an unfit one; storing one by one", len(envelopes)
            )
        # The batch rolled back as a whole; store each fact alone so only the unfit ones fail.
        stored = 0
        for envelope in envelopes:
            try:
                stored += self.store([envelope])
            except (DataError, IntegrityError) as error:
                raw = raw_by_id[envelope.stream_id]
                dead.append(DeadLetter(envelope.stream_id, raw, str(error)))
        return stored

    def _acknowledge(self, stream_ids: Sequence[str], dead: Sequence[DeadLetter]) -> None:
        # One MULTI/EXEC: a dead letter is written exactly when its entry is acknowledged.
        pipe = self.redis.pipeline(transaction=True)
        for letter in dead:
            entry: dict[Any, Any] = {
                **letter.fields,
                "error": letter.error[:2000],
                "source_id": letter.stream_id,
                "source_stream": self.stream,
                "group": self.group,
            }
            pipe.xadd(
                self.dead_letter_stream, entry, maxlen=self.dead_letter_maxlen, approximate=True
            )
        if stream_ids:
            pipe.xack(self.stream, self.group, *stream_ids)
        pipe.execute()
        for letter in dead:
            logger.error("fact %s dead-lettered: %s", letter.stream_id, letter.error)

    def _read(self, start: str, block_ms: int | None) -> list[tuple[str, dict[str, str] | None]]:
        response: Any = self.redis.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=self.batch, block=block_ms
        )
        if not response:
            return []
        flattened = [entry for _stream, stream_entries in response for entry in stream_entries]
        return [
            (
                _text(stream_id),
                None if not raw else {_text(k): _text(v) for k, v in raw.items()},
            )
            for stream_id, raw in flattened
        ]

    def _reset_connection(self) -> None:
        # A broken connection stays broken; drop it so the retry opens a new one. Inside an
        # outer transaction (tests) the owner of that transaction decides.
        if not connection.in_atomic_block:
            connection.close()

    # --- recovery and housekeeping -------------------------------------------------------
    def claim_stale(self) -> int:
        """Take over entries other consumers left pending longer than ``claim_idle_ms``."""
        claimed = 0
        cursor = "0-0"
        # Not JUSTID: redis-py drops the cursor from a JUSTID reply, and the loop needs it.
        while True:
            response = self.redis.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                min_idle_time=self.claim_idle_ms,
                start_id=cursor,
                count=self.batch,
            )
            cursor = _text(response[0])
            claimed += len(response[1])
            if cursor == "0-0":
                break
        if claimed:
            logger.info("claimed %d stale pending facts", claimed)
            self.stats.claimed += claimed
            self._drain_own_pending = True
        return claimed

    def trim(self) -> int:
        """Delete entries every consumer group has acknowledged; return how many went.

        The floor is the oldest entry any group still needs: its oldest pending entry, or
        its last delivered one when nothing is pending. New deliveries only move past it.
        """
        groups = self.redis.xinfo_groups(self.stream)
        if not groups:
            return 0
        floor: str | None = None
        for info in groups:
            info = {_text(key): value for key, value in info.items()}
            candidates = [_text(info["last-delivered-id"])]
            if int(info["pending"]):
                summary = self.redis.xpending(self.stream, _text(info["name"]))
                if summary.get("min"):
                    candidates.append(_text(summary["min"]))
            for candidate in candidates:
                if floor is None or _id_key(candidate) < _id_key(floor):
                    floor = candidate
        if floor is None or _id_key(floor) == (0, 0):
            return 0
        removed = int(self.redis.xtrim(self.stream, minid=floor, approximate=self.trim_approximate))
        self.stats.trimmed += removed
        return removed

    def pending_count(self) -> int:
        """Entries delivered to this group and not yet acknowledged."""
        return int(self.redis.xpending(self.stream, self.group)["pending"])
