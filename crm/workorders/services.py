"""State changes of work orders: check, do in a transaction, notify on commit.

Every function takes the acting user as `by` and checks permissions itself. Refusals raise
PermissionDenied (not allowed) or WorkOrderError (not possible now, with a stable code).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.redis import get_redis
from crm.knowledge.validators import AttachmentValidator, detect_content_type
from crm.workorders.choices import (
    ACTIVE_STATUSES,
    Priority,
    WorkOrderStatus,
    work_order_transition_allowed,
)
from crm.workorders.models import (
    Notification,
    Workflow,
    WorkflowNode,
    WorkflowTransition,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderNumberCounter,
    WorkOrderStep,
)

# Redis pub/sub channel on which back-office screens hear about work orders.
EVENTS_CHANNEL = "crm:workorders"
QUERY_PASSWORD_DIGITS = 6


class WorkOrderError(Exception):
    """A request the work order's state does not allow; `code` is stable for API clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = str(message)


def _require(user, permission: str, obj=None) -> None:
    if not user.has_perm(permission, obj):
        raise PermissionDenied(_("You are not allowed to do this."))


def _publish(event: dict[str, Any]) -> None:
    get_redis().publish(EVENTS_CHANNEL, json.dumps(event, ensure_ascii=False))


def _order_link(order: WorkOrder) -> str:
    return reverse("workorders:detail", args=[order.pk])


def _notify(recipients, order: WorkOrder, text: str) -> list[Notification]:
    unique = {user.pk: user for user in recipients if user is not None}
    return Notification.objects.bulk_create(
        Notification(recipient=user, text=text[:300], link=_order_link(order), work_order=order)
        for user in unique.values()
    )


def _handlers_of(order: WorkOrder) -> list:
    """Who should hear that an order reached them: its assignee, else its department."""
    if order.assignee is not None:
        return [order.assignee]
    if order.department is None:
        return []
    members = order.department.members.all()
    role = order.current_node.assignee_role
    if role:
        members = members.filter(groups__name=role)
    return list(members.distinct())


def _next_number(now: dt.datetime) -> str:
    day = timezone.localdate(now)
    WorkOrderNumberCounter.objects.get_or_create(day=day)
    counter = WorkOrderNumberCounter.objects.select_for_update().get(day=day)
    counter.last = F("last") + 1
    counter.save(update_fields=["last"])
    counter.refresh_from_db(fields=["last"])
    return f"WO{day:%Y%m%d}-{counter.last:04d}"


def _place_on_node(order: WorkOrder, node: WorkflowNode, now: dt.datetime) -> None:
    order.current_node = node
    order.department = node.department
    order.assignee = node.assignee
    order.node_entered_at = now
    order.overdue_alert_sent_at = None
    order.deadline = (
        now + dt.timedelta(hours=node.time_limit_hours) if node.time_limit_hours else None
    )


def _set_status(order: WorkOrder, target: str) -> None:
    if order.status == target and target in ACTIVE_STATUSES:
        return  # moving between nodes while in progress
    if not work_order_transition_allowed(order.status, target):
        raise WorkOrderError(
            "status_not_allowed",
            _("A work order that is %(current)s cannot become %(target)s.")
            % {
                "current": WorkOrderStatus(order.status).label,
                "target": WorkOrderStatus(target).label,
            },
        )
    order.status = target


def _locked(order: WorkOrder) -> WorkOrder:
    """Re-read the order under a row lock so two handlers cannot both move it."""
    fresh = WorkOrder.objects.select_for_update().get(pk=order.pk)
    order.__dict__.update(
        {field.attname: getattr(fresh, field.attname) for field in WorkOrder._meta.concrete_fields}
    )
    for relation in ("current_node", "assignee", "department"):
        order._state.fields_cache.pop(relation, None)
    return order


def _announce(event_type: str, order: WorkOrder, text: str | None) -> None:
    """On commit: notify the handlers of the order's current stage and publish the event."""
    event = {
        "type": event_type,
        "work_order": order.pk,
        "number": order.number,
        "status": order.status,
        "node": order.current_node.name,
    }

    def send() -> None:
        if text:
            _notify(_handlers_of(order), order, text)
        _publish(event)

    transaction.on_commit(send)


def _generate_query_password() -> str:
    return "".join(secrets.choice("0123456789") for _digit in range(QUERY_PASSWORD_DIGITS))


def create_work_order(
    *,
    title: str,
    workflow: Workflow,
    by,
    description: str = "",
    customer=None,
    service_record=None,
    priority: str = Priority.NORMAL,
    query_password: str | None = None,
) -> WorkOrder:
    """Open a work order at the workflow's start node (back-office staff, supervisors, admins).

    The customer's query password is `query_password` or six random digits; it is stored
    hashed, and the plain value is returned once as `order.issued_query_password`.
    """
    _require(by, "workorders.add_workorder")
    return _open_work_order(
        title=title,
        workflow=workflow,
        by=by,
        description=description,
        customer=customer,
        service_record=service_record,
        priority=priority,
        query_password=query_password,
    )


