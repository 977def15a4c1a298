"""Enumerations of the telephony configuration."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Strategy(models.TextChoices):
    """How a queue orders the ready agents it may offer a call to."""

    ROUND_ROBIN = "round_robin", _("Round robin")
    FEWEST_CALLS = "fewest_calls", _("Fewest calls")
    LONGEST_IDLE = "longest_idle", _("Longest idle")
    LEAST_TALK_TIME = "least_talk_time", _("Least talk time")
    TOP_DOWN = "top_down", _("Top down by level and position")
    RING_ALL = "ring_all", _("Ring all")
    RANDOM = "random", _("Random")


class OverflowKind(models.TextChoices):
    """Where a call goes when it waited too long or nobody can take it."""

    NONE = "none", _("Keep waiting")
    QUEUE = "queue", _("Another queue")
    VOICEMAIL = "voicemail", _("Voicemail")
    IVR = "ivr", _("IVR node")
    NUMBER = "number", _("Outside number")
    HANGUP = "hangup", _("Play a notice and hang up")


class NoAgentRule(models.TextChoices):
    """What a queue does when no agent is logged in at all."""

    OVERFLOW = "overflow", _("Overflow at once")
    WAIT = "wait", _("Wait until the maximum wait time")


class GroupKind(models.TextChoices):
    TEAM = "team", _("Agent group")
    SKILL = "skill", _("Skill group")


class Language(models.TextChoices):
    CHINESE = "zh", _("Chinese")
    ENGLISH = "en", _("English")


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")
    BOTH = "both", _("Both")


class MatchKind(models.TextChoices):
    EXACT = "exact", _("Exact number")
    PREFIX = "prefix", _("Number prefix")


class BlockCategory(models.TextChoices):
    BLACKLIST = "blacklist", _("Blacklist")
    HARASSMENT = "harassment", _("Harassment")


class BlockAction(models.TextChoices):
    PLAY_NOTICE = "notice", _("Play a notice, then hang up")
    DROP = "drop", _("Hang up at once")


class ExceptionKind(models.TextChoices):
    OPEN = "open", _("Open (working day)")
    CLOSED = "closed", _("Closed")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")
