"""The one customer filter used by the list page, the API and the Excel export."""

from __future__ import annotations

import json

import django_filters
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.customers.choices import FieldType, VipLevel
from crm.customers.models import Customer, CustomerPhone, CustomFieldDefinition

CUSTOM_FIELD_PREFIX = "cf_"


class CustomerFilterSet(django_filters.FilterSet):
    """Search by name, number or region; filter by VIP level, owner, region, creation date.

    Any `cf_<key>=<value>` parameter filters on a custom field by containment, which the GIN
    index on custom_fields answers on PostgreSQL.
    """

    q = django_filters.CharFilter(method="search", label=_("Search"))
    vip_level = django_filters.MultipleChoiceFilter(choices=VipLevel.choices, label=_("VIP level"))
    region = django_filters.CharFilter(lookup_expr="icontains", label=_("Region"))
    owner = django_filters.NumberFilter(field_name="owner_id", label=_("Owner agent"))
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("Created from")
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("Created until")
    )

    class Meta:
        model = Customer
        fields = ("q", "vip_level", "region", "owner", "created_after", "created_before")

    def search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        value = value.strip()
        if not value:
            return queryset
        condition = Q(name__icontains=value) | Q(region__icontains=value)
        digits = "".join(ch for ch in value if ch.isdigit())
        if len(digits) >= 3:
            # Exists, not a join, so a customer with two matching numbers is listed once.
            phones = CustomerPhone.objects.filter(
                customer=OuterRef("pk"), number__contains=digits.lstrip("0")
            )
            condition |= Q(Exists(phones))
        return queryset.filter(condition)

    def filter_queryset(self, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        queryset = super().filter_queryset(queryset)
        wanted = {
            key[len(CUSTOM_FIELD_PREFIX) :]: value
            for key, value in self.data.items()
            if key.startswith(CUSTOM_FIELD_PREFIX) and value not in ("", None)
        }
        if not wanted:
            return queryset
        definitions = CustomFieldDefinition.objects.filter(key__in=wanted)
        for definition in definitions:
            value = wanted[definition.key]
            if isinstance(value, list):
                value = value[0] if value else ""
            stored: object = value
            if definition.field_type == FieldType.MULTI_CHOICE:
                stored = [value]
            elif definition.field_type == FieldType.NUMBER:
                try:
                    number = float(value)
                except ValueError:
                    return queryset.none()
                stored = int(number) if number.is_integer() else number
            queryset = queryset.filter(custom_field_condition(definition.key, stored))
        return queryset


def custom_field_condition(key: str, stored: object) -> Q:
    """Q matching customers whose custom field `key` holds (or, for lists, includes) `stored`.

    PostgreSQL uses JSON containment (answered by the GIN index); SQLite, which has no
    containment operator, compares the key's value (lists: a text search for the quoted item).
    """
    if connection.vendor == "postgresql":
        return Q(custom_fields__contains={key: stored})
    if isinstance(stored, list):
        return Q(**{f"custom_fields__{key}__contains": json.dumps(stored[0], ensure_ascii=False)})
    return Q(**{f"custom_fields__{key}": stored})
