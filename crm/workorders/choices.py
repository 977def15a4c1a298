"""Choices of work orders, and the one place where their status transitions are written."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkOrderStatus(models.TextChoices):
    """Lifecycle of a work order; the workflow's nodes say where it is, this says how it is."""

    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# status -> statuses it may move to. Orders become IN_PROGRESS on their first step out of the
# start node and CLOSED when they reach an end node; CANCELLED is a supervisor's decision.
WORK_ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    WorkOrderStatus.OPEN: frozenset(
        {WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.CLOSED, WorkOrderStatus.CANCELLED}
    ),
    WorkOrderStatus.IN_PROGRESS: frozenset({WorkOrderStatus.CLOSED, WorkOrderStatus.CANCELLED}),
    WorkOrderStatus.CLOSED: frozenset(),
    WorkOrderStatus.CANCELLED: frozenset(),
}

ACTIVE_STATUSES = (WorkOrderStatus.OPEN, WorkOrderStatus.IN_PROGRESS)


def work_order_transition_allowed(current: str, target: str) -> bool:
    """True when a work order in `current` may move to `target`."""
    return target in WORK_ORDER_TRANSITIONS.get(current, frozenset())


class Priority(models.TextChoices):
    """How urgent a work order is; queues sort by it."""

    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")
