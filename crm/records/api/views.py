"""Service records API: short viewsets; state changes call crm.records.services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import RulesModelPermission
from crm.customers.errors import BusinessRuleError, api_error
from crm.records import models as m
from crm.records import services
from crm.records.api import serializers as s
from crm.records.filtersets import ServiceRecordFilterSet
from crm.records.rules import sees_all_records


def visible_records(user):
    """All records for back office, supervisors and admins; an agent's own records otherwise."""
    queryset = m.ServiceRecord.objects.select_related(
        "status", "category__parent__parent", "customer", "agent"
    ).prefetch_related("follow_ups__author")
    if sees_all_records(user):
        return queryset
    agent = getattr(user, "agent", None)
    if agent is None:
        return queryset.filter(created_by=user)
    from django.db.models import Q

    return queryset.filter(Q(agent=agent) | Q(created_by=user))


class ServiceRecordViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Records are created, followed up and closed; they are not edited or deleted freely."""

    queryset = m.ServiceRecord.objects.all()
    serializer_class = s.ServiceRecordSerializer
    permission_classes = (RulesModelPermission,)
    filterset_class = ServiceRecordFilterSet

    def get_queryset(self):
        return visible_records(self.request.user)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            record = services.create_service_record(
                by_user=request.user, **serializer.validated_data
            )
        except BusinessRuleError as error:
            raise api_error(error) from error
        return Response(self.get_serializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.FollowUpRequestSerializer, responses=s.ServiceRecordSerializer)
    @action(detail=True, methods=["post"], url_path="follow-ups")
    def follow_ups(self, request: Request, pk: str | None = None) -> Response:
        record = self.get_object()
        payload = s.FollowUpRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            services.add_follow_up(record, by_user=request.user, **payload.validated_data)
        except BusinessRuleError as error:
            raise api_error(error) from error
        return Response(self.get_serializer(self.get_object()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CloseRequestSerializer, responses=s.ServiceRecordSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        record = self.get_object()
        payload = s.CloseRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            services.close_service_record(record, by_user=request.user, **payload.validated_data)
        except BusinessRuleError as error:
            raise api_error(error) from error
        return Response(self.get_serializer(self.get_object()).data)


class ServiceCategoryViewSet(viewsets.ModelViewSet):
    queryset = m.ServiceCategory.objects.select_related("parent__parent")
    serializer_class = s.ServiceCategorySerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("level", "parent", "active")
    pagination_class = None


class ServiceStatusViewSet(viewsets.ModelViewSet):
    queryset = m.ServiceStatus.objects.all()
    serializer_class = s.ServiceStatusSerializer
    permission_classes = (RulesModelPermission,)
    pagination_class = None
