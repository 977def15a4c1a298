"""Serializers of the service records API; writes go through crm.records.services."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from crm.records import models as m
from crm.records.choices import CategoryLevel


class ServiceCategorySerializer(serializers.ModelSerializer):
    path = serializers.CharField(read_only=True)

    class Meta:
        model = m.ServiceCategory
        fields = ("id", "name", "name_en", "parent", "level", "order", "active", "path")
        read_only_fields = ("level",)

    def validate(self, attrs):
        instance = self.instance or m.ServiceCategory()
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class ServiceStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = m.ServiceStatus
        fields = ("id", "code", "name", "name_en", "kind", "builtin", "order")
        read_only_fields = ("builtin",)


class FollowUpSerializer(serializers.ModelSerializer):
    author_name = serializers.CharField(source="author.get_username", read_only=True)

    class Meta:
        model = m.FollowUp
        fields = ("id", "author", "author_name", "note", "created_at")
        read_only_fields = ("author", "created_at")


class ServiceRecordSerializer(serializers.ModelSerializer):
    """A record; on create the agent defaults to the caller's seat and the status to open."""

    status = serializers.SlugRelatedField(
        slug_field="code", queryset=m.ServiceStatus.objects.all(), required=False
    )
    category = serializers.PrimaryKeyRelatedField(
        queryset=m.ServiceCategory.objects.filter(level=CategoryLevel.NAME)
    )
    category_path = serializers.CharField(source="category.path", read_only=True)
    follow_ups = FollowUpSerializer(many=True, read_only=True)

    class Meta:
        model = m.ServiceRecord
        fields = (
            "id",
            "customer",
            "caller_number",
            "call_uuid",
            "agent",
            "created_by",
            "category",
            "category_path",
            "description",
            "status",
            "follow_up_date",
            "follow_ups",
            "created_at",
            "updated_at",
            "closed_at",
        )
        read_only_fields = ("agent", "created_by", "created_at", "updated_at", "closed_at")


class FollowUpRequestSerializer(serializers.Serializer):
    note = serializers.CharField()
    status = serializers.SlugRelatedField(
        slug_field="code", queryset=m.ServiceStatus.objects.all(), required=False
    )
    follow_up_date = serializers.DateField(required=False, allow_null=True)


class CloseRequestSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")
