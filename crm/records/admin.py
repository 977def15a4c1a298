"""Admin screens: the category tree and statuses (admin-only), records with follow-ups."""

from django.contrib import admin

from crm.records import models as m


@admin.register(m.ServiceCategory)
class ServiceCategoryAdmin(admin.ModelAdmin):
    list_display = ("__str__", "level", "order", "active")
    list_filter = ("level", "active")
    list_select_related = ("parent__parent",)
    search_fields = ("name", "name_en")


@admin.register(m.ServiceStatus)
class ServiceStatusAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "kind", "builtin", "order")


class FollowUpInline(admin.TabularInline):
    model = m.FollowUp
    extra = 0


@admin.register(m.ServiceRecord)
class ServiceRecordAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "caller_number", "category", "status", "agent", "created_at")
    list_filter = ("status",)
    list_select_related = ("customer", "category__parent__parent", "status", "agent")
    search_fields = ("description", "caller_number", "call_uuid")
    raw_id_fields = ("customer",)
    inlines = (FollowUpInline,)
