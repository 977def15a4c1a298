from rest_framework import viewsets

from config.api import RulesModelPermission
from telephony import models as m
from telephony.api import serializers as s


class AgentViewSet(viewsets.ModelViewSet):
    queryset = m.Agent.objects.all()
    serializer_class = s.AgentSerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("enabled", "employee_number", "extension")


class AgentGroupViewSet(viewsets.ModelViewSet):
    queryset = m.AgentGroup.objects.all()
    serializer_class = s.AgentGroupSerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("kind",)


class QueueViewSet(viewsets.ModelViewSet):
    queryset = m.Queue.objects.all()
    serializer_class = s.QueueSerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("strategy", "group")


class DIDViewSet(viewsets.ModelViewSet):
    queryset = m.DID.objects.all()
    serializer_class = s.DIDSerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("language", "enabled", "flow")


class BlacklistEntryViewSet(viewsets.ModelViewSet):
    queryset = m.BlacklistEntry.objects.select_related("created_by")
    serializer_class = s.BlacklistEntrySerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("category", "direction", "match")

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)


class BusyReasonViewSet(viewsets.ModelViewSet):
    queryset = m.BusyReason.objects.all()
    serializer_class = s.BusyReasonSerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("enabled", "system")


class HolidayViewSet(viewsets.ModelViewSet):
    queryset = m.Holiday.objects.all()
    serializer_class = s.HolidaySerializer
    permission_classes = (RulesModelPermission,)
    filterset_fields = ("calendar",)
