"""Serializers of the IVR API."""

from rest_framework import serializers

from ivr.choices import VoicemailStatus
from ivr.models import VoicemailMessage


class VoicemailMessageSerializer(serializers.ModelSerializer):
    """A message as the desk lists it."""

    group_name = serializers.CharField(source="group.name", default="", read_only=True)

    class Meta:
        model = VoicemailMessage
        fields = (
            "id", "call_uuid", "caller", "group", "group_name", "queue", "recording_path",
            "duration_seconds", "status", "left_at", "handled_by", "handled_at",
        )  # fmt: skip
        read_only_fields = fields


class VoicemailStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=VoicemailStatus.choices)
