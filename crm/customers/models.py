"""Customers, their phone numbers, admin-defined custom fields and spreadsheet jobs.

Custom field values live in one JSON column on Customer (keyed by CustomFieldDefinition.key),
so adding the 130th field is a row in a table, not a schema change. The values are validated
against the definitions by services.validate_custom_fields before every save that goes through
the services.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from crm.customers.choices import FieldType, JobKind, JobStatus, PhoneKind, VipLevel

validate_field_key = RegexValidator(
    r"^[a-z][a-z0-9_]{0,49}$",
    _("Use lowercase letters, digits and underscores, starting with a letter."),
)


class CodeTable(models.Model):
    """A named list of codes (e.g. industries, provinces) a custom field can look values up in."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("code table")
        verbose_name_plural = _("code tables")
        ordering = ("key",)

    def __str__(self) -> str:
        return self.name


class CodeTableEntry(models.Model):
    """One code of a code table with its labels in both languages."""

    table = models.ForeignKey(
        CodeTable, verbose_name=_("code table"), on_delete=models.CASCADE, related_name="entries"
    )
    code = models.CharField(_("code"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    label_en = models.CharField(_("English label"), max_length=100, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("code table entry")
        verbose_name_plural = _("code table entries")
        ordering = ("table", "order", "code")
        constraints = [
            models.UniqueConstraint(
                fields=("table", "code"), name="customers_codeentry_unique_code"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class CustomFieldDefinition(models.Model):
    """An admin-defined customer attribute: its key in Customer.custom_fields and its rules."""

    key = models.CharField(_("key"), max_length=50, unique=True, validators=[validate_field_key])
    label = models.CharField(_("label"), max_length=100)
    label_en = models.CharField(_("English label"), max_length=100, blank=True)
    field_type = models.CharField(
        _("type"), max_length=20, choices=FieldType.choices, default=FieldType.TEXT
    )
    required = models.BooleanField(_("required"), default=False)
    order = models.PositiveIntegerField(_("order"), default=0)
    show_in_screen_pop = models.BooleanField(
        _("show in screen pop"),
        default=False,
        help_text=_("Shown to the agent when a call from this customer rings."),
    )
    choices = models.JSONField(
        _("choices"),
        default=list,
        blank=True,
        help_text=_("The allowed values of a choice or multiple-choice field, as a list."),
    )
    code_table = models.ForeignKey(
        CodeTable,
        verbose_name=_("code table"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fields",
    )

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ("order", "key")
        constraints = [
            models.CheckConstraint(
                condition=Q(field_type=FieldType.CODE_TABLE, code_table__isnull=False)
                | (~Q(field_type=FieldType.CODE_TABLE) & Q(code_table__isnull=True)),
                name="customers_field_code_table_iff_lookup",
            )
        ]

    def __str__(self) -> str:
        return self.display_label

    @property
    def display_label(self) -> str:
        """The label in the active language (English falls back to the Chinese label)."""
        if (get_language() or "").startswith("en") and self.label_en:
            return self.label_en
        return self.label

    def clean(self) -> None:
        if self.field_type in (FieldType.CHOICE, FieldType.MULTI_CHOICE):
            if not isinstance(self.choices, list) or not self.choices:
                raise ValidationError({"choices": _("A choice field needs a list of choices.")})
            if not all(isinstance(choice, str) and choice for choice in self.choices):
                raise ValidationError({"choices": _("Every choice must be a non-empty text.")})
        if self.field_type == FieldType.CODE_TABLE and self.code_table_id is None:
            raise ValidationError({"code_table": _("A code-table field needs a code table.")})
        if self.field_type != FieldType.CODE_TABLE and self.code_table_id is not None:
            raise ValidationError({"code_table": _("Only code-table fields use a code table.")})


class Customer(models.Model):
    """A person or company the center serves, with its numbers and custom field values."""

    name = models.CharField(_("name"), max_length=200, db_index=True)
    vip_level = models.CharField(
        _("VIP level"), max_length=20, choices=VipLevel.choices, default=VipLevel.REGULAR
    )
    owner = models.ForeignKey(
        "telephony.Agent",
        verbose_name=_("owner agent"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
    )
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.name


class CustomerPhone(models.Model):
    """One of a customer's numbers, stored in E.164 so any dialled form finds the customer."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="phones"
    )
    number = models.CharField(_("number (E.164)"), max_length=20)
    kind = models.CharField(
        _("kind"), max_length=10, choices=PhoneKind.choices, default=PhoneKind.MOBILE
    )
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("customer phone")
        verbose_name_plural = _("customer phones")
        ordering = ("customer", "-is_primary", "id")
        constraints = [
            # Unique so a caller ID leads to exactly one customer; the unique index is also the
            # index find_customer_by_phone uses.
            models.UniqueConstraint(fields=("number",), name="customers_phone_unique_number"),
        ]

    def __str__(self) -> str:
        return self.number


class SpreadsheetJob(models.Model):
    """A customer import or export run in the background; its progress is polled by the page."""

    kind = models.CharField(_("kind"), max_length=10, choices=JobKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    source = models.FileField(_("uploaded file"), upload_to="crm/imports/", blank=True)
    result = models.FileField(_("result file"), upload_to="crm/jobs/", blank=True)
    query = models.JSONField(
        _("filter"), default=dict, blank=True, help_text=_("The list filter an export applies.")
    )
    total_rows = models.PositiveIntegerField(_("total rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("processed rows"), default=0)
    imported_rows = models.PositiveIntegerField(_("imported rows"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("spreadsheet job")
        verbose_name_plural = _("spreadsheet jobs")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(processed_rows__lte=models.F("total_rows")),
                name="customers_job_processed_le_total",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def percent(self) -> int:
        """Progress from 0 to 100 for the progress bar."""
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)
