from rest_framework import serializers

from telephony import models as m


class CleanedModelSerializer(serializers.ModelSerializer):
    """Runs the model's clean() so the API enforces the same rules as the admin."""

    def validate(self, attrs):
        instance = self.instance or self.Meta.model()
        for name, value in attrs.items():
            if name not in {f.name for f in self.Meta.model._meta.many_to_many}:
                setattr(instance, name, value)
        from django.core.exceptions import ValidationError as DjangoValidationError

        try:
            instance.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc
        return attrs


class AgentSerializer(CleanedModelSerializer):
    class Meta:
        model = m.Agent
        fields = (
            "id",
            "employee_number",
            "name",
            "user",
            "extension",
            "enabled",
            "max_no_answer",
            "wrap_up_seconds",
            "reject_delay_seconds",
            "busy_delay_seconds",
        )


class AgentGroupSerializer(CleanedModelSerializer):
    class Meta:
        model = m.AgentGroup
        fields = ("id", "name", "kind", "description")


class QueueSerializer(CleanedModelSerializer):
    class Meta:
        model = m.Queue
        exclude = ("required_skills",)


class DIDSerializer(CleanedModelSerializer):
    class Meta:
        model = m.DID
        fields = "__all__"


class BlacklistEntrySerializer(CleanedModelSerializer):
    class Meta:
        model = m.BlacklistEntry
        fields = "__all__"
        read_only_fields = ("created_by", "created_at")


class BusyReasonSerializer(CleanedModelSerializer):
    class Meta:
        model = m.BusyReason
        fields = "__all__"


class HolidaySerializer(CleanedModelSerializer):
    class Meta:
        model = m.Holiday
        fields = "__all__"
