"""Filters of the work order queues (API and pages)."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.workorders.choices import ACTIVE_STATUSES, Priority, WorkOrderStatus
from crm.workorders.models import Department, WorkOrder


class WorkOrderFilterSet(django_filters.FilterSet):
    """Filter orders by status, department, overdue, assignee, priority and workflow."""

    status = django_filters.MultipleChoiceFilter(choices=WorkOrderStatus.choices, label=_("status"))
    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), label=_("department")
    )
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, label=_("priority"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("overdue"))
    number = django_filters.CharFilter(lookup_expr="iexact", label=_("number"))

    class Meta:
        model = WorkOrder
        fields = ("status", "department", "priority", "assignee", "workflow", "number")

    def filter_overdue(self, queryset, name, value):
        late = Q(status__in=ACTIVE_STATUSES, deadline__lt=timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)
