"""Admin screens of coupon batches and coupons (read mostly: codes come from the services)."""

from django.contrib import admin

from crm.coupons import models as m


@admin.register(m.CouponBatch)
class CouponBatchAdmin(admin.ModelAdmin):
    list_display = ("name", "value", "currency", "expires_at", "quantity", "created_at")
    readonly_fields = ("quantity",)


@admin.register(m.Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ("code", "batch", "status", "customer", "issued_at", "redeemed_at")
    list_filter = ("status", "batch")
    search_fields = ("code",)
    raw_id_fields = ("customer",)
    readonly_fields = (
        "code",
        "batch",
        "status",
        "customer",
        "issued_by",
        "issued_at",
        "redeemed_at",
    )
