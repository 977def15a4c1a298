"""Durable history: the facts the daemon emitted, as the persister stored them.

Only the persister (cti/persister.py) writes these tables (ARCHITECTURE rule 1); the admin
shows them read-only and reports query them. Each table is keyed so that storing the same
fact twice changes nothing: facts that stand alone are unique on (subject, seq), the
(call UUID or "agent:<id>", per-subject sequence number) pair the writer gives every fact;
facts that complete one another share a natural key (a call's UUID, a leg's UUID, a queue
entry's call, queue and entry time).

Agents, queues and groups are stored by id or code, not by foreign key: history outlives the
configuration it mentions, and the persister must never fail because a row was deleted.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    INTERNAL = "internal", _("Internal")


class LegParty(models.TextChoices):
    """Who is on the far end of a leg."""

    CALLER = "caller", _("Caller")
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    EXTERNAL = "external", _("Outside number")
    IVR = "ivr", _("IVR")
    VOICEMAIL = "voicemail", _("Voicemail")


class QueueOutcome(models.TextChoices):
    """How a queue entry ended; "waiting" until its exit fact is stored."""

    WAITING = "waiting", _("Waiting")
    ANSWERED = "answered", _("Answered")
    ABANDONED = "abandoned", _("Abandoned")
    OVERFLOWED = "overflowed", _("Overflowed")
    VOICEMAIL = "voicemail", _("Voicemail")
    CALLBACK = "callback", _("Callback requested")


class SupervisorActionKind(models.TextChoices):
    LISTEN = "listen", _("Listen")
    WHISPER = "whisper", _("Whisper")
    BARGE = "barge", _("Barge in")
    HANGUP = "hangup", _("Hang up")
    LOGOUT = "logout", _("Force logout")
    BUSY = "busy", _("Force busy")
    READY = "ready", _("Force ready")


class ActionResult(models.TextChoices):
    OK = "ok", _("Succeeded")
    FAILED = "failed", _("Failed")


class SequencedFact(models.Model):
    """A fact that stands alone, identified by the writer's (subject, seq)."""

    subject = models.CharField(_("subject"), max_length=100)
    seq = models.BigIntegerField(_("sequence number"))

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=("subject", "seq"), name="%(app_label)s_%(class)s_subject_seq"
            ),
        ]