def _open_work_order(
    *,
    title: str,
    workflow: Workflow,
    by,
    description: str,
    customer,
    service_record,
    priority: str,
    query_password: str | None,
) -> WorkOrder:
    if not title.strip():
        raise WorkOrderError("title_required", _("A work order needs a title."))
    if not workflow.active:
        raise WorkOrderError("workflow_inactive", _("This workflow is no longer used."))
    try:
        start = workflow.start_node()
    except WorkflowNode.DoesNotExist as error:
        raise WorkOrderError(
            "workflow_without_start", _("This workflow has no start node.")
        ) from error
    password = query_password or _generate_query_password()
    now = timezone.now()
    with transaction.atomic():
        order = WorkOrder(
            number=_next_number(now),
            query_password=make_password(password),
            title=title.strip(),
            description=description,
            customer=customer,
            service_record=service_record,
            workflow=workflow,
            priority=priority,
            created_by=by,
        )
        _place_on_node(order, start, now)
        order.save()
        WorkOrderStep.objects.create(
            work_order=order,
            from_node=None,
            to_node=start,
            status=order.status,
            actor=by,
            comment=_("Work order created"),
            created_at=now,
        )
        _announce(
            "work_order_created",
            order,
            _("New work order %(number)s: %(title)s")
            % {"number": order.number, "title": order.title},
        )
    order.issued_query_password = password
    return order


def escalate_service_record(
    record,
    *,
    workflow: Workflow,
    by,
    title: str = "",
    description: str = "",
    priority: str = Priority.NORMAL,
    query_password: str | None = None,
) -> WorkOrder:
    """Turn a service record the desk could not settle into a work order linked to it.

    Agents may escalate their own records; back office, supervisors and admins any record
    they can see. A record is escalated at most once.
    """
    _require(by, "workorders.escalate_servicerecord", record)
    if WorkOrder.objects.filter(service_record=record).exists():
        raise WorkOrderError(
            "already_escalated", _("This service record already has a work order.")
        )
    return _open_work_order(
        title=title or f"{record.category.name}",
        workflow=workflow,
        by=by,
        description=description or record.description,
        customer=record.customer,
        service_record=record,
        priority=priority,
        query_password=query_password,
    )


def advance_work_order(
    order: WorkOrder,
    transition: WorkflowTransition,
    by,
    comment: str = "",
    *,
    internal: bool = False,
) -> WorkOrder:
    """Move an order along one of its current node's transitions and log the step.

    Only the assignee, a member of the order's department, supervisors and admins may do it.
    Reaching an end node closes the order; leaving the start node puts it in progress.
    """
    _require(by, "workorders.change_workorder", order)
    with transaction.atomic():
        _locked(order)
        if order.status not in ACTIVE_STATUSES:
            raise WorkOrderError("order_finished", _("This work order is closed or cancelled."))
        if transition.from_node_id != order.current_node_id:
            raise WorkOrderError(
                "transition_not_allowed",
                _("This step is not possible from the order's current stage."),
            )
        now = timezone.now()
        from_node = order.current_node
        to_node = transition.to_node
        _set_status(
            order, WorkOrderStatus.CLOSED if to_node.is_end else WorkOrderStatus.IN_PROGRESS
        )
        _place_on_node(order, to_node, now)
        if to_node.is_end:
            order.closed_at = now
            order.deadline = None
        order.save()
        WorkOrderStep.objects.create(
            work_order=order,
            from_node=from_node,
            to_node=to_node,
            transition=transition,
            status=order.status,
            actor=by,
            comment=comment,
            is_internal=internal,
            created_at=now,
        )
        text = None
        if not to_node.is_end:
            text = _("Work order %(number)s reached %(node)s") % {
                "number": order.number,
                "node": to_node.name,
            }
        _announce("work_order_advanced", order, text)
    return order


def claim_work_order(order: WorkOrder, *, by) -> WorkOrder:
    """Take an order waiting in a department's queue (nobody assigned yet)."""
    _require(by, "workorders.change_workorder", order)
    with transaction.atomic():
        _locked(order)
        if order.status not in ACTIVE_STATUSES:
            raise WorkOrderError("order_finished", _("This work order is closed or cancelled."))
        if order.assignee_id not in (None, by.pk):
            raise WorkOrderError("already_assigned", _("Someone else handles this order."))
        role = order.current_node.assignee_role
        if role and not by.has_role(role):
            raise WorkOrderError("wrong_role", _("This stage is handled by another role."))
        order.assignee = by
        order.save(update_fields=["assignee", "updated_at"])
        _announce("work_order_claimed", order, None)
    return order


