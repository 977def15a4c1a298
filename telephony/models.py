"""Telephony configuration owned by Django and pushed to the CTI daemon as a snapshot.

Agents, groups, queues, DIDs, calendars, blacklists and busy reasons are written only here;
every committed change publishes a new versioned snapshot to Redis (see snapshot.py).
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from telephony.choices import (
    BlockAction,
    BlockCategory,
    Direction,
    ExceptionKind,
    GroupKind,
    Language,
    MatchKind,
    NoAgentRule,
    OverflowKind,
    Strategy,
    Weekday,
)
from telephony.validators import validate_extension, validate_number_prefix, validate_phone_number


def _new_sip_password() -> str:
    return secrets.token_urlsafe(12)


class Skill(models.Model):
    """A skill agents hold at a level and queues may require (e.g. English, loans)."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ("code",)

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    """A seat: a person with an employee number (工号) who answers calls on an extension."""

    employee_number = models.CharField(
        _("employee number"),
        max_length=20,
        unique=True,
        validators=[validate_extension],
        help_text=_("Announced to callers when the call reaches the agent."),
        error_messages={"unique": _("An agent with this employee number already exists.")},
    )
    name = models.CharField(_("name"), max_length=100)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agent",
    )
    extension = models.CharField(
        _("SIP extension"),
        max_length=10,
        unique=True,
        validators=[validate_extension],
        error_messages={"unique": _("Another agent already uses this extension.")},
    )
    sip_password = models.CharField(_("SIP password"), max_length=64, default=_new_sip_password)
    enabled = models.BooleanField(_("enabled"), default=True)
    max_no_answer = models.PositiveSmallIntegerField(
        _("max consecutive no-answers"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text=_("After this many unanswered offers in a row the agent is set busy."),
    )
    wrap_up_seconds = models.PositiveSmallIntegerField(
        _("wrap-up seconds"), default=10, validators=[MaxValueValidator(3600)]
    )
    reject_delay_seconds = models.PositiveSmallIntegerField(
        _("reject delay seconds"), default=10, validators=[MaxValueValidator(600)]
    )
    busy_delay_seconds = models.PositiveSmallIntegerField(
        _("busy delay seconds"), default=30, validators=[MaxValueValidator(600)]
    )
    skills = models.ManyToManyField(
        Skill, through="AgentSkill", verbose_name=_("skills"), blank=True, related_name="agents"
    )

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ("employee_number",)

    def __str__(self) -> str:
        return f"{self.employee_number} {self.name}"


class AgentSkill(models.Model):
    """The level (1–10) at which an agent holds a skill."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, verbose_name=_("agent"))
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, verbose_name=_("skill"))
    level = models.PositiveSmallIntegerField(
        _("level"), default=5, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )

    class Meta:
        verbose_name = _("agent skill")
        verbose_name_plural = _("agent skills")
        ordering = ("agent", "skill")
        constraints = [
            models.UniqueConstraint(fields=("agent", "skill"), name="agentskill_unique_agent_skill")
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.skill} {self.level}"


class AgentGroup(models.Model):
    """A team or skill group of agents; supervisors watch and steer their groups' agents."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=GroupKind, default=GroupKind.TEAM)
    description = models.TextField(_("description"), blank=True)
    members = models.ManyToManyField(
        Agent, through="GroupMembership", verbose_name=_("members"), related_name="agent_groups"
    )
    supervisors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("supervisors"),
        blank=True,
        related_name="supervised_groups",
    )

    class Meta:
        verbose_name = _("agent group")
        verbose_name_plural = _("agent groups")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class GroupMembership(models.Model):
    """An agent in a group, with a level and a position for top-down routing."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, verbose_name=_("agent"))
    group = models.ForeignKey(AgentGroup, on_delete=models.CASCADE, verbose_name=_("group"))
    level = models.PositiveSmallIntegerField(
        _("level"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("Top-down routing offers lower levels first."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=1)

    class Meta:
        verbose_name = _("group membership")
        verbose_name_plural = _("group memberships")
        ordering = ("group", "level", "position")
        constraints = [
            models.UniqueConstraint(
                fields=("agent", "group"), name="groupmembership_unique_agent_group"
            )
        ]

    def __str__(self) -> str:
        return f"{self.group}: {self.agent}"


class BusinessCalendar(models.Model):
    """Working hours per weekday, holidays and one-off exceptions (调休)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("business-hours calendar")
        verbose_name_plural = _("business-hours calendars")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


