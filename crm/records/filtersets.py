"""Filters of the service record list (page and API)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.records.choices import StatusKind
from crm.records.models import ServiceRecord


class ServiceRecordFilterSet(django_filters.FilterSet):
    """Search the description or caller number; filter by status, category, agent, customer."""

    q = django_filters.CharFilter(method="search", label=_("Search"))
    status = django_filters.CharFilter(field_name="status__code", label=_("Status"))
    unfinished = django_filters.BooleanFilter(method="filter_unfinished", label=_("Unfinished"))
    category = django_filters.NumberFilter(method="filter_category", label=_("Category"))
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("Created from")
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("Created until")
    )

    class Meta:
        model = ServiceRecord
        fields = ("q", "status", "unfinished", "category", "agent", "customer", "call_uuid")

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(description__icontains=value) | Q(caller_number__contains=value))

    def filter_unfinished(self, queryset, name, value):
        if value is None:
            return queryset
        not_closed = ~Q(status__kind=StatusKind.CLOSED)
        return queryset.filter(not_closed) if value else queryset.exclude(not_closed)

    def filter_category(self, queryset, name, value):
        """Any level: a directory or type matches the leaves below it."""
        return queryset.filter(
            Q(category_id=value)
            | Q(category__parent_id=value)
            | Q(category__parent__parent_id=value)
        )
