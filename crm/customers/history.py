"""A customer's whole history: calls and recordings, service records, work orders, coupons.

Calls and recordings come from `cti.models` and work orders from `crm.workorders`, which other
parts of the platform own. Their sections are shown only when those models exist, looked up
through the app registry so this module never imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q

from crm.customers.models import Customer
from crm.customers.routing import caller_id_spellings

HISTORY_LIMIT = 50


@dataclass
class HistorySection:
    """One block of the history page: a title key and the rows, newest first."""

    key: str
    rows: list[Any] = field(default_factory=list)
    available: bool = True


def _optional_model(app_label: str, model_name: str):
    """The model if its app is installed and defines it (LookupError covers both cases)."""
    try:
        return apps.get_model(app_label, model_name)
    except LookupError:
        return None


def _rows_of(model, customer: Customer, numbers: list[str]) -> list[Any]:
    """Rows of `model` linked to the customer by a `customer` FK or, failing that, by number."""
    try:
        model._meta.get_field("customer")
        queryset = model.objects.filter(customer=customer)
    except FieldDoesNotExist:
        number_field = next(
            (
                name
                for name in ("caller_number", "caller_id_number", "remote_number", "number")
                if _has_field(model, name)
            ),
            None,
        )
        if number_field is None:
            return []
        queryset = model.objects.filter(**{f"{number_field}__in": numbers})
    ordering = "-created_at" if _has_field(model, "created_at") else "-pk"
    return list(queryset.order_by(ordering)[:HISTORY_LIMIT])


def _has_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def _calls_of(numbers: list[str]) -> list[Any]:
    """The customer's calls (CDRs) with their recordings, newest first."""
    from cti.models import CallRecord, Recording

    # Calls from the customer, and calls the desk dialled to the customer (caller: the
    # agent's extension).
    spellings = caller_id_spellings(numbers)
    calls = list(
        CallRecord.objects.filter(Q(caller__in=spellings) | Q(callee__in=spellings)).order_by(
            "-started_at"
        )[:HISTORY_LIMIT]
    )
    recordings = {
        recording.call_uuid: recording
        for recording in Recording.objects.filter(call_uuid__in=[c.call_uuid for c in calls])
    }
    for call in calls:
        call.recording = recordings.get(call.call_uuid)
    return calls


def customer_history(customer: Customer) -> list[HistorySection]:
    """The sections of the history page, in display order."""
    numbers = list(customer.phones.values_list("number", flat=True))
    sections: list[HistorySection] = []
    sections.append(HistorySection("calls", _calls_of(numbers)))
    sections.append(
        HistorySection(
            "service_records",
            list(
                customer.service_records.select_related(
                    "status", "agent", "category__parent__parent"
                )[:HISTORY_LIMIT]
            ),
        )
    )
    work_order = _optional_model("workorders", "WorkOrder")
    section = HistorySection("work_orders", available=work_order is not None)
    if work_order is not None:
        section.rows = _rows_of(work_order, customer, numbers)
    sections.append(section)
    sections.append(
        HistorySection("coupons", list(customer.coupons.select_related("batch")[:HISTORY_LIMIT]))
    )
    return sections
