"""Serializers of the customers API; writes go through crm.customers.services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from crm.customers import models as m
from crm.customers import services
from crm.customers.services import CUSTOM_FIELD_ERROR_PREFIX


def as_api_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    """Service errors as DRF field errors, custom fields nested under "custom_fields"."""
    errors: dict[str, Any] = {}
    for key, messages in exc.message_dict.items():
        if key.startswith(CUSTOM_FIELD_ERROR_PREFIX):
            errors.setdefault("custom_fields", {})[key[len(CUSTOM_FIELD_ERROR_PREFIX) :]] = messages
        else:
            errors[key] = messages
    return serializers.ValidationError(errors)


class CustomerPhoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = m.CustomerPhone
        fields = ("number", "kind", "is_primary")


class CustomerSerializer(serializers.ModelSerializer):
    """A customer with its numbers; `phones` is written as a list of numbers in any form."""

    phones = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, write_only=True
    )
    phone_numbers = CustomerPhoneSerializer(source="phones", many=True, read_only=True)
    custom_fields = serializers.JSONField(required=False)

    class Meta:
        model = m.Customer
        fields = (
            "id",
            "name",
            "vip_level",
            "owner",
            "region",
            "address",
            "notes",
            "custom_fields",
            "phones",
            "phone_numbers",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("created_at", "updated_at")

    def create(self, validated_data: dict[str, Any]) -> m.Customer:
        try:
            return services.create_customer(**validated_data)
        except DjangoValidationError as exc:
            raise as_api_errors(exc) from exc

    def update(self, instance: m.Customer, validated_data: dict[str, Any]) -> m.Customer:
        try:
            return services.update_customer(instance, **validated_data)
        except DjangoValidationError as exc:
            raise as_api_errors(exc) from exc


class CodeTableEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = m.CodeTableEntry
        fields = ("id", "code", "label", "label_en", "order", "active")


class CodeTableSerializer(serializers.ModelSerializer):
    entries = CodeTableEntrySerializer(many=True, read_only=True)

    class Meta:
        model = m.CodeTable
        fields = ("id", "key", "name", "name_en", "entries")


class CustomFieldDefinitionSerializer(serializers.ModelSerializer):
    """Runs the model's clean() so the API enforces what the admin does."""

    class Meta:
        model = m.CustomFieldDefinition
        fields = (
            "id",
            "key",
            "label",
            "label_en",
            "field_type",
            "required",
            "order",
            "show_in_screen_pop",
            "choices",
            "code_table",
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance or m.CustomFieldDefinition()
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class SpreadsheetJobSerializer(serializers.ModelSerializer):
    """A job's progress as the page polls it."""

    percent = serializers.IntegerField(read_only=True)
    result_url = serializers.SerializerMethodField()

    class Meta:
        model = m.SpreadsheetJob
        fields = (
            "id",
            "kind",
            "status",
            "total_rows",
            "processed_rows",
            "imported_rows",
            "percent",
            "errors",
            "message",
            "result_url",
            "created_at",
            "finished_at",
        )
        read_only_fields = fields

    def get_result_url(self, job: m.SpreadsheetJob) -> str | None:
        from django.urls import reverse

        if not job.result:
            return None
        return reverse("crm:job_result", args=[job.pk])


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
