"""Work orders: departments, admin-defined workflows, orders, their step log, files, alerts.

A Workflow is a graph of WorkflowNodes joined by WorkflowTransitions. A WorkOrder sits on one
node at a time; the node says which department (and which role or person) handles it and
how many hours it may stay there. Every move is a WorkOrderStep.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from crm.knowledge.validators import AttachmentValidator
from crm.workorders.choices import ACTIVE_STATUSES, Priority, WorkOrderStatus


class Department(models.Model):
    """A team that handles work orders (e.g. 公积金中心, 投诉处理组)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("members"),
        blank=True,
        related_name="workorder_departments",
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def supervisors(self):
        """Members holding the supervisor role: they hear about overdue orders."""
        return self.members.filter(groups__name=Role.SUPERVISOR).distinct()


class Workflow(models.Model):
    """A kind of work order and the route it takes (e.g. 投诉处理, 公积金咨询转办)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def start_node(self) -> WorkflowNode:
        return self.nodes.get(is_start=True)


class WorkflowNode(models.Model):
    """A stage of a workflow: who handles the order there and how long it may take."""

    workflow = models.ForeignKey(
        Workflow, verbose_name=_("workflow"), on_delete=models.CASCADE, related_name="nodes"
    )
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="nodes",
    )
    assignee_role = models.CharField(
        _("assignee role"),
        max_length=20,
        choices=Role.choices,
        blank=True,
        help_text=_("Members of the department with this role may take the order."),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("A specific person who receives every order reaching this stage."),
    )
    time_limit_hours = models.PositiveIntegerField(
        _("time limit (hours)"),
        null=True,
        blank=True,
        help_text=_("Empty: no deadline at this stage."),
    )
    is_start = models.BooleanField(_("start"), default=False)
    is_end = models.BooleanField(_("end"), default=False)

    class Meta:
        verbose_name = _("workflow node")
        verbose_name_plural = _("workflow nodes")
        ordering = ("workflow", "-is_start", "is_end", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "name"], name="workorders_node_unique_name"
            ),
            models.UniqueConstraint(
                fields=["workflow"],
                condition=Q(is_start=True),
                name="workorders_node_one_start",
            ),
            models.CheckConstraint(
                condition=~(Q(is_start=True) & Q(is_end=True)),
                name="workorders_node_start_is_not_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow.name} / {self.name}"


class WorkflowTransition(models.Model):
    """A move allowed between two nodes of one workflow (e.g. 受理 → 处理, "转处理")."""

    from_node = models.ForeignKey(
        WorkflowNode,
        verbose_name=_("from"),
        on_delete=models.CASCADE,
        related_name="outgoing",
    )
    to_node = models.ForeignKey(
        WorkflowNode,
        verbose_name=_("to"),
        on_delete=models.CASCADE,
        related_name="incoming",
    )
    label = models.CharField(_("label"), max_length=100)

    class Meta:
        verbose_name = _("workflow transition")
        verbose_name_plural = _("workflow transitions")
        ordering = ("from_node", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["from_node", "to_node"], name="workorders_transition_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_node.name} → {self.to_node.name} ({self.label})"

    def clean(self) -> None:
        if self.from_node_id and self.to_node_id:
            if self.from_node.workflow_id != self.to_node.workflow_id:
                raise ValidationError(_("Both nodes must belong to the same workflow."))
            if self.from_node.is_end:
                raise ValidationError(_("An end node has no way out."))


class WorkOrderQuerySet(models.QuerySet):
    """Work order queries that depend on who asks or on the time."""

    def active(self) -> WorkOrderQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def overdue(self, now=None) -> WorkOrderQuerySet:
        return self.active().filter(deadline__lt=now or timezone.now())

    def visible_to(self, user) -> WorkOrderQuerySet:
        """Supervisors and admins see all; back office its departments' and its own orders;
        agents the orders they created or that came from their service records."""
        if not (user and user.is_authenticated):
            return self.none()
        if user.has_role(Role.ADMIN) or user.has_role(Role.SUPERVISOR):
            return self
        visible = Q(created_by=user) | Q(service_record__created_by=user)
        agent = getattr(user, "agent", None) if user.has_role(Role.AGENT) else None
        if agent is not None:
            visible |= Q(service_record__agent=agent)
        if user.has_role(Role.BACKOFFICE):
            visible |= Q(assignee=user) | Q(department__members=user)
        elif not user.has_role(Role.AGENT):
            return self.none()
        return self.filter(pk__in=self.filter(visible).values("pk"))


class WorkOrder(models.Model):
    """A request handled by the back office, with a number and password for the customer."""

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    query_password = models.CharField(
        _("query password"),
        max_length=128,
        editable=False,
        help_text=_("Hashed; the customer uses it with the number to follow the order."),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="work_orders",
    )
    service_record = models.ForeignKey(
        "records.ServiceRecord",
        verbose_name=_("service record"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="work_orders",
    )
    workflow = models.ForeignKey(
        Workflow, verbose_name=_("workflow"), on_delete=models.PROTECT, related_name="orders"
    )
    current_node = models.ForeignKey(
        WorkflowNode,
        verbose_name=_("current node"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=WorkOrderStatus.choices, default=WorkOrderStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_work_orders",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="work_orders",
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    node_entered_at = models.DateTimeField(_("reached current node at"), default=timezone.now)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    overdue_alert_sent_at = models.DateTimeField(
        _("overdue alert sent at"),
        null=True,
        blank=True,
        help_text=_("For the current node; cleared when the order moves on."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="created_work_orders",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = WorkOrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["status", "department"], name="workorders_queue_idx"),
            models.Index(
                fields=["deadline"],
                condition=Q(overdue_alert_sent_at__isnull=True)
                & Q(status__in=[s.value for s in ACTIVE_STATUSES]),
                name="workorders_due_alert_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=WorkOrderStatus.values),
                name="workorders_order_status_valid",
            ),
            models.UniqueConstraint(
                fields=["service_record"],
                condition=Q(service_record__isnull=False),
                name="workorders_one_order_per_record",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_overdue(self) -> bool:
        return (
            self.status in ACTIVE_STATUSES
            and self.deadline is not None
            and self.deadline < timezone.now()
        )


class WorkOrderNumberCounter(models.Model):
    """The last order number given out on a day: numbers read WO20261122-0001."""

    day = models.DateField(_("day"), primary_key=True)
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("work order number counter")
        verbose_name_plural = _("work order number counters")
        ordering = ("-day",)

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class WorkOrderStep(models.Model):
    """One entry of an order's history: who moved it from where to where, when and why."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE, related_name="steps"
    )
    from_node = models.ForeignKey(
        WorkflowNode,
        verbose_name=_("from"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    to_node = models.ForeignKey(
        WorkflowNode, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    transition = models.ForeignKey(
        WorkflowTransition,
        verbose_name=_("transition"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status after the step"), max_length=20, choices=WorkOrderStatus.choices
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    comment = models.TextField(_("comment"), blank=True)
    is_internal = models.BooleanField(
        _("internal comment"),
        default=False,
        help_text=_("Internal comments are not shown to the customer."),
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("work order step")
        verbose_name_plural = _("work order steps")
        ordering = ("work_order", "created_at", "id")

    def __str__(self) -> str:
        return f"{self.work_order_id}: {self.from_node_id} → {self.to_node_id}"


class WorkOrderAttachment(models.Model):
    """A file attached to a work order, stored under MEDIA_ROOT."""

    work_order = models.ForeignKey(
        WorkOrder,
        verbose_name=_("work order"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    file = models.FileField(
        _("file"), upload_to="workorders/%Y/%m/", validators=[AttachmentValidator()]
    )
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("work order attachment")
        verbose_name_plural = _("work order attachments")
        ordering = ("work_order", "uploaded_at", "id")

    def __str__(self) -> str:
        return self.original_name


class Notification(models.Model):
    """A message for one user in the back office (an order assigned to them, overdue...)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="workorder_notifications",
    )
    text = models.CharField(_("text"), max_length=300)
    link = models.CharField(_("link"), max_length=300, blank=True)
    work_order = models.ForeignKey(
        WorkOrder,
        verbose_name=_("work order"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    read = models.BooleanField(_("read"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["recipient", "read"], name="workorders_unread_idx")]

    def __str__(self) -> str:
        return self.text
