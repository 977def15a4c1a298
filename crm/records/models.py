"""Service records (业务记录): what a caller wanted, how it is categorized and followed up."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from crm.records.choices import MAX_CATEGORY_LEVEL, CategoryLevel, StatusKind


class ServiceCategory(models.Model):
    """A node of the three-level category tree: directory → type → name.

    Records point at level-3 nodes (leaves). The level is derived from the parent on save.
    """

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    level = models.PositiveSmallIntegerField(
        _("level"), choices=CategoryLevel.choices, default=CategoryLevel.DIRECTORY, editable=False
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service category")
        verbose_name_plural = _("service categories")
        ordering = ("level", "order", "name")
        constraints = [
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=MAX_CATEGORY_LEVEL),
                name="records_category_level_1_to_3",
            ),
            models.CheckConstraint(
                condition=Q(level=1, parent__isnull=True) | Q(level__gt=1, parent__isnull=False),
                name="records_category_root_iff_level_1",
            ),
            models.UniqueConstraint(
                fields=("parent", "name"), name="records_category_unique_name_in_parent"
            ),
            models.UniqueConstraint(
                fields=("name",),
                condition=Q(parent__isnull=True),
                name="records_category_unique_root_name",
            ),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def display_name(self) -> str:
        """The name in the active language."""
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name

    @property
    def path(self) -> str:
        """ "Directory / Type / Name" (reads parents: select_related them for lists)."""
        names = []
        node: ServiceCategory | None = self
        while node is not None:
            names.append(node.display_name)
            node = node.parent
        return " / ".join(reversed(names))

    @property
    def is_leaf_level(self) -> bool:
        return self.level == MAX_CATEGORY_LEVEL

    def clean(self) -> None:
        if self.parent is not None:
            if self.parent.level >= MAX_CATEGORY_LEVEL:
                raise ValidationError(
                    {"parent": _("Categories have at most three levels.")}, code="too_deep"
                )
            if self.pk and self.parent.pk == self.pk:
                raise ValidationError({"parent": _("A category cannot be its own parent.")})
        if self.pk and self.parent_id != type(self).objects.get(pk=self.pk).parent_id:
            if self.children.exists():
                raise ValidationError(
                    {"parent": _("Move the children first: this category has sub-categories.")}
                )

    def save(self, *args, **kwargs) -> None:
        self.level = self.parent.level + 1 if self.parent is not None else CategoryLevel.DIRECTORY
        super().save(*args, **kwargs)


class ServiceStatus(models.Model):
    """A record status. open, pending and closed are built in; admins may add their own."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=50, blank=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=StatusKind.choices, default=StatusKind.OPEN
    )
    builtin = models.BooleanField(_("built in"), default=False, editable=False)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("service status")
        verbose_name_plural = _("service statuses")
        ordering = ("order", "code")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind == StatusKind.CLOSED


class ServiceRecord(models.Model):
    """One request of a caller, written by an agent during or after the call."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_records",
    )
    caller_number = models.CharField(
        _("caller number"),
        max_length=32,
        blank=True,
        db_index=True,
        help_text=_("Kept even when the caller is not a known customer."),
    )
    call_uuid = models.CharField(
        _("call UUID"), max_length=64, null=True, blank=True, db_index=True
    )
    agent = models.ForeignKey(
        "telephony.Agent",
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_records",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    category = models.ForeignKey(
        ServiceCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="records",
        limit_choices_to={"level": CategoryLevel.NAME},
    )
    description = models.TextField(_("description"))
    status = models.ForeignKey(
        ServiceStatus, verbose_name=_("status"), on_delete=models.PROTECT, related_name="records"
    )
    follow_up_date = models.DateField(_("follow-up date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("service record")
        verbose_name_plural = _("service records")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=("agent", "closed_at"), name="records_agent_unfinished_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category.name if self.category_id else ''}".strip()


class FollowUp(models.Model):
    """A note added to a record later: who, when, what was done."""

    record = models.ForeignKey(
        ServiceRecord,
        verbose_name=_("service record"),
        on_delete=models.CASCADE,
        related_name="follow_ups",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"{self.record_id}: {self.note[:30]}"
