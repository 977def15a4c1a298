"""The internal lookup API the daemon's flows call, and the desk's voicemail list.

Lookup endpoints take a JSON object and answer one; they are authenticated by the shared
token (``Authorization: Bearer <IVR_LOOKUP_TOKEN>``), not by a user session, because the
caller is the CTI daemon.
"""

from __future__ import annotations

import hmac
import re

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ivr import services
from ivr.api.serializers import VoicemailMessageSerializer, VoicemailStatusSerializer
from ivr.models import VoicemailMessage

_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_PASSWORD = re.compile(r"^\d{6}$")


class LookupTokenPermission(BasePermission):
    """Admits requests that carry the shared IVR lookup token."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not hmac.compare_digest(
            token.encode(), services.lookup_token().encode()
        ):
            raise AuthenticationFailed("A valid IVR lookup token is required.", "bad_token")
        return True


class CredentialsSerializer(serializers.Serializer):
    """An ID number (the X check digit may be keyed as *) and a six-digit query password."""

    id_number = serializers.CharField(max_length=18, min_length=18)
    password = serializers.CharField(max_length=6, min_length=6)

    def validate_id_number(self, value: str) -> str:
        value = value.upper().replace("*", "X")
        if not _ID_NUMBER.match(value):
            raise serializers.ValidationError("Not an ID number.", "bad_id_number")
        return value

    def validate_password(self, value: str) -> str:
        if not _PASSWORD.match(value):
            raise serializers.ValidationError("Six digits.", "bad_password")
        return value


class NewPasswordSerializer(CredentialsSerializer):
    new_password = serializers.CharField(max_length=6, min_length=6)

    def validate_new_password(self, value: str) -> str:
        return self.validate_password(value)


class _LookupView(APIView):
    authentication_classes: list = []
    permission_classes = [LookupTokenPermission]
    serializer_class: type[serializers.Serializer] = CredentialsSerializer

    def credentials(self, request: Request) -> tuple[services.LookupInput, dict]:
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return services.LookupInput(data["id_number"], data["password"]), data


class DepositBalanceView(_LookupView):
    """POST {id_number, password} → {found, balance}."""

    def post(self, request: Request) -> Response:
        query, _ = self.credentials(request)
        return Response(services.deposit_balance(query))


class LoansView(_LookupView):
    """POST {id_number, password} → {found, loan_count, loan_remaining, ...}."""

    def post(self, request: Request) -> Response:
        query, _ = self.credentials(request)
        return Response(services.loan_summary(query))


class ChangePasswordView(_LookupView):
    """POST {id_number, password, new_password} → {found, changed}."""

    serializer_class = NewPasswordSerializer

    def post(self, request: Request) -> Response:
        query, data = self.credentials(request)
        return Response(services.change_query_password(query, data["new_password"]))


class WorkOrderSerializer(serializers.Serializer):
    """A work-order number (``WO20261122-0001``, or its 12 digits keyed on a phone) and its
    query password."""

    number = serializers.CharField(max_length=20)
    password = serializers.CharField(max_length=32)

    def validate_number(self, value: str) -> str:
        value = value.strip().upper()
        if value.isdigit() and len(value) == 12:
            value = f"WO{value[:8]}-{value[8:]}"
        return value


class WorkOrderView(APIView):
    """POST {number, password} → {found, work_order_status, work_order_stage, ...}."""

    authentication_classes: list = []
    permission_classes = [LookupTokenPermission]

    def post(self, request: Request) -> Response:
        from crm.workorders.services import lookup_work_order

        serializer = WorkOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = lookup_work_order(data["number"], data["password"])
        if order is None:
            return Response({"found": False})
        return Response(
            {
                "found": True,
                "work_order_number": order["number"],
                "work_order_status": order["status"],
                "work_order_status_label": order["status_label"],
                "work_order_stage": order["stage"],
                "work_order_closed": order["closed_at"] is not None,
            }
        )


class VoicemailViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The desk's voicemail list: the messages of the user's groups."""

    serializer_class = VoicemailMessageSerializer
    permission_classes = [IsAuthenticated]
    queryset = VoicemailMessage.objects.none()

    def get_queryset(self):
        queryset = services.voicemails_for(self.request.user)
        wanted = self.request.query_params.get("status")
        return queryset.filter(status=wanted) if wanted else queryset

    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str | None = None) -> Response:
        message = self.get_object()
        serializer = VoicemailStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.change_voicemail_status(
                message, serializer.validated_data["status"], request.user
            )
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from error
        except DjangoValidationError as error:
            raise ValidationError({"status": error.messages}) from error
        return Response(VoicemailMessageSerializer(message).data, status=status.HTTP_200_OK)
