"""Work order API: thin adapters over crm.workorders.services."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, Throttled, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import RulesModelPermission
from config.redis import get_redis
from crm.records.models import ServiceRecord
from crm.workorders import services
from crm.workorders.api import serializers as s
from crm.workorders.filtersets import WorkOrderFilterSet
from crm.workorders.models import Department, Notification, Workflow, WorkOrder
from crm.workorders.selfquery import (
    SelfQueryBlocked,
    SelfQueryThrottle,
    client_identity,
    query_for_client,
)


class Conflict(APIException):
    """The request is valid but the work order's state does not allow it."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def run_service(function, *args, **kwargs):
    """Call a service, turning its refusals into API errors with stable codes."""
    try:
        return function(*args, **kwargs)
    except services.WorkOrderError as error:
        raise Conflict(error.message, code=error.code) from error
    except DjangoValidationError as error:
        raise ValidationError(serializers.as_serializer_error(error)) from error


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Department.objects.prefetch_related("members")
    serializer_class = s.DepartmentSerializer
    permission_classes = (RulesModelPermission,)


class WorkflowViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Workflow.objects.prefetch_related("nodes__outgoing")
    serializer_class = s.WorkflowSerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("active",)


class WorkOrderViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = WorkOrder.objects.select_related(
        "current_node", "department", "assignee", "workflow"
    )
    serializer_class = s.WorkOrderSerializer
    permission_classes = (RulesModelPermission,)
    filterset_class = WorkOrderFilterSet

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    def _data(self, order: WorkOrder) -> dict:
        order = self.get_queryset().get(pk=order.pk)
        return s.WorkOrderSerializer(order, context=self.get_serializer_context()).data

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = run_service(
            services.create_work_order,
            title=data["title"],
            workflow=data["workflow"],
            by=request.user,
            description=data.get("description", ""),
            customer=data.get("customer"),
            priority=data.get("priority", "normal"),
            query_password=data.get("query_password"),
        )
        body = {**self._data(order), "query_password": order.issued_query_password}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.EscalateSerializer, responses={201: s.WorkOrderSerializer})
    # Agents may not create orders, only escalate their records: the service checks that.
    @action(detail=False, methods=["post"], permission_classes=(IsAuthenticated,))
    def escalate(self, request):
        """Open a work order from a service record (agents: their own records)."""
        payload = s.EscalateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        record = get_object_or_404(
            ServiceRecord.objects.select_related("category", "customer"),
            pk=data["service_record"],
        )
        order = run_service(
            services.escalate_service_record,
            record,
            workflow=data["workflow"],
            by=request.user,
            title=data["title"],
            description=data["description"],
            priority=data["priority"],
            query_password=data.get("query_password"),
        )
        body = {**self._data(order), "query_password": order.issued_query_password}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AdvanceSerializer, responses=s.WorkOrderSerializer)
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        """Take one of the current node's transitions."""
        order = self.get_object()
        payload = s.AdvanceSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        run_service(
            services.advance_work_order,
            order,
            data["transition"],
            request.user,
            data["comment"],
            internal=data["internal"],
        )
        return Response(self._data(order))

    @extend_schema(request=None, responses=s.WorkOrderSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        """Take an order from the department queue."""
        order = self.get_object()
        run_service(services.claim_work_order, order, by=request.user)
        return Response(self._data(order))

    @extend_schema(request=s.CancelSerializer, responses=s.WorkOrderSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel an order (supervisors and admins), saying why."""
        order = self.get_object()
        payload = s.CancelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run_service(services.cancel_work_order, order, by=request.user, **payload.validated_data)
        return Response(self._data(order))

    @extend_schema(responses=s.WorkOrderStepSerializer(many=True))
    @action(detail=True, methods=["get"])
    def steps(self, request, pk=None):
        """The order's step log, oldest first."""
        order = self.get_object()
        steps = order.steps.select_related("from_node", "to_node", "actor")
        return Response(s.WorkOrderStepSerializer(steps, many=True).data)

    @extend_schema(
        request={"multipart/form-data": s.WorkOrderAttachmentSerializer},
        responses=s.WorkOrderAttachmentSerializer(many=True),
    )
    @action(
        detail=True,
        methods=["get", "post"],
        parser_classes=(MultiPartParser, FormParser),
    )
    def attachments(self, request, pk=None):
        """List the order's files, or upload one."""
        order = self.get_object()
        context = self.get_serializer_context()
        if request.method == "POST":
            upload = s.WorkOrderAttachmentSerializer(data=request.data, context=context)
            upload.is_valid(raise_exception=True)
            attachment = run_service(
                services.add_work_order_attachment,
                order,
                file=upload.validated_data["file"],
                by=request.user,
            )
            return Response(
                s.WorkOrderAttachmentSerializer(attachment, context=context).data,
                status=status.HTTP_201_CREATED,
            )
        return Response(
            s.WorkOrderAttachmentSerializer(
                order.attachments.all(), many=True, context=context
            ).data
        )


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The signed-in user's notifications, newest first."""

    queryset = Notification.objects.all()
    serializer_class = s.NotificationSerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("read",)

    def get_queryset(self):
        return super().get_queryset().filter(recipient=self.request.user)

    @extend_schema(request=None, responses=s.NotificationSerializer)
    @action(detail=True, methods=["post"], permission_classes=(IsAuthenticated,))
    def read(self, request, pk=None):
        """Mark one of your notifications read."""
        notification = get_object_or_404(self.get_queryset(), pk=pk)
        services.mark_notification_read(notification, by=request.user)
        return Response(s.NotificationSerializer(notification).data)


class SelfQueryView(APIView):
    """Public: a customer's order status by number and query password (rate-limited)."""

    permission_classes = (AllowAny,)
    authentication_classes = ()
    parser_classes = (JSONParser, FormParser)

    @extend_schema(request=s.SelfQuerySerializer, responses={200: dict, 404: dict, 429: dict})
    def post(self, request):
        payload = s.SelfQuerySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            result = query_for_client(
                SelfQueryThrottle(get_redis()),
                client_identity(request),
                payload.validated_data["number"],
                payload.validated_data["password"],
            )
        except SelfQueryBlocked as blocked:
            raise Throttled(wait=blocked.retry_after) from None
        if result is None:
            return Response(
                {"code": "not_found", "message": _("Wrong work order number or password.")},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(result)