def cancel_work_order(order: WorkOrder, *, by, comment: str) -> WorkOrder:
    """Stop an order that should not be handled (duplicate, withdrawn by the customer)."""
    _require(by, "workorders.cancel_workorder", order)
    if not comment.strip():
        raise WorkOrderError("comment_required", _("Say why the order is cancelled."))
    with transaction.atomic():
        _locked(order)
        _set_status(order, WorkOrderStatus.CANCELLED)
        now = timezone.now()
        order.closed_at = now
        order.deadline = None
        order.save()
        WorkOrderStep.objects.create(
            work_order=order,
            from_node=order.current_node,
            to_node=order.current_node,
            status=order.status,
            actor=by,
            comment=comment.strip(),
            created_at=now,
        )
        _announce("work_order_cancelled", order, None)
    return order


def add_work_order_attachment(order: WorkOrder, *, file: UploadedFile, by) -> WorkOrderAttachment:
    """Attach a file (size limit CRM_ATTACHMENT_MAX_BYTES, accepted types only)."""
    _require(by, "workorders.view_workorder", order)
    AttachmentValidator()(file)
    file.seek(0)
    content_type = detect_content_type(file.name, file.read(4096)) or ""
    file.seek(0)
    return WorkOrderAttachment.objects.create(
        work_order=order,
        file=file,
        original_name=file.name[:255],
        content_type=content_type,
        size=file.size,
        uploaded_by=by,
    )


OVERDUE_TEXT = gettext_lazy("Work order %(number)s is overdue at %(node)s (deadline %(deadline)s)")


def send_overdue_alerts(now: dt.datetime | None = None) -> int:
    """Alert about every active order past its deadline, once per visit of a node.

    The assignee and the department's supervisors get a Notification. The order is marked
    by a conditional update, so two beat runs (or two workers) never alert twice. Returns
    the number of orders alerted.
    """
    now = now or timezone.now()
    alerted = 0
    due = (
        WorkOrder.objects.overdue(now)
        .filter(overdue_alert_sent_at__isnull=True)
        .select_related("assignee", "department", "current_node")
        .order_by("deadline")
    )
    for order in due:
        with transaction.atomic():
            claimed = WorkOrder.objects.filter(
                pk=order.pk,
                overdue_alert_sent_at__isnull=True,
                current_node=order.current_node_id,
                status__in=ACTIVE_STATUSES,
            ).update(overdue_alert_sent_at=now)
            if not claimed:
                continue
            recipients = [order.assignee]
            if order.department is not None:
                recipients.extend(order.department.supervisors())
            text = str(OVERDUE_TEXT) % {
                "number": order.number,
                "node": order.current_node.name,
                "deadline": timezone.localtime(order.deadline).strftime("%Y-%m-%d %H:%M"),
            }
            _notify(recipients, order, text)
            event = {"type": "work_order_overdue", "work_order": order.pk, "number": order.number}
            transaction.on_commit(lambda event=event: _publish(event))
        alerted += 1
    return alerted


def mark_notification_read(notification: Notification, *, by) -> Notification:
    """Mark one of the user's notifications as read."""
    if notification.recipient_id != by.pk:
        raise PermissionDenied(_("You are not allowed to do this."))
    if not notification.read:
        notification.read = True
        notification.save(update_fields=["read"])
    return notification


def lookup_work_order(number: str, password: str) -> dict | None:
    """The customer's view of an order, or None if the number or password is wrong.

    For the public self-query page and IVR flows; callers must rate-limit failures (see
    selfquery.SelfQueryThrottle). Internal comments are left out.
    """
    order = (
        WorkOrder.objects.select_related("current_node")
        .filter(number=(number or "").strip().upper())
        .first()
    )
    if order is None:
        # Hash anyway, so the answer's timing does not tell which numbers exist.
        make_password(password or "")
        return None
    if not password or not check_password(password, order.query_password):
        return None
    steps = order.steps.select_related("to_node").order_by("created_at", "id")
    return {
        "number": order.number,
        "title": order.title,
        "status": order.status,
        "status_label": str(WorkOrderStatus(order.status).label),
        "stage": order.current_node.name,
        "created_at": order.created_at.isoformat(),
        "closed_at": order.closed_at.isoformat() if order.closed_at else None,
        "steps": [
            {
                "at": step.created_at.isoformat(),
                "stage": step.to_node.name,
                "status_label": str(WorkOrderStatus(step.status).label),
                "comment": "" if step.is_internal else step.comment,
            }
            for step in steps
        ],
    }
