"""Serializers of the coupons API."""

from rest_framework import serializers

from crm.coupons import models as m
from crm.customers.models import Customer


class CouponBatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = m.CouponBatch
        fields = ("id", "name", "value", "currency", "expires_at", "quantity", "created_at")
        read_only_fields = ("created_at",)


class CouponSerializer(serializers.ModelSerializer):
    batch_name = serializers.CharField(source="batch.name", read_only=True)
    value = serializers.DecimalField(
        source="batch.value", max_digits=10, decimal_places=2, read_only=True
    )
    expires_at = serializers.DateTimeField(source="batch.expires_at", read_only=True)

    class Meta:
        model = m.Coupon
        fields = (
            "id",
            "batch",
            "batch_name",
            "code",
            "status",
            "value",
            "expires_at",
            "customer",
            "issued_by",
            "issued_at",
            "redeemed_at",
        )
        read_only_fields = fields


class IssueRequestSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())


class RedeemRequestSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)


class BatchReportSerializer(serializers.Serializer):
    batch = CouponBatchSerializer()
    total = serializers.IntegerField()
    available = serializers.IntegerField()
    issued = serializers.IntegerField()
    redeemed = serializers.IntegerField()
    expired = serializers.IntegerField()
