"""State changes of service records: check (validate, authorize), do (transaction), notify."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.customers.errors import BusinessRuleError
from crm.customers.models import Customer
from crm.records.choices import StatusKind, can_transition
from crm.records.models import FollowUp, ServiceCategory, ServiceRecord, ServiceStatus

EVENTS_CHANNEL = "crm.events"


def _publish(event: dict[str, Any]) -> None:
    from config.redis import get_redis

    get_redis().publish(EVENTS_CHANNEL, json.dumps(event, ensure_ascii=False))


def _require(user, perm: str, obj=None) -> None:
    if user is not None and not user.has_perm(perm, obj):
        raise BusinessRuleError("permission_denied", _("You may not do this."))


def _agent_of(user):
    return getattr(user, "agent", None) if user is not None else None


BUILTIN_STATUS_NAMES = {
    StatusKind.OPEN: ("待处理", "Open", 10),
    StatusKind.PENDING: ("处理中", "Pending", 20),
    StatusKind.CLOSED: ("已关闭", "Closed", 30),
}


def builtin_status(kind: str) -> ServiceStatus:
    """The built-in status of `kind` (seeded by migration 0002; recreated if someone deleted
    it, so closing a record never fails for want of a "closed" row)."""
    name, name_en, order = BUILTIN_STATUS_NAMES[StatusKind(kind)]
    status, _created = ServiceStatus.objects.get_or_create(
        code=kind,
        defaults={"name": name, "name_en": name_en, "kind": kind, "builtin": True, "order": order},
    )
    return status


def _check_transition(record: ServiceRecord, status: ServiceStatus) -> None:
    if not can_transition(record.status.kind, status.kind):
        raise BusinessRuleError(
            "invalid_transition",
            _("A record in status %(from)s cannot move to %(to)s.")
            % {"from": record.status.display_name, "to": status.display_name},
            field="status",
        )


def _closed_at(status: ServiceStatus, current: dt.datetime | None) -> dt.datetime | None:
    if status.kind != StatusKind.CLOSED:
        return None
    return current or timezone.now()


def create_service_record(
    *,
    by_user,
    category: ServiceCategory,
    description: str,
    customer: Customer | None = None,
    caller_number: str = "",
    call_uuid: str | None = None,
    agent=None,
    status: ServiceStatus | None = None,
    follow_up_date: dt.date | None = None,
) -> ServiceRecord:
    """Write a record from the desk, during or after a call.

    `agent` defaults to the agent seat of `by_user`; `status` to the built-in "open". The
    category must be an active level-3 leaf. The caller number is kept even when the caller is
    not a known customer (customer=None). Raises BusinessRuleError.
    """
    _require(by_user, "records.add_servicerecord")
    if not category.is_leaf_level:
        raise BusinessRuleError(
            "category_not_leaf",
            _("Choose a category of the third level (directory / type / name)."),
            field="category",
        )
    if not category.active:
        raise BusinessRuleError(
            "category_inactive", _("This category is no longer used."), field="category"
        )
    if not (description or "").strip():
        raise BusinessRuleError(
            "description_required", _("Describe the request."), field="description"
        )
    status = status or builtin_status(StatusKind.OPEN)
    agent = agent or _agent_of(by_user)
    with transaction.atomic():
        record = ServiceRecord.objects.create(
            customer=customer,
            caller_number=caller_number or "",
            call_uuid=call_uuid or None,
            agent=agent,
            created_by=by_user,
            category=category,
            description=description.strip(),
            status=status,
            follow_up_date=follow_up_date,
            closed_at=_closed_at(status, None),
        )
        transaction.on_commit(
            lambda: _publish(
                {
                    "type": "service_record.created",
                    "record_id": record.pk,
                    "agent_id": record.agent_id,
                    "call_uuid": record.call_uuid,
                }
            )
        )
    return record


def add_follow_up(
    record: ServiceRecord,
    *,
    by_user,
    note: str,
    status: ServiceStatus | None = None,
    follow_up_date: dt.date | None = None,
) -> FollowUp:
    """Add a follow-up note; optionally move the record to `status` and set the next date."""
    _require(by_user, "records.change_servicerecord", record)
    if not (note or "").strip():
        raise BusinessRuleError("note_required", _("Write the follow-up note."), field="note")
    with transaction.atomic():
        record = (
            ServiceRecord.objects.select_for_update().select_related("status").get(pk=record.pk)
        )
        if status is not None:
            _check_transition(record, status)
            record.status = status
            record.closed_at = _closed_at(status, record.closed_at)
        elif record.status.is_closed:
            raise BusinessRuleError(
                "record_closed", _("Reopen the record before following it up."), field="status"
            )
        record.follow_up_date = follow_up_date
        record.save(update_fields=["status", "closed_at", "follow_up_date", "updated_at"])
        follow_up = FollowUp.objects.create(record=record, author=by_user, note=note.strip())
        transaction.on_commit(
            lambda: _publish({"type": "service_record.followed_up", "record_id": record.pk})
        )
    return follow_up


def change_service_record_status(
    record: ServiceRecord, status: ServiceStatus, *, by_user
) -> ServiceRecord:
    """Move a record to `status` if STATUS_TRANSITIONS allows it."""
    _require(by_user, "records.change_servicerecord", record)
    with transaction.atomic():
        locked = (
            ServiceRecord.objects.select_for_update().select_related("status").get(pk=record.pk)
        )
        _check_transition(locked, status)
        locked.status = status
        locked.closed_at = _closed_at(status, locked.closed_at)
        locked.save(update_fields=["status", "closed_at", "updated_at"])
        transaction.on_commit(
            lambda: _publish(
                {"type": "service_record.status", "record_id": locked.pk, "status": status.code}
            )
        )
    return locked


def close_service_record(record: ServiceRecord, *, by_user, note: str = "") -> ServiceRecord:
    """Close a record (built-in "closed" status), with an optional closing follow-up note."""
    closed = builtin_status(StatusKind.CLOSED)
    if note.strip():
        add_follow_up(record, by_user=by_user, note=note, status=closed)
        return ServiceRecord.objects.select_related("status").get(pk=record.pk)
    return change_service_record_status(record, closed, by_user=by_user)


def unfinished_service_records(agent) -> QuerySet[ServiceRecord]:
    """The agent's records that are not closed, oldest follow-up date first."""
    return (
        ServiceRecord.objects.filter(agent=agent, closed_at__isnull=True)
        .exclude(status__kind=StatusKind.CLOSED)
        .select_related("customer", "status", "category__parent__parent")
        .order_by("follow_up_date", "created_at")
    )