class CallRecord(models.Model):
    """The CDR of one call: opened by call_started, completed by call_ended."""

    call_uuid = models.CharField(_("call UUID"), max_length=64, unique=True)
    direction = models.CharField(
        _("direction"), max_length=16, choices=CallDirection.choices, blank=True
    )
    caller = models.CharField(_("caller number"), max_length=64, blank=True)
    callee = models.CharField(_("called number"), max_length=64, blank=True)
    did = models.CharField(_("DID"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    duration_seconds = models.FloatField(_("duration (s)"), null=True, blank=True)
    talk_seconds = models.FloatField(_("talk time (s)"), null=True, blank=True)
    hangup_cause = models.CharField(_("hangup cause"), max_length=64, blank=True)
    hangup_by = models.CharField(_("hung up by"), max_length=16, blank=True)
    queue = models.CharField(_("queue"), max_length=64, blank=True)
    agent_id = models.PositiveIntegerField(_("agent id"), null=True, blank=True)
    ivr_flow = models.CharField(_("IVR flow"), max_length=100, blank=True)
    recording_path = models.CharField(_("recording path"), max_length=500, blank=True)
    node = models.CharField(_("FreeSWITCH node"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("call record")
        verbose_name_plural = _("call records")
        ordering = ("-started_at", "-id")
        indexes = [
            models.Index(fields=("started_at",), name="cti_call_started_idx"),
            models.Index(fields=("agent_id", "started_at"), name="cti_call_agent_idx"),
            models.Index(fields=("queue", "started_at"), name="cti_call_queue_idx"),
            models.Index(fields=("caller",), name="cti_call_caller_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.caller} → {self.callee} ({self.call_uuid})"


class CallLeg(models.Model):
    """The CDR of one leg of a call (the caller, an agent, a supervisor, an outside party)."""

    leg_uuid = models.CharField(_("leg UUID"), max_length=64, unique=True)
    call_uuid = models.CharField(_("call UUID"), max_length=64, db_index=True)
    party = models.CharField(_("party"), max_length=16, choices=LegParty.choices)
    number = models.CharField(_("number"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"))
    duration_seconds = models.FloatField(_("duration (s)"))
    talk_seconds = models.FloatField(_("talk time (s)"), null=True, blank=True)
    hangup_cause = models.CharField(_("hangup cause"), max_length=64, blank=True)
    agent_id = models.PositiveIntegerField(_("agent id"), null=True, blank=True)

    class Meta:
        verbose_name = _("call leg")
        verbose_name_plural = _("call legs")
        ordering = ("-started_at", "-id")
        indexes = [
            models.Index(fields=("started_at",), name="cti_leg_started_idx"),
            models.Index(fields=("agent_id", "started_at"), name="cti_leg_agent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_party_display()} {self.number} ({self.leg_uuid})"


class AgentStateChange(SequencedFact):
    """One change of an agent's state, with how long the previous state lasted."""

    agent_id = models.PositiveIntegerField(_("agent id"))
    old_state = models.CharField(_("old state"), max_length=32)
    new_state = models.CharField(_("new state"), max_length=32)
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    changed_at = models.DateTimeField(_("changed at"))
    old_state_seconds = models.FloatField(_("time in old state (s)"), null=True, blank=True)
    call_uuid = models.CharField(_("call UUID"), max_length=64, blank=True)

    class Meta(SequencedFact.Meta):
        verbose_name = _("agent state change")
        verbose_name_plural = _("agent state changes")
        ordering = ("-changed_at", "-seq")
        indexes = [
            models.Index(fields=("changed_at",), name="cti_state_changed_idx"),
            models.Index(fields=("agent_id", "changed_at"), name="cti_state_agent_idx"),
        ]

    def __str__(self) -> str:
        return f"agent {self.agent_id}: {self.old_state} → {self.new_state}"


class QueueEntry(models.Model):
    """One stay of a call in a queue; abandoned calls (呼损) are entries with that outcome.

    queue_entered opens it; queue_exited or call_abandoned closes it. Both name the entry by
    (call UUID, queue, time of entry), so they merge whichever is stored first.
    """

    call_uuid = models.CharField(_("call UUID"), max_length=64)
    queue = models.CharField(_("queue"), max_length=64)
    entered_at = models.DateTimeField(_("entered at"))
    entry_position = models.PositiveIntegerField(_("position at entry"), null=True, blank=True)
    exited_at = models.DateTimeField(_("exited at"), null=True, blank=True)
    wait_seconds = models.FloatField(_("wait (s)"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=QueueOutcome.choices, default=QueueOutcome.WAITING
    )
    exit_position = models.PositiveIntegerField(_("position at exit"), null=True, blank=True)
    agent_id = models.PositiveIntegerField(_("answering agent id"), null=True, blank=True)
    overflow_target = models.CharField(_("overflow target"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("queue entry")
        verbose_name_plural = _("queue entries")
        ordering = ("-entered_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("call_uuid", "queue", "entered_at"), name="cti_queueentry_natural_key"
            ),
        ]
        indexes = [
            models.Index(fields=("queue", "entered_at"), name="cti_qentry_queue_idx"),
            models.Index(fields=("outcome", "entered_at"), name="cti_qentry_outcome_idx"),
            models.Index(fields=("agent_id", "entered_at"), name="cti_qentry_agent_idx"),
            models.Index(fields=("entered_at",), name="cti_qentry_entered_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.queue}: {self.call_uuid} ({self.get_outcome_display()})"


class Recording(SequencedFact):
    """A recording file of a call, as saved on disk."""

    call_uuid = models.CharField(_("call UUID"), max_length=64, db_index=True)
    path = models.CharField(_("path"), max_length=500)
    duration_seconds = models.FloatField(_("duration (s)"))
    size_bytes = models.BigIntegerField(_("size (bytes)"))
    channels = models.PositiveSmallIntegerField(_("channels"))
    agent_id = models.PositiveIntegerField(_("agent id"), null=True, blank=True)
    saved_at = models.DateTimeField(_("saved at"))

    class Meta(SequencedFact.Meta):
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")
        ordering = ("-saved_at", "-seq")
        indexes = [
            models.Index(fields=("saved_at",), name="cti_recording_saved_idx"),
            models.Index(fields=("agent_id", "saved_at"), name="cti_recording_agent_idx"),
        ]

    def __str__(self) -> str:
        return self.path


class SurveyScore(SequencedFact):
    """A caller's satisfaction score after a call: 1 (very unsatisfied) to 4 (very satisfied)."""

    call_uuid = models.CharField(_("call UUID"), max_length=64, db_index=True)
    score = models.PositiveSmallIntegerField(_("score"))
    agent_id = models.PositiveIntegerField(_("agent id"), null=True, blank=True)
    queue = models.CharField(_("queue"), max_length=64, blank=True)
    scored_at = models.DateTimeField(_("scored at"))

    class Meta(SequencedFact.Meta):
        verbose_name = _("survey score")
        verbose_name_plural = _("survey scores")
        ordering = ("-scored_at", "-seq")
        constraints = [
            *SequencedFact.Meta.constraints,
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=4), name="cti_surveyscore_score_range"
            ),
        ]
        indexes = [
            models.Index(fields=("scored_at",), name="cti_survey_scored_idx"),
            models.Index(fields=("agent_id", "scored_at"), name="cti_survey_agent_idx"),
            models.Index(fields=("queue", "scored_at"), name="cti_survey_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.call_uuid}: {self.score}"


class IvrPath(SequencedFact):
    """The nodes one call visited in an IVR flow, the digits it pressed, what it set."""

    call_uuid = models.CharField(_("call UUID"), max_length=64, db_index=True)
    flow = models.CharField(_("IVR flow"), max_length=100)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    nodes = models.JSONField(_("nodes visited"), default=list)
    digits = models.JSONField(_("digits collected"), default=dict)
    variables = models.JSONField(_("variables"), default=dict)
    exit = models.CharField(_("exit"), max_length=100, blank=True)

    class Meta(SequencedFact.Meta):
        verbose_name = _("IVR path")
        verbose_name_plural = _("IVR paths")
        ordering = ("-finished_at", "-seq")
        indexes = [
            models.Index(fields=("finished_at",), name="cti_ivr_finished_idx"),
            models.Index(fields=("flow", "finished_at"), name="cti_ivr_flow_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.flow}: {self.call_uuid}"


class SupervisorAction(SequencedFact):
    """Audit trail of supervisor interventions (listen, whisper, barge, forced states...)."""

    supervisor_id = models.PositiveIntegerField(_("supervisor user id"))
    action = models.CharField(_("action"), max_length=16, choices=SupervisorActionKind.choices)
    result = models.CharField(_("result"), max_length=16, choices=ActionResult.choices)
    target_agent_id = models.PositiveIntegerField(_("target agent id"), null=True, blank=True)
    target_call_uuid = models.CharField(_("target call UUID"), max_length=64, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    acted_at = models.DateTimeField(_("acted at"))

    class Meta(SequencedFact.Meta):
        verbose_name = _("supervisor action")
        verbose_name_plural = _("supervisor actions")
        ordering = ("-acted_at", "-seq")
        indexes = [
            models.Index(fields=("acted_at",), name="cti_supact_acted_idx"),
            models.Index(fields=("supervisor_id", "acted_at"), name="cti_supact_supervisor_idx"),
            models.Index(fields=("target_agent_id", "acted_at"), name="cti_supact_agent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.supervisor_id}: {self.action} ({self.result})"


class Voicemail(SequencedFact):
    """A voice message a caller left for an agent group."""

    call_uuid = models.CharField(_("call UUID"), max_length=64, db_index=True)
    caller = models.CharField(_("caller number"), max_length=64, blank=True)
    group_id = models.PositiveIntegerField(_("agent group id"), null=True, blank=True)
    path = models.CharField(_("path"), max_length=500)
    duration_seconds = models.FloatField(_("duration (s)"))
    left_at = models.DateTimeField(_("left at"))

    class Meta(SequencedFact.Meta):
        verbose_name = _("voicemail")
        verbose_name_plural = _("voicemails")
        ordering = ("-left_at", "-seq")
        indexes = [
            models.Index(fields=("left_at",), name="cti_voicemail_left_idx"),
            models.Index(fields=("group_id", "left_at"), name="cti_voicemail_group_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.caller}: {self.path}"
