"""Customers API: short viewsets; business rules live in the services."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import RulesModelPermission
from crm.customers import jobs, services
from crm.customers import models as m
from crm.customers.api import serializers as s
from crm.customers.errors import BusinessRuleError, api_error
from crm.customers.filtersets import CustomerFilterSet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CustomerViewSet(viewsets.ModelViewSet):
    queryset = m.Customer.objects.select_related("owner").prefetch_related("phones")
    serializer_class = s.CustomerSerializer
    permission_classes = (RulesModelPermission,)
    filterset_class = CustomerFilterSet

    @extend_schema(parameters=[OpenApiParameter("number", str, required=True)])
    @action(detail=False, methods=["get"], url_path="by-phone")
    def by_phone(self, request: Request) -> Response:
        """The customer owning a number in any written form (screen pop)."""
        customer = services.find_customer_by_phone(request.query_params.get("number", ""))
        if customer is None:
            raise NotFound(code="customer_not_found")
        return Response(self.get_serializer(customer).data)

    @extend_schema(responses={(200, XLSX): bytes, 202: s.SpreadsheetJobSerializer})
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> HttpResponse | Response:
        """The filtered list as .xlsx; a large list answers 202 with a job to poll."""
        try:
            job = jobs.start_export_job(
                jobs.create_export_job(request.query_params, by_user=request.user)
            )
        except BusinessRuleError as error:
            raise api_error(error) from error
        if job.result:
            response = HttpResponse(job.result.read(), content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="customers-{job.pk}.xlsx"'
            return response
        return Response(s.SpreadsheetJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class CustomFieldDefinitionViewSet(viewsets.ModelViewSet):
    queryset = m.CustomFieldDefinition.objects.select_related("code_table")
    serializer_class = s.CustomFieldDefinitionSerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("field_type", "show_in_screen_pop")
    pagination_class = None


class CodeTableViewSet(viewsets.ModelViewSet):
    queryset = m.CodeTable.objects.prefetch_related("entries")
    serializer_class = s.CodeTableSerializer
    permission_classes = (RulesModelPermission,)


class SpreadsheetJobViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Import/export jobs: upload an import, start it, poll its progress."""

    queryset = m.SpreadsheetJob.objects.all()
    serializer_class = s.SpreadsheetJobSerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("kind", "status")

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.request.user.has_perm("customers.change_spreadsheetjob"):
            return queryset
        return queryset.filter(created_by=self.request.user)

    @extend_schema(request=s.ImportUploadSerializer, responses={201: s.SpreadsheetJobSerializer})
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    def imports(self, request: Request) -> Response:
        """Upload an .xlsx; returns the pending job (start it with /run/)."""
        upload = s.ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            job = jobs.create_import_job(upload.validated_data["file"], by_user=request.user)
        except BusinessRuleError as error:
            raise api_error(error) from error
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.SpreadsheetJobSerializer)
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        """Start a pending import: small files finish in this request, large ones in Celery."""
        job = self.get_object()
        try:
            job = jobs.start_import_job(job)
        except BusinessRuleError as error:
            raise api_error(error) from error
        return Response(self.get_serializer(job).data)
