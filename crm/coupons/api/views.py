"""Coupons API: batches (create generates the codes), issue, redeem, report."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import RulesModelPermission
from crm.coupons import models as m
from crm.coupons import services
from crm.coupons.api import serializers as s
from crm.customers.errors import BusinessRuleError, api_error


def _require(request: Request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied()


class CouponBatchViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = m.CouponBatch.objects.all()
    serializer_class = s.CouponBatchSerializer
    permission_classes = (RulesModelPermission,)

    def get_permissions(self):
        # Issuing and redeeming are not model writes: they check their own permissions.
        if self.action in ("issue", "redeem", "report"):
            return [IsAuthenticated()]
        return super().get_permissions()

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            batch = services.create_coupon_batch(by_user=request.user, **serializer.validated_data)
        except BusinessRuleError as error:
            raise api_error(error) from error
        return Response(self.get_serializer(batch).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.IssueRequestSerializer, responses={201: s.CouponSerializer})
    @action(detail=True, methods=["post"])
    def issue(self, request: Request, pk: str | None = None) -> Response:
        """Give the customer one unissued coupon of this batch."""
        _require(request, "coupons.issue_coupon")
        batch = self.get_object()
        payload = s.IssueRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            coupon = services.issue_coupon(
                batch, payload.validated_data["customer"], getattr(request.user, "agent", None)
            )
        except BusinessRuleError as error:
            raise api_error(error) from error
        return Response(s.CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.BatchReportSerializer(many=True))
    @action(detail=False, methods=["get"])
    def report(self, request: Request) -> Response:
        """Issued / redeemed / expired counts per batch."""
        _require(request, "coupons.view_report")
        rows = services.coupon_batch_report(self.filter_queryset(self.get_queryset()))
        return Response(s.BatchReportSerializer(rows, many=True).data)


class CouponViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = m.Coupon.objects.select_related("batch")
    serializer_class = s.CouponSerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("batch", "status", "customer", "code")

    def get_permissions(self):
        # Issuing and redeeming are not model writes: they check their own permissions.
        if self.action in ("issue", "redeem", "report"):
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(request=s.RedeemRequestSerializer, responses=s.CouponSerializer)
    @action(detail=False, methods=["post"])
    def redeem(self, request: Request) -> Response:
        """Redeem a code exactly once; errors: not_found, not_issued, already_redeemed, expired."""
        _require(request, "coupons.redeem_coupon")
        payload = s.RedeemRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            coupon = services.redeem_coupon(payload.validated_data["code"])
        except BusinessRuleError as error:
            raise api_error(error) from error
        return Response(s.CouponSerializer(coupon).data)
