"""IVR flows (versioned JSON graphs), emergency notices, voicemail and the 12329 demo data.

Flows are edited here and published to Redis (ivr/snapshot.py) for the daemon, which never
reads these tables. The format of ``FlowVersion.definition`` is documented in docs/ivr.md
and checked by ``ivr_scripts.flow.validate_flow`` on every save.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ivr.choices import FlowSource, PromptLanguage, VoicemailStatus
from ivr_scripts.flow import validate_flow


def definition_checksum(definition: Any) -> str:
    """A stable hash of a flow definition: equal JSON, equal checksum."""
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Flow(models.Model):
    """An IVR flow a DID can name by its code; its content lives in versions."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("IVR flow")
        verbose_name_plural = _("IVR flows")
        ordering = ("code",)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def current_version(self) -> FlowVersion | None:
        return self.versions.order_by("-number").first()


class FlowVersion(models.Model):
    """One immutable version of a flow's node graph; the highest number is the live one."""

    flow = models.ForeignKey(
        Flow, on_delete=models.CASCADE, related_name="versions", verbose_name=_("flow")
    )
    number = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"))
    checksum = models.CharField(_("checksum"), max_length=64, editable=False)
    source = models.CharField(
        _("source"), max_length=10, choices=FlowSource, default=FlowSource.EDITOR
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("IVR flow version")
        verbose_name_plural = _("IVR flow versions")
        ordering = ("flow", "-number")
        constraints = [
            models.UniqueConstraint(fields=("flow", "number"), name="flowversion_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.flow.code} v{self.number}"

    def clean(self) -> None:
        problems = validate_flow(self.definition)
        if problems:
            raise ValidationError(
                {"definition": [ValidationError("%(p)s", params={"p": p}) for p in problems]},
                code="invalid_flow",
            )
        if self.flow_id and self.definition.get("code") != self.flow.code:
            raise ValidationError(
                {"definition": _("The definition's code must be the flow's code.")},
                code="code_mismatch",
            )

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Validated on every save, not only in forms: the daemon must never get a bad graph.
        self.clean()
        self.checksum = definition_checksum(self.definition)
        super().save(*args, **kwargs)


class EmergencyNotice(models.Model):
    """A notice typed by staff, synthesized offline, played at the start of chosen flows."""

    text = models.TextField(_("text"))
    language = models.CharField(
        _("language"), max_length=5, choices=PromptLanguage, default=PromptLanguage.CHINESE
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    flows = models.ManyToManyField(
        Flow,
        blank=True,
        related_name="notices",
        verbose_name=_("flows"),
        help_text=_("Leave empty to play the notice in every flow."),
    )
    audio_path = models.CharField(_("synthesized file"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("emergency notice")
        verbose_name_plural = _("emergency notices")
        ordering = ("-starts_at",)
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="emergencynotice_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.text[:40]

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError(
                {"ends_at": _("The notice must end after it starts.")}, code="time_range"
            )


class VoicemailMessage(models.Model):
    """A message a caller left for an agent group; its recording is listed on the desk."""

    call_uuid = models.CharField(_("call UUID"), max_length=64, unique=True)
    caller = models.CharField(_("caller"), max_length=32, blank=True)
    group = models.ForeignKey(
        "telephony.AgentGroup",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="voicemails",
        verbose_name=_("agent group"),
    )
    queue = models.CharField(_("queue"), max_length=50, blank=True)
    recording_path = models.CharField(_("recording"), max_length=500)
    duration_seconds = models.DecimalField(_("duration seconds"), max_digits=8, decimal_places=3)
    status = models.CharField(
        _("status"), max_length=10, choices=VoicemailStatus, default=VoicemailStatus.NEW
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    left_at = models.DateTimeField(_("left at"))

    class Meta:
        verbose_name = _("voicemail message")
        verbose_name_plural = _("voicemail messages")
        ordering = ("-left_at",)
        indexes = [models.Index(fields=("group", "status"), name="voicemail_group_status")]

    def __str__(self) -> str:
        return f"{self.caller} {self.left_at:%Y-%m-%d %H:%M}"


class VoicemailNotification(models.Model):
    """Tells one agent of the target group that a message is waiting."""

    message = models.ForeignKey(
        VoicemailMessage,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("message"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="voicemail_notifications",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("voicemail notification")
        verbose_name_plural = _("voicemail notifications")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(
                fields=("message", "user"), name="voicemailnotification_unique_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ← {self.message}"


class HousingFundAccount(models.Model):
    """Demo data for the 12329 hotline: a housing provident fund account (公积金账户)."""

    id_number = models.CharField(_("ID number"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=100)
    query_password = models.CharField(_("query password (hashed)"), max_length=128)
    balance = models.DecimalField(_("balance"), max_digits=12, decimal_places=2)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("housing-fund account")
        verbose_name_plural = _("housing-fund accounts")
        ordering = ("id_number",)

    def __str__(self) -> str:
        return f"{self.name} {self.id_number[:6]}…"

    def set_query_password(self, raw: str) -> None:
        self.query_password = make_password(raw)

    def check_query_password(self, raw: str) -> bool:
        return check_password(raw, self.query_password)


class HousingLoan(models.Model):
    """Demo data for the 12329 hotline: a housing-fund loan of an account."""

    account = models.ForeignKey(
        HousingFundAccount,
        on_delete=models.CASCADE,
        related_name="loans",
        verbose_name=_("account"),
    )
    contract_number = models.CharField(_("contract number"), max_length=30, unique=True)
    principal = models.DecimalField(_("principal"), max_digits=12, decimal_places=2)
    remaining_principal = models.DecimalField(
        _("remaining principal"), max_digits=12, decimal_places=2
    )
    monthly_payment = models.DecimalField(_("monthly payment"), max_digits=10, decimal_places=2)
    next_due_date = models.DateField(_("next due date"))

    class Meta:
        verbose_name = _("housing-fund loan")
        verbose_name_plural = _("housing-fund loans")
        ordering = ("account", "next_due_date")

    def __str__(self) -> str:
        return self.contract_number