def _check_time_range(start: dt.time | None, end: dt.time | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValidationError(
            {"end_time": _("The end time must be later than the start time.")}, code="time_range"
        )


class BusinessHours(models.Model):
    """One opening period on a weekday (several per day are allowed, e.g. a lunch break)."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="hours", verbose_name=_("calendar")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday)
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(_("end time"))

    class Meta:
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")
        ordering = ("calendar", "weekday", "start_time")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")),
                name="businesshours_end_after_start",
            )
        ]

    def clean(self) -> None:
        _check_time_range(self.start_time, self.end_time)

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class Holiday(models.Model):
    """A closed period of whole days (e.g. 春节 from the 28th to the 4th)."""

    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.CASCADE,
        related_name="holidays",
        verbose_name=_("calendar"),
    )
    name = models.CharField(_("name"), max_length=100)
    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"))

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ("calendar", "start_date")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")),
                name="holiday_end_not_before_start",
            )
        ]

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError(
                {"end_date": _("The holiday cannot end before it starts.")}, code="date_range"
            )

    def __str__(self) -> str:
        return f"{self.name} {self.start_date}–{self.end_date}"


class CalendarException(models.Model):
    """A one-off day that differs from the weekly rule: a working weekend or a closed day."""

    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.CASCADE,
        related_name="exceptions",
        verbose_name=_("calendar"),
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=ExceptionKind)
    start_time = models.TimeField(_("start time"), null=True, blank=True)
    end_time = models.TimeField(_("end time"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")
        ordering = ("calendar", "date")
        constraints = [
            models.UniqueConstraint(
                fields=("calendar", "date"), name="calendarexception_unique_calendar_date"
            )
        ]

    def clean(self) -> None:
        if self.kind == ExceptionKind.OPEN and (self.start_time is None or self.end_time is None):
            raise ValidationError(
                {"start_time": _("An open day needs a start and an end time.")},
                code="open_needs_hours",
            )
        _check_time_range(self.start_time, self.end_time)

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


# FreeSWITCH's own music on hold stream (local_stream.conf.xml's "moh").
DEFAULT_MUSIC_ON_HOLD = "local_stream://moh"


def validate_sound_source(value: str) -> None:
    """A sound the switch can play as music or ringback: a stream (``scheme://...``) or an
    absolute file path. A relative name is read by FreeSWITCH as a tone script, which fails:
    the agents' phones are cancelled as soon as they ring."""
    if "://" in value or value.startswith("/"):
        return
    raise ValidationError(
        _("Use a stream such as local_stream://moh or an absolute file path, not %(value)s."),
        params={"value": value},
    )


class Queue(models.Model):
    """An ACD queue: who may answer, in what order, and what callers hear while they wait."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    group = models.ForeignKey(
        AgentGroup,
        on_delete=models.PROTECT,
        verbose_name=_("agent group"),
        related_name="queues",
        help_text=_("Agents of this group answer the queue."),
    )
    strategy = models.CharField(
        _("strategy"), max_length=20, choices=Strategy, default=Strategy.LONGEST_IDLE
    )
    priority = models.SmallIntegerField(
        _("priority"), default=0, help_text=_("Higher numbers are served first.")
    )
    music_on_hold = models.CharField(
        _("music on hold"),
        max_length=255,
        default=DEFAULT_MUSIC_ON_HOLD,
        validators=[validate_sound_source],
        help_text=_(
            "What waiting callers hear: a stream such as local_stream://moh, or the absolute "
            "path of a sound file on the switch."
        ),
    )
    greeting_prompt = models.CharField(_("queue greeting prompt"), max_length=255, blank=True)
    announce_position = models.BooleanField(_("announce position"), default=True)
    announce_wait_time = models.BooleanField(_("announce estimated wait"), default=True)
    announce_interval_seconds = models.PositiveSmallIntegerField(
        _("announcement interval seconds"), default=30, validators=[MinValueValidator(10)]
    )
    announce_employee_number = models.BooleanField(
        _("announce the agent's employee number"), default=True
    )
    ring_timeout_seconds = models.PositiveSmallIntegerField(
        _("ring timeout seconds"),
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(120)],
        help_text=_("An offer not answered within this time goes to the next agent."),
    )
    max_wait_seconds = models.PositiveIntegerField(
        _("maximum wait seconds"), default=300, validators=[MinValueValidator(10)]
    )
    no_agent_rule = models.CharField(
        _("when no agent is logged in"),
        max_length=10,
        choices=NoAgentRule,
        default=NoAgentRule.OVERFLOW,
    )
    overflow_kind = models.CharField(
        _("overflow to"), max_length=10, choices=OverflowKind, default=OverflowKind.VOICEMAIL
    )
    overflow_queue = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("overflow queue"),
        related_name="overflow_sources",
    )
    overflow_target = models.CharField(
        _("overflow target"),
        max_length=100,
        blank=True,
        help_text=_("The IVR node or outside number, when overflowing to one of those."),
    )
    service_level_seconds = models.PositiveSmallIntegerField(
        _("service level threshold seconds"),
        default=20,
        help_text=_("Calls answered within this time count toward the service level."),
    )
    vip_priority_boost = models.SmallIntegerField(_("VIP priority boost"), default=10)
    long_distance_priority_boost = models.SmallIntegerField(
        _("long-distance priority boost"), default=0
    )
    route_to_owner_agent = models.BooleanField(
        _("route to the customer's owner agent first"), default=True
    )
    last_agent_lookback_days = models.PositiveSmallIntegerField(
        _("last-agent look-back days"),
        default=0,
        help_text=_("0 turns off routing to the agent who served the caller last."),
    )
    leave_message_key = models.CharField(
        _("key to leave a message"), max_length=1, blank=True, default="1"
    )
    callback_key = models.CharField(_("key to request a callback"), max_length=1, blank=True)
    required_skills = models.ManyToManyField(
        Skill, through="QueueSkill", verbose_name=_("required skills"), blank=True
    )

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ("-priority", "code")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        if self.overflow_kind == OverflowKind.QUEUE:
            if self.overflow_queue_id is None:
                errors["overflow_queue"] = ValidationError(
                    _("Choose the queue to overflow to."), code="overflow_queue_missing"
                )
            elif self.pk is not None and self.overflow_queue_id == self.pk:
                errors["overflow_queue"] = ValidationError(
                    _("A queue cannot overflow to itself."), code="overflow_to_self"
                )
        if self.overflow_kind == OverflowKind.NUMBER:
            try:
                validate_phone_number(self.overflow_target)
            except ValidationError as exc:
                errors["overflow_target"] = exc
        if self.overflow_kind == OverflowKind.IVR and not self.overflow_target:
            errors["overflow_target"] = ValidationError(
                _("Name the IVR flow or node to overflow to."), code="overflow_ivr_missing"
            )
        keys = [k for k in (self.leave_message_key, self.callback_key) if k]
        for field in ("leave_message_key", "callback_key"):
            value = getattr(self, field)
            if value and value not in "0123456789*#":
                errors[field] = ValidationError(_("Use one key: 0-9, * or #."), code="bad_key")
        if len(keys) == 2 and keys[0] == keys[1]:
            errors["callback_key"] = ValidationError(
                _("The callback key must differ from the message key."), code="same_key"
            )
        if errors:
            raise ValidationError(errors)


class QueueSkill(models.Model):
    """A skill a queue requires, with the minimum level an agent needs to be offered its calls."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, verbose_name=_("queue"))
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, verbose_name=_("skill"))
    min_level = models.PositiveSmallIntegerField(
        _("minimum level"), default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )

    class Meta:
        verbose_name = _("queue skill")
        verbose_name_plural = _("queue skills")
        ordering = ("queue", "skill")
        constraints = [
            models.UniqueConstraint(fields=("queue", "skill"), name="queueskill_unique_queue_skill")
        ]

    def __str__(self) -> str:
        return f"{self.queue}: {self.skill} ≥ {self.min_level}"


class DID(models.Model):
    """A dialled number (DID) and the IVR flow and language that answer it."""

    number = models.CharField(
        _("number"),
        max_length=21,
        unique=True,
        validators=[validate_phone_number],
        error_messages={"unique": _("This number is already configured.")},
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    flow = models.CharField(
        _("IVR flow"), max_length=50, help_text=_("The code of the IVR flow that answers.")
    )
    language = models.CharField(
        _("language"), max_length=5, choices=Language, default=Language.CHINESE
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("business-hours calendar"),
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("DID")
        verbose_name_plural = _("DIDs")
        ordering = ("number",)

    def __str__(self) -> str:
        return f"{self.number} {self.name}".strip()


class BlacklistEntry(models.Model):
    """A number or prefix blocked inbound, outbound or both, permanently or until a time."""

    pattern = models.CharField(_("number or prefix"), max_length=21)
    match = models.CharField(_("match"), max_length=10, choices=MatchKind, default=MatchKind.EXACT)
    direction = models.CharField(
        _("direction"), max_length=4, choices=Direction, default=Direction.INBOUND
    )
    category = models.CharField(
        _("category"), max_length=12, choices=BlockCategory, default=BlockCategory.BLACKLIST
    )
    action = models.CharField(
        _("action"), max_length=10, choices=BlockAction, default=BlockAction.PLAY_NOTICE
    )
    reason = models.CharField(_("reason"), max_length=200)
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("Empty means the entry never lapses.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("added by"),
        related_name="+",
    )
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist entries")
        ordering = ("pattern",)
        constraints = [
            models.UniqueConstraint(
                fields=("pattern", "match", "direction"),
                name="blacklistentry_unique_pattern_match_direction",
            )
        ]

    def __str__(self) -> str:
        return self.pattern

    def clean(self) -> None:
        exact = self.match == MatchKind.EXACT
        validator = validate_phone_number if exact else validate_number_prefix
        try:
            validator(self.pattern)
        except ValidationError as exc:
            raise ValidationError({"pattern": exc}) from exc

    def is_active(self, at: dt.datetime | None = None) -> bool:
        return self.expires_at is None or self.expires_at > (at or timezone.now())


# The reasons the daemon sets by itself: code -> (Chinese name, English name). Migrations
# 0002 and 0003 create them as rows (an admin may rename them); pages fall back on these
# names when a row is missing.
SYSTEM_BUSY_REASONS = {
    "no_answer": ("未接来电", "Did not answer"),
    "forced": ("班长置忙", "Set busy by supervisor"),
    "outbound": ("外呼", "Outbound call"),
    "consult": ("咨询", "Consulted by a colleague"),
}


class BusyReason(models.Model):
    """A reason an agent gives for not taking calls (lunch, training, after-call work...)."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    enabled = models.BooleanField(_("enabled"), default=True)
    system = models.BooleanField(
        _("set by the system"),
        default=False,
        help_text=_("Reasons the daemon sets itself, such as repeated no-answers."),
    )

    class Meta:
        verbose_name = _("busy reason")
        verbose_name_plural = _("busy reasons")
        ordering = ("order", "code")

    def __str__(self) -> str:
        return self.name
